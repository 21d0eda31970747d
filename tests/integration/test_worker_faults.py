"""Killed and stalled workers lose nothing and book nothing twice (issue 1/6)."""
import signal
import time
import unittest

import harness


def assert_exactly_once(test, sys, codes):
    stats = sys.sim_stats()
    for code in codes:
        entry = stats["by_sale_order"].get(code)
        test.assertIsNotNone(entry, "dossier %s never reached the carrier" % code)
        test.assertEqual(entry["orders"], 1, "dossier %s booked %d times" % (code, entry["orders"]))
    test.assertEqual(stats["orders_total"], len(codes))
    return stats


class WorkerKillTest(unittest.TestCase):
    def tearDown(self):
        findings = self.sys.stop()
        # a SIGKILLed worker cannot report leaks; the others must be clean
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def test_worker_sigkilled_mid_run(self):
        # slow answers keep jobs in flight when the kill lands
        self.sys = harness.System(workers=2, sim_faults="slow=0.5")
        self.sys.import_codes()
        dossiers = [harness.make_dossier(i) for i in range(1, 101)]
        results = self.sys.submit_many(dossiers, concurrency=16)
        self.assertEqual([s for s, _, _ in results].count(201), 100)
        time.sleep(0.8)
        victim = self.sys.workers[0]
        self.assertTrue(victim.alive())
        victim.signal(signal.SIGKILL)
        victim.p.wait(5)
        time.sleep(0.5)
        self.sys.start_worker()
        codes = [d["dossier_code"] for d in dossiers]
        pending = self.sys.wait_all_status(codes, "delivered", timeout=120)
        self.assertEqual(pending, set(), "lost: %s" % sorted(pending)[:5])
        stats = assert_exactly_once(self, self.sys, codes)
        print("\n  worker kill: %d dossiers, %d CreateOrder calls, %d orders, duplicates 0, lost 0"
              % (len(codes), stats["create_calls"], stats["orders_total"]))
        st, doc, _ = self.sys.request("GET", "/v1/jobs?state=leased")
        self.assertEqual(doc["jobs"], [], "no job stays leased")

    def test_worker_stopped_past_its_heartbeat_then_resumed(self):
        self.sys = harness.System(workers=2, sim_faults="slow=0.5", tcp=True)
        self.sys.import_codes()
        dossiers = [harness.make_dossier(i) for i in range(1, 61)]
        self.sys.submit_many(dossiers)
        time.sleep(0.5)
        stalled = self.sys.workers[0]
        stalled.signal(signal.SIGSTOP)
        time.sleep(4.5)  # > 3 missed heartbeats: bccid gives its jobs to the other worker
        stalled.signal(signal.SIGCONT)
        codes = [d["dossier_code"] for d in dossiers]
        pending = self.sys.wait_all_status(codes, "delivered", timeout=120)
        self.assertEqual(pending, set())
        assert_exactly_once(self, self.sys, codes)


if __name__ == "__main__":
    unittest.main()
