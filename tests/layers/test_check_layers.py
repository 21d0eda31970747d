#!/usr/bin/env python3
"""test_check_layers - each rule of check_layers.py fires on a tree built to break it, and
a tree that keeps the rules passes (run by make check-layers)."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_layers  # noqa: E402

CASES = [
    # (file, content, rule expected)
    ("gateway/http/api_x.c", '#include <sqlite3.h>\n', "sqlite"),
    ("gateway/rules/x.c", 'static const char q[] = "SELECT id FROM jobs";\n', "sql"),
    ("domain/x.c", '#include "gateway/store/store.h"\n', "layer"),
    ("queues/x.c", '#include "gateway/store/store.h"\n', "layer"),
    ("labels/x.c", '#include "carriers/carrier.h"\n', "layer"),
    ("gateway/engine/x.c", '#include "gateway/store/sqlite/db.h"\n', "store-internal"),
    ("gateway/engine/x.c", '#include "gateway/store/postgresql/pg_internal.h"\n', "store-internal"),
    ("gateway/http/x.c", '#include <libpq-fe.h>\n', "libpq"),
    ("gateway/store/x.c", 'static void f(void *c) { PQfinish(c); }\n', "libpq"),
    ("gateway/store/sqlite/x.c", '#include <libpq-fe.h>\n', "libpq"),
    ("gateway/store/postgresql/x.c", '#include <sqlite3.h>\n', "sqlite"),
    ("gateway/store/postgresql/x.c", '#include "gateway/store/sqlite/db.h"\n', "layer"),
    ("gateway/http/x.c", '#include "gateway/store/store_backend.h"\n', "store-internal"),
    ("gateway/newfolder/x.c", '#include "domain/s10.h"\n', "unknown-folder"),
]


def tree(files):
    root = tempfile.mkdtemp(prefix="layers.")
    for path, text in files:
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)
    return root


class CheckLayersTest(unittest.TestCase):
    def test_each_rule_fires(self):
        for path, text, rule in CASES:
            got = [r for p, r, _ in check_layers.violations(tree([(path, text)]))]
            self.assertIn(rule, got, "%s holding %r: got %s, want %s" % (path, text.strip(), got, rule))

    def test_a_clean_tree_passes(self):
        root = tree([
            ("gateway/store/sqlite/x.c", '#include <sqlite3.h>\nstatic const char q[] = "SELECT 1 FROM t";\n'),
            ("gateway/store/postgresql/x.c",
             '#include <libpq-fe.h>\n#include "gateway/store/store_backend.h"\n'
             'static const char q[] = "SELECT 1 FROM t FOR UPDATE SKIP LOCKED";\n'
             'static void f(PGconn *c) { PQfinish(c); }\n'),
            ("gateway/http/x.c", '#include "gateway/store/store.h"\n#include "domain/s10.h"\n#include "log.h"\n'),
            ("queues/x.c", '#include "carriers/carrier.h"\n'),
        ])
        got = list(check_layers.violations(root))
        self.assertEqual(got, [], "got %s, want none" % got)


if __name__ == "__main__":
    unittest.main()
