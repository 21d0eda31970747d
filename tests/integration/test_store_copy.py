"""bcci store copy (issue 12): a gateway's whole store into an empty one, counted and verified;
bccid on the copy serves the same tracking pages; a non-empty target is refused."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import unittest

import harness
from test_public_pages import tracking_path

# the throw-away PostgreSQL server of the PostgreSQL backend's tests (tests/pg/), when this tree has it
sys.path.insert(0, os.path.join(harness.ROOT, "tests", "pg"))
try:
    from pg_server import PgServer
except ImportError:
    PgServer = None

BCCI = os.path.join(harness.BIN, "bcci")


def bcci(*args, env=None):
    p = subprocess.run([BCCI] + list(args), capture_output=True, timeout=120,
                       env=dict(os.environ, HOME="/nonexistent", **(env or {})))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


class StoreCopyTest(unittest.TestCase):
    def setUp(self):
        self.sys = harness.System(workers=1)

    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def test_copy_of_a_delivered_gateway_serves_the_same_pages(self):
        s = self.sys
        s.import_codes(count=1000)
        dossiers = [harness.make_dossier(i) for i in range(1, 9)]
        self.assertEqual([r[0] for r in s.submit_many(dossiers)], [201] * 8)
        codes = [d["dossier_code"] for d in dossiers]
        waybills = [s.dossier(c)[1]["shipments"][-1]["waybill"] for c in codes]
        st, doc, _ = s.request("POST", "/v1/manifests", {"waybills": waybills[:2]})  # before delivery
        self.assertEqual(st, 201, doc)
        self.assertEqual(s.wait_all_status(codes, "delivered", timeout=120), set())
        pages = {}
        for wb in waybills:
            st, body, _ = s.request("GET", tracking_path(s, wb), token=None)
            self.assertEqual(st, 200)
            pages[wb] = body
        timelines = {c: s.timeline(c)[1] for c in codes}
        s.bccid.stop()
        before = s.db_counts()

        target_dir = os.path.join(s.dir, "var-b")
        os.makedirs(target_dir, mode=0o700)
        src = "sqlite:" + os.path.join(s.state, "bcci.db")
        dst = "sqlite:" + os.path.join(target_dir, "bcci.db")
        rc, out, err = bcci("--json", "store", "copy", src, dst)
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["chains_verified"], before["dossiers"])
        for table, rows in doc["tables"].items():
            self.assertEqual(rows, before[table], table)
        self.assertEqual(set(doc["tables"]), set(before) - {"schema_version", "code_next"})
        self.assertGreater(doc["tables"]["timeline"], 8 * 3)
        self.assertEqual((doc["tables"]["manifests"], doc["tables"]["manifest_items"]), (1, 2))
        self.assertGreater(doc["tables"]["jobs"], 0)

        # bccid on the copy (with the gateway's secret) serves the same pages and timelines
        for name in ("secret", "admin.token"):
            shutil.copy2(os.path.join(s.state, name), os.path.join(target_dir, name))
        s.state = target_dir
        s.restart_bccid()
        self.assertEqual(s.db_counts(), before)
        for wb in waybills:
            st, body, _ = s.request("GET", tracking_path(s, wb), token=None)
            self.assertEqual((st, body), (200, pages[wb]), wb)
        for c in codes:
            self.assertEqual(s.timeline(c)[1], timelines[c], c)
        s.bccid.stop()

        # a target holding rows is refused, and left as it was
        rc, out, err = bcci("store", "copy", src, dst)
        self.assertEqual(rc, 1, err)
        self.assertIn("is not empty: table dossiers has 8 row(s)", err)
        self.assertEqual(s.db_counts(), before)

    def test_a_wrong_secret_fails_the_chains_and_commits_nothing(self):
        s = self.sys
        s.import_codes(count=100)
        self.assertEqual(s.request("POST", "/v1/dossiers", harness.make_dossier(1))[0], 201)
        s.bccid.stop()
        wrong = os.path.join(s.dir, "wrong-secret")
        with open(wrong, "wb") as f:
            f.write(b"x" * 32)
        os.chmod(wrong, 0o600)
        dst_path = os.path.join(s.dir, "copy.db")
        rc, out, err = bcci("store", "copy", "--secret", wrong, "sqlite:" + os.path.join(s.state, "bcci.db"),
                            "sqlite:" + dst_path)
        self.assertEqual(rc, 1, err)
        self.assertIn("does not verify after copying", err)
        rc, out, err = bcci("--json", "store", "copy", "sqlite:" + os.path.join(s.state, "bcci.db"),
                            "sqlite:" + dst_path)
        self.assertEqual(rc, 0, err)  # the failed attempt left the target empty
        self.assertEqual(json.loads(out)["tables"]["dossiers"], 1)


@unittest.skipUnless(PgServer, "needs the PostgreSQL test server (tests/pg/pg_server.py)")
class StoreCopyPostgresTest(unittest.TestCase):
    """SQLite -> PostgreSQL -> SQLite: every row of every table comes back as it was."""

    def setUp(self):
        self.pg = PgServer.from_env() if os.environ.get("BCCI_TEST_PG_URI") else PgServer()
        if self.pg.owned:
            self.pg.start()
        self.sys = harness.System(workers=1)

    def tearDown(self):
        findings = self.sys.stop()
        if self.pg.owned:
            self.pg.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def test_round_trip_through_postgresql(self):
        s = self.sys
        s.import_codes(count=100)
        dossiers = [harness.make_dossier(i) for i in range(1, 5)]
        self.assertEqual([r[0] for r in s.submit_many(dossiers)], [201] * 4)
        self.assertEqual(s.wait_all_status([d["dossier_code"] for d in dossiers], "delivered", timeout=120), set())
        s.bccid.stop()
        src_path = os.path.join(s.state, "bcci.db")
        back_path = os.path.join(s.dir, "back.db")
        uri = self.pg.create_db("copy_%d" % os.getpid())
        with open(self.pg.password_file) as f:
            env = {"PGPASSWORD": f.read().strip()}
        rc, out, err = bcci("--json", "store", "copy", "sqlite:" + src_path, uri, env=env)
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["chains_verified"], 4)
        rc, out, err = bcci("store", "copy", "sqlite:" + src_path, uri, env=env)
        self.assertEqual(rc, 1, err)
        self.assertIn("is not empty: table dossiers has 4 row(s)", err)
        rc, out, err = bcci("--json", "store", "copy", "--secret", os.path.join(s.state, "secret"), uri,
                            "sqlite:" + back_path, env=env)
        self.assertEqual(rc, 0, err)
        tables = json.loads(out)["tables"]
        a, b = sqlite3.connect(src_path), sqlite3.connect(back_path)
        try:
            for table in tables:
                q = 'SELECT * FROM "%s" ORDER BY rowid' % table
                self.assertEqual(a.execute(q).fetchall(), b.execute(q).fetchall(), table)
        finally:
            a.close()
            b.close()


if __name__ == "__main__":
    unittest.main()
