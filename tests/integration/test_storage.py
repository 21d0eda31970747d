"""Storage faults from outside the gateway: another process writes to or locks bcci.db.

An operator (or a backup script) may run the sqlite3 shell against the live
database. A schema change from outside must not wedge the single writer: the
next commits succeed by themselves. While another process holds the write
lock, submissions answer 503 with Retry-After, /healthz answers 503 with
"storage": "failing" and its reason, /metrics shows bcci_storage_failing 1,
and bccid neither spins nor needs a restart once the lock is gone.
"""
import concurrent.futures
import os
import sqlite3
import subprocess
import time
import unittest

import harness


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (Linux /proc)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StorageTest(unittest.TestCase):
    def setUp(self):
        self.sys = harness.System(workers=1)
        self.sys.import_codes(count=1000)
        self.db = os.path.join(self.sys.state, "bcci.db")

    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [], "\n".join(findings))

    def submit(self, seq):
        return self.sys.request("POST", "/v1/dossiers", harness.make_dossier(seq))

    def outside_sql(self, sql):
        """Run sql with the sqlite3 shell when there is one, else with Python's sqlite3 module."""
        try:
            subprocess.run(["sqlite3", "-cmd", ".timeout 10000", self.db, sql], check=True, capture_output=True, timeout=20)
        except FileNotFoundError:
            con = sqlite3.connect(self.db, timeout=20)
            con.execute(sql)
            con.commit()
            con.close()

    def test_outside_schema_change_does_not_wedge_commits(self):
        # warm up: dossiers with timelines, a worker leasing jobs, so the writer has cached statements
        for i in range(1, 6):
            self.assertEqual(self.submit(i)[0], 201)
        self.outside_sql("CREATE TABLE operator_notes (a)")
        statuses = [self.submit(i)[0] for i in range(10, 20)]
        self.assertEqual(statuses, [201] * 10, "got %s after an outside CREATE TABLE, want every submission 201"
                         % statuses)
        st, doc, _ = self.sys.request("GET", "/healthz", token=None)
        self.assertEqual((st, doc.get("storage")), (200, "ok"), doc)

    def test_foreign_write_lock_answers_503_reports_failing_and_recovers(self):
        self.assertEqual(self.submit(1)[0], 201)
        holder = sqlite3.connect(self.db, timeout=1, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            t0 = time.time()
            cpu0 = cpu_seconds(self.sys.bccid.p.pid)
            with concurrent.futures.ThreadPoolExecutor(4) as ex:
                answers = list(ex.map(self.submit, range(2, 6)))
            for st, doc, hdrs in answers:
                self.assertEqual(st, 503, "got %s %s while another process holds the write lock, want 503"
                                 % (st, doc))
                self.assertEqual(doc["error"]["code"], "storage_unavailable", doc)
                self.assertIn("Retry-After", hdrs, "a 503 says when to retry")
            # while it lasts, health and metrics say so
            st, doc, hdrs = self.sys.request("GET", "/healthz", token=None)
            self.assertEqual(st, 503, "got /healthz %s %s while writes fail, want 503" % (st, doc))
            self.assertEqual(doc.get("storage"), "failing", doc)
            self.assertTrue(doc.get("storage_reason"), doc)
            st, text, _ = self.sys.request("GET", "/metrics", token=None)
            self.assertEqual(st, 200)
            self.assertIn(b"\nbcci_storage_failing 1\n", text)
            # held a few seconds more: the writer backs off instead of spinning
            time.sleep(max(0.0, 8.0 - (time.time() - t0)))
            used = cpu_seconds(self.sys.bccid.p.pid) - cpu0
            self.assertLess(used, 0.5 * (time.time() - t0), "bccid used %.1f s of CPU while locked out" % used)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        # recovery without a restart
        deadline = time.time() + 15
        st = None
        while time.time() < deadline:
            st = self.submit(2)[0]
            if st == 201:
                break
            time.sleep(0.3)
        self.assertEqual(st, 201, "the writer did not recover by itself after the lock was released")
        st, doc, _ = self.sys.request("GET", "/healthz", token=None)
        self.assertEqual((st, doc.get("storage")), (200, "ok"), doc)
        st, text, _ = self.sys.request("GET", "/metrics", token=None)
        self.assertIn(b"\nbcci_storage_failing 0\n", text)
        self.assertTrue(self.sys.bccid.alive())


if __name__ == "__main__":
    unittest.main()
