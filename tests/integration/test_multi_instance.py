"""Several bccid instances (issue 12): one worker serving two instances and surviving one's death,
the scheduler's leadership metric, and token revocation seen at the next request."""
import json
import os
import shutil
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


class SchedulerLeaderTest(unittest.TestCase):
    def setUp(self):
        self.sys = harness.System(workers=0, with_sim=False)

    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def test_the_only_instance_on_sqlite_holds_the_scheduler_role(self):
        deadline, metrics = time.time() + 10, ""
        while time.time() < deadline:
            st, metrics, _ = self.sys.request("GET", "/metrics", token=None)
            self.assertEqual(st, 200)
            metrics = metrics.decode() if isinstance(metrics, bytes) else str(metrics)
            if "\nbcci_scheduler_leader 1\n" in metrics:
                break
            time.sleep(0.2)
        self.assertIn("\nbcci_scheduler_leader 1\n", metrics)
        self.assertIn("# TYPE bcci_scheduler_leader gauge", metrics)
        st, doc, _ = self.sys.request("GET", "/healthz", token=None)
        self.assertEqual((st, doc["scheduler_leader"]), (200, True), doc)
        self.assertIn("took the scheduler role", self.sys.bccid.stderr_text())


class RevocationAcrossInstancesTest(unittest.TestCase):
    """Two bccid processes on one SQLite file (WAL lets them; each has its own state directory
    and lock, and the same server secret): a token revoked through one is refused by the other
    at its next request, however recently the other accepted it."""

    def setUp(self):
        self.a = harness.System(workers=0, with_sim=False)
        self.bdir = os.path.join(self.a.dir, "var-b")
        os.makedirs(self.bdir, mode=0o700)
        for name in ("secret", "admin.token"):
            shutil.copy2(os.path.join(self.a.state, name), os.path.join(self.bdir, name))
        self.b = harness.Proc("bccid-b", [os.path.join(harness.BIN, "bccid"), "--http_listen", "127.0.0.1:0",
                                          "--state_dir", self.bdir,
                                          "--store", "sqlite:" + os.path.join(self.a.state, "bcci.db")],
                              self.a.dir)
        self.a.procs.append(self.b)
        self.b_url = json.loads(self.b.read_first_line())["http"]
        self.a.wait_http(self.b_url + "/healthz")

    def tearDown(self):
        findings = self.a.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def on_b(self, token):
        return self.a.request("GET", "/v1/codes", base=self.b_url,
                              headers={"Authorization": "Bearer " + token})[0]

    def test_revoked_on_one_instance_is_refused_by_the_other_at_once(self):
        token = self.a.token("desk-b", "admin")
        for _ in range(3):  # in use on b: whatever b keeps of it, it has it now
            self.assertEqual(self.on_b(token), 200)
        st, doc, _ = self.a.request("POST", "/v1/tokens/desk-b/revoke", {})
        self.assertEqual(st, 200, doc)
        self.assertEqual(self.on_b(token), 401)
        self.assertEqual(self.on_b(self.a.admin_token), 200)


if __name__ == "__main__":
    unittest.main()
