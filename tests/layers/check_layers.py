#!/usr/bin/env python3
"""check_layers - the tree's architecture, checked (make check-layers; part of make test)

Fails when
  - SQL text appears outside the store's backends (gateway/store/sqlite/,
    gateway/store/postgresql/); sqlite3.h or a sqlite3_ call outside the SQLite backend;
    libpq-fe.h or a PQ call outside the PostgreSQL backend; the carrier simulator and the
    storage baseline of the bench are programs of their own and keep their own files;
  - a folder includes a folder above it (the table ALLOWED below is the architecture);
  - anything outside gateway/store/ includes a backend's internals;
  - the worker (queues/) includes anything of the gateway.
tests/layers/test_check_layers.py shows that each rule fires (make check-layers runs both).
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# folder -> folders it may include (common is always allowed: it knows nothing of post)
ALLOWED = {
    "common": set(),
    "domain": {"domain"},
    "labels": {"domain", "labels"},
    "carriers": {"domain", "carriers"},
    "carriers/sim": {"domain", "carriers", "carriers/sim"},
    "queues": {"domain", "carriers", "queues"},
    "gateway/store": {"domain", "gateway/store"},
    "gateway/store/sqlite": {"domain", "gateway/store", "gateway/store/sqlite"},
    "gateway/store/postgresql": {"domain", "gateway/store", "gateway/store/postgresql"},
    "gateway/rules": {"domain", "carriers", "queues", "gateway/store", "gateway/rules"},
    "gateway/engine": {"domain", "carriers", "queues", "gateway/store", "gateway/rules", "gateway/engine"},
    "gateway/pages": {"domain", "labels", "gateway/store", "gateway/rules", "gateway/pages"},
    "gateway/http": {"domain", "labels", "carriers", "queues", "gateway/store", "gateway/rules", "gateway/engine",
                     "gateway/pages", "gateway/http"},
    "gateway/cli": {"domain", "labels", "carriers", "queues", "gateway/store", "gateway/cli"},
    "gateway": {"domain", "labels", "carriers", "queues", "gateway/store", "gateway/rules", "gateway/engine",
                "gateway/pages", "gateway/http", "gateway"},
}
# backend internals: only the store's own folder may include these
STORE_INTERNAL = re.compile(r"^gateway/store/(sqlite/|postgresql/|store_backend\.h|backend_)")
SQLITE_OK_DIRS = ("gateway/store/sqlite/", "carriers/sim/", "bench/")
PG_OK_DIRS = ("gateway/store/postgresql/",)
SQL_OK_DIRS = SQLITE_OK_DIRS + PG_OK_DIRS
LIBPQ = re.compile(r"<libpq-fe\.h>|\bPQ[a-z]\w*\s*\(|\bPG(conn|result)\b")
SQL_TEXT = re.compile(r'"[^"\n]*\b(SELECT\s+\S|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX|UNIQUE)|'
                      r'PRAGMA\s+\w|BEGIN\s+IMMEDIATE|SAVEPOINT\s+\w)')
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(root):
    for top in ("common", "domain", "labels", "carriers", "queues", "gateway"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, f), root)


def violations(root=ROOT):
    """(path, rule, why) for every breach of the layering under root"""
    for path in sources(root):
        folder = os.path.dirname(path)
        with open(os.path.join(root, path), encoding="utf-8") as fh:
            text = fh.read()
        if not path.startswith(SQLITE_OK_DIRS) and re.search(r"<sqlite3\.h>|\bsqlite3_\w+", text):
            yield path, "sqlite", "uses SQLite directly; only gateway/store/sqlite/ may"
        if not path.startswith(PG_OK_DIRS) and LIBPQ.search(text):
            yield path, "libpq", "uses libpq directly; only gateway/store/postgresql/ may"
        if not path.startswith(SQL_OK_DIRS):
            m = SQL_TEXT.search(text)
            if m:
                yield path, "sql", ("holds SQL text (%s…); only the store's backends (gateway/store/sqlite/, "
                                    "gateway/store/postgresql/) may" % m.group(1))
        allowed = ALLOWED.get(folder)
        for inc in INCLUDE.findall(text):
            target = os.path.dirname(inc)
            if not target:
                continue  # a header of the same folder or of common/ (on the include path)
            if STORE_INTERNAL.match(inc) and not folder.startswith("gateway/store"):
                yield path, "store-internal", "includes %s, an internal of the store" % inc
                continue
            if allowed is None:
                yield path, "unknown-folder", "folder %s is not in the layer table" % folder
                break
            if target not in allowed:
                yield path, "layer", "includes %s: %s may not depend on %s" % (inc, folder, target)


def main():
    bad = sorted(set("%s: %s" % (path, why) for path, _, why in violations()))
    for b in bad:
        print("check-layers: " + b, file=sys.stderr)
    if bad:
        return 1
    print("check-layers: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
