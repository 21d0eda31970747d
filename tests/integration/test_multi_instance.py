"""Several bccid instances (issue 12): one worker serving two instances and surviving one's death,
the scheduler's leadership metric, and token revocation seen at the next request."""
import json
import os
import shutil
import signal
import sys
import time
import unittest

import harness

# the throw-away PostgreSQL server of the PostgreSQL backend's tests (tests/pg/), when this tree has it
sys.path.insert(0, os.path.join(harness.ROOT, "tests", "pg"))
try:
    from pg_server import PgServer
except ImportError:
    PgServer = None


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


def leader_metric(sys_, base):
    st, body, _ = sys_.request("GET", "/metrics", base=base)
    text = body.decode() if isinstance(body, bytes) else str(body)
    for line in text.splitlines():
        if line.startswith("bcci_scheduler_leader "):
            return int(line.split()[1])
    return None


@unittest.skipUnless(PgServer, "needs the PostgreSQL test server (tests/pg/pg_server.py)")
class PostgresTwoInstancesTest(unittest.TestCase):
    """Two bccid instances on one PostgreSQL database: exactly one holds the scheduler role and
    the other takes it over once the holder is SIGKILLed; a token revoked through one is refused
    by the other at its next request."""

    def setUp(self):
        self.pg = PgServer.from_env() if os.environ.get("BCCI_TEST_PG_URI") else PgServer()
        if self.pg.owned:
            self.pg.start()
        self.uri = self.pg.create_db("multi_%d" % os.getpid())
        self.sys = harness.System(workers=0, with_sim=False)  # a helper for requests and process cleanup
        self.inst = {}
        for name in ("a", "b"):
            state = os.path.join(self.sys.dir, name)
            os.makedirs(state, mode=0o700)
            if name == "b":  # the same server secret on every instance
                shutil.copy2(os.path.join(self.sys.dir, "a", "secret"), os.path.join(state, "secret"))
            p = harness.Proc("bccid-" + name, [os.path.join(harness.BIN, "bccid"), "--http_listen", "127.0.0.1:0",
                                               "--state_dir", state, "--store", self.uri,
                                               "--store_password_file", self.pg.password_file], self.sys.dir)
            self.sys.procs.append(p)
            url = json.loads(p.read_first_line())["http"]
            self.sys.wait_http(url + "/healthz")
            self.inst[name] = (p, url)
        with open(os.path.join(self.sys.dir, "a", "admin.token")) as f:
            self.sys.admin_token = f.read().strip()

    def tearDown(self):
        findings = self.sys.stop()
        if self.pg.owned:
            self.pg.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def leaders(self, timeout=15):
        """{name: bcci_scheduler_leader} once every live instance has said 0 or 1"""
        deadline = time.time() + timeout
        while True:
            got = {n: leader_metric(self.sys, url) for n, (p, url) in self.inst.items() if p.alive()}
            if all(v is not None for v in got.values()) and sum(got.values()) == 1 or time.time() > deadline:
                return got
            time.sleep(0.2)

    def test_one_scheduler_and_a_takeover(self):
        got = self.leaders()
        self.assertEqual(sorted(got.values()), [0, 1], got)
        holder = [n for n, v in got.items() if v == 1][0]
        other = "b" if holder == "a" else "a"
        self.inst[holder][0].kill()
        deadline, now = time.time() + 20, None
        while time.time() < deadline:
            now = leader_metric(self.sys, self.inst[other][1])
            if now == 1:
                break
            time.sleep(0.2)
        self.assertEqual(now, 1, "the surviving instance did not take the scheduler role")
        self.assertIn("took the scheduler role", self.inst[other][0].stderr_text())

    def test_revocation_through_one_is_refused_by_the_other(self):
        base_a, base_b = self.inst["a"][1], self.inst["b"][1]
        st, doc, _ = self.sys.request("POST", "/v1/tokens", {"name": "desk", "role": "admin"}, base=base_a,
                                      headers={"Authorization": "Bearer " + self.sys.admin_token})
        self.assertEqual(st, 201, doc)
        token = {"Authorization": "Bearer " + doc["token"]}
        self.assertEqual(self.sys.request("GET", "/v1/codes", base=base_b, headers=token)[0], 200)
        st, doc, _ = self.sys.request("POST", "/v1/tokens/desk/revoke", {}, base=base_a,
                                      headers={"Authorization": "Bearer " + self.sys.admin_token})
        self.assertEqual(st, 200, doc)
        self.assertEqual(self.sys.request("GET", "/v1/codes", base=base_b, headers=token)[0], 401)


if __name__ == "__main__":
    unittest.main()
