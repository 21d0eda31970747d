"""
test_operator - what an operator reads of bccid: its log and its first line.

Every line bccid writes at start is JSON (so `journalctl -u bccid | jq .` works),
including the line on stdout that gives its addresses, and a normal start writes
no warning (libmicrohttpd's included).
"""
import json
import os
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
        self.sys.db_exec("UPDATE jobs SET state = 'dead' WHERE kind = 'book'")
        n = self.sys.db_query("SELECT COUNT(*) FROM jobs WHERE kind = 'book' AND state = 'dead'")[0][0]
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


class ScheduledPurgeTest(unittest.TestCase):
    """purge_after_days runs the retention purge from the scheduler, every purge_interval_s; off by default."""

    def test_old_finished_dossier_is_purged_on_schedule(self):
        sys = harness.System(workers=0, with_sim=False)
        try:
            sys.import_codes("RR", 10000000, 100)
            old, recent = harness.make_dossier(1), harness.make_dossier(2)
            old["recipient"]["name"] = "Phạm Thị Cần Xóa"
            for d in (old, recent):
                self.assertEqual(sys.request("POST", "/v1/dossiers", d)[0], 201)
            sys.bccid.stop()
            now_ms = int(time.time() * 1000)
            for d, at in ((old, now_ms - 400 * 86400000), (recent, now_ms)):
                sys.db_exec("UPDATE shipments SET status = 'delivered', updated_at = ? WHERE dossier_id ="
                            " (SELECT id FROM dossiers WHERE code = ?)", (at, d["dossier_code"]))
                n = sys.db_query("SELECT COUNT(*) FROM shipments s JOIN dossiers d ON d.id = s.dossier_id"
                                 " WHERE d.code = ? AND s.status = 'delivered' AND s.updated_at = ?",
                                 (d["dossier_code"], at))[0][0]
                self.assertGreater(n, 0)

            def purged(d):
                return sys.db_query("SELECT purged_at FROM dossiers WHERE code = ?", (d["dossier_code"],))[0][0]

            # off by default: a restart without the keys purges nothing
            sys.restart_bccid()
            time.sleep(2)
            self.assertIsNone(purged(old), "purge_after_days defaults to off")
            # on: the scheduler purges the old finished dossier, never the recent one
            sys.bccid_args += ["--purge_after_days", "30", "--purge_interval_s", "1"]
            sys.restart_bccid()
            deadline = time.time() + 15
            while purged(old) is None and time.time() < deadline:
                time.sleep(0.2)
            self.assertIsNotNone(purged(old), "the scheduled purge did not run")
            self.assertIsNone(purged(recent), "a dossier finished today is kept")
            st, got, _ = sys.dossier(old["dossier_code"])
            self.assertNotIn("Phạm Thị Cần Xóa", json.dumps(got, ensure_ascii=False))
            st, body, _ = sys.request("GET", "/metrics", token=None)
            text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
            self.assertIn("bcci_purged_dossiers_total 1\n", text)
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])


if __name__ == "__main__":
    unittest.main()
