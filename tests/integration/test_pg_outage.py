"""PostgreSQL stopped for 10 s under load (issue 12): bccid answers 503 with Retry-After
meanwhile, takes its connections back by itself when the server returns (no restart), and
nothing acknowledged is lost.

Runs with BCCI_TEST_STORE=postgresql (make test-postgresql), on a server of its own so
stopping it disturbs no other test."""
import os
import sys
import threading
import time
import unittest
import urllib.error

import harness

sys.path.insert(0, os.path.join(harness.ROOT, "tests", "pg"))
import pg_server  # noqa: E402

OUTAGE_S = 10


@unittest.skipIf(harness.STORE != "postgresql", "a PostgreSQL test (BCCI_TEST_STORE=postgresql)")
class PgOutageTest(unittest.TestCase):
    def setUp(self):
        self.pg = pg_server.PgServer().start()
        self.pg.create_db("outage")
        self.sys = None
        try:
            self.sys = harness.System(workers=2, pg_database=(self.pg, "outage"))
            self.sys.import_codes()
        except BaseException:
            self.pg.stop()
            raise

    def tearDown(self):
        findings = self.sys.stop() if self.sys else []
        self.pg.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def test_server_stopped_under_load(self):
        acked = {}       # dossier code -> status that acknowledged it (201 or 200)
        busy = []        # (status, Retry-After) of every 503
        unexpected = []
        stop = threading.Event()
        lock = threading.Lock()
        seq = iter(range(1, 100000))

        def client():
            while not stop.is_set():
                with lock:
                    d = harness.make_dossier(next(seq))
                # a client retries the same dossier until it is acknowledged (the idempotent contract)
                while True:
                    try:
                        st, doc, hdrs = self.sys.request("POST", "/v1/dossiers", d, timeout=30)
                    except (urllib.error.URLError, OSError) as e:
                        st, doc, hdrs = None, str(e), {}
                    with lock:
                        if st in (200, 201):
                            acked[d["dossier_code"]] = st
                            break
                        if st == 503:
                            busy.append(hdrs.get("Retry-After"))
                        else:
                            unexpected.append((st, doc))
                            break
                    time.sleep(0.2)

        threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
        for t in threads:
            t.start()
        self.assertTrue(self.wait_for(lambda: len(acked) >= 10, 60), "no intake before the outage")
        before = len(acked)
        self.pg.pg_ctl("stop")
        try:
            self.assertTrue(self.wait_for(lambda: len(busy) > 0, OUTAGE_S), "no 503 while PostgreSQL was down")
            time.sleep(max(0, OUTAGE_S - 1))
            with lock:
                during = len(acked)
            st, doc, _ = self.sys.request("GET", "/healthz", token=None)
            self.assertEqual(st, 503, "healthz with the database down: %s %s" % (st, doc))
        finally:
            self.pg.pg_ctl("start")
        # the same bccid, never restarted, takes intake again
        self.assertTrue(self.wait_for(lambda: len(acked) >= during + 10, 60), "no intake after the outage")
        stop.set()
        for t in threads:
            t.join(60)
        self.assertTrue(self.sys.bccid.alive(), "bccid died during the outage")
        self.assertEqual(unexpected, [], "answers other than 200/201/503")
        self.assertTrue(busy, "no 503 during the outage")
        self.assertTrue(all(r is not None and r.isdigit() for r in busy), "503 without Retry-After: %s" % busy[:5])
        # every acknowledged dossier is in the database, whole, and is delivered with a valid chain
        codes = sorted(acked)
        rows = self.sys.db_query("SELECT code FROM dossiers")
        self.assertEqual(sorted(r[0] for r in rows), codes, "acknowledged dossiers lost or unacknowledged kept")
        self.assertEqual(self.sys.wait_all_status(codes, "delivered", timeout=120), set())
        for code in codes:
            st, tl, _ = self.sys.timeline(code)
            self.assertTrue(st == 200 and tl["chain_valid"], "chain of %s: %s" % (code, tl))
        stats = self.sys.sim_stats()
        self.assertEqual(stats["orders_total"], len(codes), "one carrier order per dossier")
        self.assertGreater(len(codes), before)

    def wait_for(self, cond, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond():
                return True
            time.sleep(0.1)
        return cond()


if __name__ == "__main__":
    unittest.main()
