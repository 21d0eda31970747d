"""
test_operator - what an operator reads of bccid: its log and its first line.

Every line bccid writes at start is JSON (so `journalctl -u bccid | jq .` works),
including the line on stdout that gives its addresses, and a normal start writes
no warning (libmicrohttpd's included).
"""
import json
import os
import sqlite3
import subprocess
import time
import unittest

import harness

BCCI = os.path.join(harness.BIN, "bcci")


class StartupLogTest(unittest.TestCase):
    def test_start_writes_only_json_and_no_warning(self):
        sys = harness.System(workers=0, with_sim=False, bccid_args=["--public_base_url", "https://gw.example.vn"])
        try:
            first = json.loads(sys.bccid.first_line)
            self.assertEqual((first["level"], first["prog"], first["msg"]), ("info", "bccid", "listening"))
            self.assertTrue(first["http"].startswith("http://127.0.0.1:"), first)
            self.assertEqual(first["http"], sys.url)
            self.assertEqual(first["jobs"], sys.jobs_endpoint)
            time.sleep(0.3)
            lines = sys.bccid.stderr_text().splitlines()
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])
        self.assertTrue(lines, "bccid wrote nothing on stderr at start")
        for line in lines:
            try:
                doc = json.loads(line)
            except ValueError:
                self.fail("not a JSON line on bccid's stderr: %r" % line)
            self.assertEqual(doc["prog"], "bccid", line)
            self.assertNotIn(doc["level"], ("warn", "error"), "a warning at a normal start: %s" % line)
            self.assertNotIn("MHD", doc["msg"], line)


class HealthTest(unittest.TestCase):
    """/healthz says degraded (200) with reasons, and `bcci health` exits non-zero, unless all is well."""

    def setUp(self):
        self.sys = harness.System(workers=0, with_sim=False)
        self.sys.import_codes("RR", 10000000, 100)

    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [])

    def health(self):
        st, doc, _ = self.sys.request("GET", "/healthz", token=None)
        self.assertEqual(st, 200, "degraded is still 200: %s %s" % (st, doc))
        return doc

    def bcci_health(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("BCCI_") or k == "BCCI_BIN"}
        env.update({"BCCI_URL": self.sys.url, "BCCI_TOKEN": self.sys.admin_token, "NO_COLOR": "1"})
        p = subprocess.run([BCCI, "health"], env=env, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def wait_status(self, status, timeout=15):
        deadline = time.time() + timeout
        doc = self.health()
        while doc["status"] != status and time.time() < deadline:
            time.sleep(0.2)
            doc = self.health()
        self.assertEqual(doc["status"], status, doc)
        return doc

    def test_degraded_without_workers_and_with_dead_jobs(self):
        doc = self.health()
        self.assertEqual((doc["status"], doc["reasons"]), ("degraded", ["no_workers"]))
        rc, out, err = self.bcci_health()
        self.assertEqual(rc, 1, "want exit 1 while degraded: %s %s" % (out, err))
        self.assertIn(": degraded", out)
        self.assertIn("no_workers", err)

        self.sys.start_worker()
        doc = self.wait_status("ok")
        self.assertEqual(doc["reasons"], [])
        rc, out, err = self.bcci_health()
        self.assertEqual(rc, 0, err)

        # a dead job (written while bccid is stopped, as an operator's tool would find it)
        self.assertEqual(self.sys.request("POST", "/v1/dossiers", harness.make_dossier(1))[0], 201)
        self.sys.bccid.stop()
        con = sqlite3.connect(os.path.join(self.sys.state, "bcci.db"), timeout=10)
        with con:
            n = con.execute("UPDATE jobs SET state = 'dead' WHERE kind = 'book'").rowcount
        con.close()
        self.assertEqual(n, 1)
        self.sys.restart_bccid()
        deadline = time.time() + 15
        doc = self.health()
        while doc["reasons"] != ["dead_jobs"] and time.time() < deadline:
            time.sleep(0.2)
            doc = self.health()
        self.assertEqual((doc["status"], doc["reasons"]), ("degraded", ["dead_jobs"]))
        rc, out, err = self.bcci_health()
        self.assertEqual(rc, 1, err)
        self.assertIn("dead_jobs", err)


if __name__ == "__main__":
    unittest.main()
