"""A carrier that refuses the gateway's credentials pauses, it does not kill (R2.4).

Real processes: the simulator accepts the password "demo"; the worker starts with a wrong
carrier.vnpost.password_file. Every booking is refused at GetAccessToken, yet no job dies: the
carrier is paused (healthz, metrics, one alert), the jobs wait in ready without using up their
attempts, and once the worker restarts with the right password they all go out by themselves.
"""
import os
import re
import time
import unittest

import harness


def write_secret(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)


class CarrierPauseTest(unittest.TestCase):
    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def paused(self):
        st, doc, _ = self.sys.request("GET", "/healthz", token=None)
        self.assertEqual(st, 200, doc)
        return doc

    def metric(self, name):
        st, body, _ = self.sys.request("GET", "/metrics", token=None)
        self.assertEqual(st, 200)
        text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
        m = re.search(r'^%s (\S+)$' % re.escape(name), text, re.M)
        return m.group(1) if m else None

    def test_wrong_password_pauses_then_fixed_books_everything(self):
        # a slow carrier clock: the orders stay 'booked' long enough to be seen so
        self.sys = harness.System(workers=0, clock_speed=1, step_seconds=3600)
        self.sys.import_codes()
        wrong = os.path.join(self.sys.dir, "wrong.password")
        right = os.path.join(self.sys.dir, "right.password")
        write_secret(wrong, "not-the-password")
        write_secret(right, "demo")
        self.sys.start_worker(["--carrier.vnpost.password_file", wrong])
        dossiers = [harness.make_dossier(i) for i in range(1, 7)]
        results = self.sys.submit_many(dossiers, concurrency=4)
        self.assertEqual([s for s, _, _ in results], [201] * len(dossiers))
        codes = [d["dossier_code"] for d in dossiers]

        deadline = time.time() + 20
        doc = self.paused()
        while not doc["carriers_paused"] and time.time() < deadline:
            time.sleep(0.2)
            doc = self.paused()
        self.assertEqual(doc["status"], "degraded", doc)
        self.assertEqual([p["carrier"] for p in doc["carriers_paused"]], ["vnpost"], doc)
        self.assertIn("password_file", doc["carriers_paused"][0]["reason"])
        self.assertEqual(self.metric('bcci_carrier_paused{carrier="vnpost"}'), "1")

        # several probes go by: still paused, nothing dead, every booking waits with no attempt used up
        time.sleep(7)
        doc = self.paused()
        self.assertEqual([p["carrier"] for p in doc["carriers_paused"]], ["vnpost"], doc)
        self.assertEqual(doc["jobs_dead"], 0, doc)
        rows = self.sys.db_query("SELECT state, attempts FROM jobs WHERE kind = 'book'")
        self.assertEqual(len(rows), len(dossiers))
        for state, attempts in rows:
            self.assertIn(state, ("ready", "leased"), rows)
            self.assertLessEqual(attempts, 1, rows)
        st, jobs, _ = self.sys.request("GET", "/v1/jobs?state=dead")
        self.assertEqual((st, jobs["jobs"]), (200, []))
        for code in codes:
            st, d, _ = self.sys.dossier(code)
            self.assertEqual(d["shipments"][-1]["status"], "created", code)
        self.assertEqual(self.sys.bccid.stderr_text().count("ALERT carrier vnpost paused"), 1,
                         "the alert is logged once per pause")

        # the operator fixes the password and restarts the worker: the jobs go out by themselves
        self.sys.workers[0].stop()
        self.sys.start_worker(["--carrier.vnpost.password_file", right])
        pending = self.sys.wait_all_status(codes, "booked", timeout=60)
        self.assertEqual(pending, set(), "never booked: %s" % sorted(pending))
        doc = self.paused()
        self.assertEqual((doc["status"], doc["carriers_paused"], doc["jobs_dead"]), ("ok", [], 0), doc)
        self.assertEqual(self.metric('bcci_carrier_paused{carrier="vnpost"}'), "0")
        stats = self.sys.sim_stats()
        self.assertEqual(stats["orders_total"], len(codes), "each booked once")


class DeadBookingTest(unittest.TestCase):
    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def test_booking_dead_after_its_attempts_is_on_the_timeline_and_the_problem_list(self):
        # a carrier that answers 500 to everything and one attempt per booking: the booking dies
        self.sys = harness.System(workers=1, sim_faults="http500=1", bccid_args=["--book_max_attempts", "1"])
        self.sys.import_codes()
        d = harness.make_dossier(1)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        code, waybill = d["dossier_code"], doc["shipments"][0]["waybill"]
        deadline, dead = time.time() + 30, []
        while time.time() < deadline and not dead:
            time.sleep(0.3)
            st, jobs, _ = self.sys.request("GET", "/v1/jobs?state=dead")
            dead = [j for j in jobs["jobs"] if j["kind"] == "book"]
        self.assertEqual(len(dead), 1, jobs)
        st, tl, _ = self.sys.timeline(code)
        texts = [e["text"] for e in tl["events"]]
        self.assertTrue(any(t.startswith("Bưu điện chưa nhận đơn sau 1 lần thử") for t in texts), texts)
        st, probs, _ = self.sys.request("GET", "/v1/clerk/shipments?state=problems")
        self.assertEqual(st, 200, probs)
        rows = [r for r in probs["shipments"] if r["waybill"] == waybill]
        self.assertEqual(len(rows), 1, probs)
        self.assertTrue(rows[0]["booking_refused"])
        self.assertIn("Bưu điện chưa nhận đơn", rows[0]["status_text"])
        st, ready, _ = self.sys.request("GET", "/v1/clerk/shipments?state=ready")
        self.assertNotIn(waybill, [r["waybill"] for r in ready["shipments"]], "not a parcel to hand over")


if __name__ == "__main__":
    unittest.main()
