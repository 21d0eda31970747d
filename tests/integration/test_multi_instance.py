"""Several bccid instances (issue 12): one worker serving two instances and surviving one's death,
the scheduler's leadership metric, and token revocation seen at the next request."""
import os
import signal
import time
import unittest

import harness


def wait_booked(sim_sys, codes, timeout=90):
    """Poll the simulator until each dossier has an order; returns those that have none."""
    pending = set(codes)
    deadline = time.time() + timeout
    while pending and time.time() < deadline:
        orders = sim_sys.sim_stats()["by_sale_order"]
        pending = {c for c in pending if not orders.get(c)}
        if pending:
            time.sleep(0.3)
    return pending


class WorkerTwoInstancesTest(unittest.TestCase):
    def setUp(self):
        # each instance on its own SQLite file, jobs over tcp; one simulator books for both
        self.a = harness.System(workers=0, tcp=True)
        try:
            self.b = harness.System(workers=0, tcp=True, with_sim=False)
        except BaseException:
            self.a.stop()
            raise
        self.b.sim_url = self.a.sim_url
        self.a.import_codes(prefix="RR", start=10000000, count=1000)
        self.b.import_codes(prefix="RR", start=20000000, count=1000)
        # one worker, both instances
        self.worker = self.a.start_worker(["--connect", "%s,%s" % (self.a.jobs_endpoint, self.b.jobs_endpoint),
                                           "--insecure_plaintext_jobs", "yes"])

    def tearDown(self):
        findings = self.b.stop() + self.a.stop()
        # a SIGKILLed bccid cannot report leaks; every other process must be clean
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def submit(self, sys, seqs):
        dossiers = [harness.make_dossier(i) for i in seqs]
        results = sys.submit_many(dossiers, concurrency=8)
        self.assertEqual([s for s, _, _ in results], [201] * len(dossiers), results[:2])
        return [d["dossier_code"] for d in dossiers]

    def test_one_worker_serves_both_and_survives_one_killed(self):
        self.assertTrue(self.worker.alive(), self.worker.stderr_tail())
        codes_a = self.submit(self.a, range(1, 11))
        codes_b = self.submit(self.b, range(101, 111))
        self.assertEqual(wait_booked(self.a, codes_a + codes_b), set())
        # both instances are served by the same worker
        err = self.worker.stderr_text()
        self.assertIn(self.a.jobs_endpoint, err)
        self.assertIn(self.b.jobs_endpoint, err)

        # b dies with dossiers acknowledged and maybe not yet booked
        late_b = self.submit(self.b, range(111, 121))
        self.b.bccid.kill()
        codes_a2 = self.submit(self.a, range(11, 31))
        self.assertEqual(wait_booked(self.a, codes_a2), set(), self.worker.stderr_tail())
        self.assertTrue(self.worker.alive(), self.worker.stderr_tail())

        # b restarted on the same endpoint catches up through the same worker
        self.b.restart_bccid()
        codes_b2 = self.submit(self.b, range(121, 131))
        self.assertEqual(wait_booked(self.a, late_b + codes_b2), set(), self.worker.stderr_tail())
        self.assertIn("reconnecting to %s" % self.b.jobs_endpoint, self.worker.stderr_text())
        stats = self.a.sim_stats()
        for code in codes_a + codes_b + codes_a2 + late_b + codes_b2:
            self.assertEqual(stats["by_sale_order"][code]["orders"], 1, code)
        self.assertEqual(self.worker.stop(), 0)

    def test_bad_endpoint_in_the_list_is_refused(self):
        p = harness.Proc("worker", [os.path.join(harness.BIN, "bcci-worker"), "--connect",
                                    self.a.jobs_endpoint + ",tcp://nowhere", "--insecure_plaintext_jobs", "yes"],
                         self.a.dir)
        self.assertEqual(p.p.wait(10), 2)
        self.assertIn("connect: 'tcp://nowhere' is not allowed", p.stderr_text())
        p = harness.Proc("worker", [os.path.join(harness.BIN, "bcci-worker"), "--connect",
                                    "ipc://%s/x.sock,%s" % (self.a.dir, self.a.jobs_endpoint)], self.a.dir)
        self.assertEqual(p.p.wait(10), 2)
        self.assertIn("crosses the network but the link is not encrypted", p.stderr_text())


if __name__ == "__main__":
    unittest.main()
