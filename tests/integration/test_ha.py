"""Several bccid instances on one PostgreSQL database, one of them killed again and again
(issue [R2.3], "How it is checked").

Two bccid instances (A and B) share one database on the test PostgreSQL; two workers are
connected to both (connect = A,B). 100 client threads submit dossiers to both instances,
the way a load balancer would spread them, and resubmit to the other instance whatever got
no answer. Meanwhile A, which started first and so holds the scheduler role, is SIGKILLed
five times and restarted each time; B takes the scheduler over. The carrier simulator posts
its webhooks to B (the load balancer's address in a real deployment).

Then: every acknowledged dossier is delivered, none lost; exactly one carrier order per
dossier at the simulator; no waybill issued twice; every timeline's hash chain valid; the
scheduler moved to B within seconds and kept working there.

Runs on the PostgreSQL pass of make test (BCCI_TEST_STORE=postgresql); skipped otherwise.
"""
import collections
import concurrent.futures
import itertools
import os
import re
import threading
import time
import unittest
import urllib.error
import urllib.request

import harness
from harness import BIN, Proc, System

DOSSIERS = 400
MAX_DOSSIERS = 3000  # a bound on what the clients send while the killer works
CLIENTS = 100
KILLS = 5


def metric(url, name):
    """the value of an unlabelled metric in GET /metrics, or None when the instance is down"""
    try:
        with urllib.request.urlopen(url + "/metrics", timeout=3) as r:
            text = r.read().decode()
    except (urllib.error.URLError, ConnectionError, OSError):
        return None
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def wait_for(pred, timeout, step=0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


@unittest.skipUnless(harness.STORE == "postgresql", "several instances need the PostgreSQL backend")
class SeveralInstancesTest(unittest.TestCase):
    def setUp(self):
        pg, db = harness.pg_new_database()
        # A first: it takes the scheduler role
        self.a = System(workers=0, with_sim=False, pg_database=(pg, db))
        try:
            self.b = System(workers=0, with_sim=False, pg_database=(pg, db), same_secrets_as=self.a)
        except BaseException:
            self.a.stop()  # a setUp that fails gets no tearDown: leave nothing running
            raise
        # the simulator posts its events to B, the instance that stays up
        self.b.start_sim(3600, 600, "", ())
        self.a.sim_url = self.b.sim_url
        self.a.import_codes()
        self.workers = []
        for i in range(2):
            args = [os.path.join(BIN, "bcci-worker"), "--connect",
                    "%s,%s" % (self.a.jobs_endpoint, self.b.jobs_endpoint), "--carrier.vnpost.url", self.b.sim_url]
            self.workers.append(Proc("worker%d" % (i + 1), args, self.b.dir))
        self.b.procs.extend(self.workers)

    def tearDown(self):
        findings = self.a.stop() + self.b.stop()
        self.assertEqual(findings, [], "\n".join(findings))

    def test_kill_one_instance_five_times(self):
        a, b = self.a, self.b
        self.assertEqual(wait_for(lambda: metric(a.url, "bcci_scheduler_leader") == 1, 15), True,
                         "A, started first, holds the scheduler role")
        self.assertEqual(metric(b.url, "bcci_scheduler_leader"), 0)

        acknowledged = {}
        lock = threading.Lock()
        turn = itertools.count()

        def submit(d):
            """like a client behind a load balancer: try one instance, on no answer the other"""
            first = next(turn) % 2
            for attempt in range(40):
                target = (a, b)[(first + attempt) % 2]
                try:
                    st, doc, _ = target.request("POST", "/v1/dossiers", d, timeout=20)
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.2)
                    continue
                if st in (200, 201):
                    with lock:
                        acknowledged[d["dossier_code"]] = doc["shipments"][0]["waybill"] if st == 201 else None
                    return st
                if st == 503:
                    time.sleep(0.3)
                    continue
                return st
            return None

        kills = []

        def killer():
            for _ in range(KILLS):
                time.sleep(1.2)
                a.bccid.kill()
                kills.append(time.time())
                if len(kills) == 1:
                    # the holder is gone: B takes the scheduler over within a few seconds
                    took = wait_for(lambda: metric(b.url, "bcci_scheduler_leader") == 1, 20)
                    kills.append(("takeover", took))
                a.restart_bccid()

        killer_done = threading.Event()
        seq = itertools.count(1)
        answers = []

        def client():
            """submit fresh dossiers until the killer is through and DOSSIERS were sent"""
            while True:
                n = next(seq)
                if n > MAX_DOSSIERS or (killer_done.is_set() and n > DOSSIERS):
                    return
                answers.append(submit(harness.make_dossier(n, prefix_date="261120")))

        def kill_all():
            try:
                killer()
            finally:
                killer_done.set()

        k = threading.Thread(target=kill_all)
        k.start()
        clients = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for c in clients:
            c.start()
        k.join()
        for c in clients:
            c.join()

        self.assertEqual(len([t for t in kills if isinstance(t, float)]), KILLS, kills)
        self.assertIn(("takeover", True), kills, "B did not take the scheduler over after A was killed")
        self.assertTrue(all(st in (200, 201) for st in answers),
                        "every dossier acknowledged in the end: %s" % collections.Counter(answers))
        self.assertGreaterEqual(len(acknowledged), DOSSIERS)
        self.assertEqual(len(acknowledged), len(answers))

        # every acknowledged dossier delivered (read through B and through the restarted A)
        late = b.wait_all_status(list(acknowledged), "delivered", timeout=240)
        self.assertEqual(late, set(), "%d acknowledged dossiers not delivered, e.g. %s" % (len(late), sorted(late)[:3]))

        stats = b.sim_stats()["by_sale_order"]
        waybills = {}
        for code in acknowledged:
            self.assertIn(code, stats, "no carrier order for %s" % code)
            self.assertEqual(stats[code]["orders"], 1, (code, stats[code]))
            st, doc, _ = a.dossier(code)
            self.assertEqual(st, 200, code)
            ships = doc["shipments"]
            self.assertEqual(len(ships), 1, (code, ships))
            waybills.setdefault(ships[0]["waybill"], []).append(code)
            if acknowledged[code]:
                self.assertEqual(ships[0]["waybill"], acknowledged[code], "the 201's waybill is the one kept")
        twice = {w: c for w, c in waybills.items() if len(c) > 1}
        self.assertEqual(twice, {}, "waybills issued twice")
        self.assertEqual(len(waybills), len(acknowledged))

        # every chain valid
        for code in acknowledged:
            st, doc, _ = b.timeline(code)
            self.assertEqual(st, 200)
            self.assertTrue(doc["chain_valid"], (code, doc.get("chain_error")))

        # the scheduler kept working on B after the takeover: it is still the holder, and A
        # (restarted five times) never took the role back while B lived
        self.assertEqual(metric(b.url, "bcci_scheduler_leader"), 1)
        self.assertEqual(metric(a.url, "bcci_scheduler_leader"), 0)

    def test_same_dossier_on_both_instances_at_once(self):
        a, b = self.a, self.b
        for i in range(10):
            d = harness.make_dossier(900 + i, prefix_date="261121")
            with concurrent.futures.ThreadPoolExecutor(2) as ex:
                fa = ex.submit(a.request, "POST", "/v1/dossiers", d)
                fb = ex.submit(b.request, "POST", "/v1/dossiers", d)
                (sa, da, _), (sb, db, _) = fa.result(), fb.result()
            self.assertEqual(sorted([sa, sb]), [200, 201], (da, db))
            self.assertEqual(da["shipments"][0]["waybill"], db["shipments"][0]["waybill"])
            rows = a.db_query("SELECT COUNT(*) FROM shipments s JOIN dossiers d ON d.id = s.dossier_id "
                              "WHERE d.code = ?", (d["dossier_code"],))
            self.assertEqual(rows[0][0], 1)


if __name__ == "__main__":
    unittest.main()
