"""The citizen tracking page and the clerk page over plain HTTP (no browser).

build_scene() is shared with the browser tests (tests/browser/fixture.py): it
books a few real shipments through the simulator and a worker, then moves one
to "out for delivery" and one to "delivery failed" with carrier webhooks.
"""
import base64
import hashlib
import hmac
import os
import sys
import time
import unittest

import harness

ROOT = harness.ROOT


def tracking_token(state_dir, waybill):
    """The k of the QR: base64url(HMAC-SHA256(server secret, waybill)) cut to 16 characters."""
    with open(os.path.join(state_dir, "secret"), "rb") as f:
        secret = f.read()
    mac = hmac.new(secret, waybill.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")[:16]


def commune_name(code):
    """The official full name of a commune code (data/vn-admin-units.tsv), as pages print it."""
    with open(os.path.join(harness.ROOT, "data", "vn-admin-units.tsv"), encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if not line.startswith("#") and cols[0] == "commune" and cols[1] == code:
                return cols[5]
    raise AssertionError("no commune %s in the data file" % code)


def tracking_path(system, waybill):
    return "/t/%s?k=%s" % (waybill, tracking_token(system.state, waybill))


def carrier_events(system, waybill, events):
    """Post VNPost webhooks [(status code, 'dd/MM/yyyy HH:mm:ss', name, reason)] for a booked waybill."""
    rows = system.db_query("SELECT carrier_ref FROM shipments WHERE waybill = ?", (waybill,))
    assert rows and rows[0][0], "shipment %s has no carrier reference yet" % waybill
    body = [{"originalId": rows[0][0], "itemCode": waybill, "status": code, "statusDate": when,
             "statusName": name, "reason": reason} for code, when, name, reason in events]
    st, doc, _ = system.request("POST", "/v1/carriers/vnpost/events", body, token=system.carrier_token)
    assert st == 200, (st, doc)
    return doc


def vn_time(offset_s):
    """'dd/MM/yyyy HH:mm:ss' in Vietnam time, offset_s seconds from now."""
    t = time.gmtime(time.time() + 7 * 3600 + offset_s)
    return time.strftime("%d/%m/%Y %H:%M:%S", t)


def make_dead_job(system, seq):
    """One more dossier whose book job is dead, as after a booking the carrier kept refusing.
    (Wrong credentials no longer kill jobs: they pause the carrier.) With no worker connected
    the job waits ready; the test marks it dead in the database, as the sink would after its
    last attempt, then a worker is back. Returns its waybill."""
    for w in system.workers:
        w.stop()
    d = harness.make_dossier(seq, harness.load_examples()[0])
    st, doc, _ = system.request("POST", "/v1/dossiers", d)
    assert st == 201, (st, doc)
    booking = ("FROM jobs WHERE kind = 'book' AND state = '%s' AND shipment_id ="
               " (SELECT s.id FROM shipments s JOIN dossiers x ON x.id = s.dossier_id WHERE x.code = ?)")
    # through the harness: the same on either store backend
    n = system.db_query("SELECT COUNT(*) " + booking % "ready", (d["dossier_code"],))[0][0]
    assert n == 1, "want the booking of %s ready to mark dead, found %d" % (d["dossier_code"], n)
    system.db_exec("UPDATE jobs SET state = 'dead', attempts = 25, last_error = ? WHERE id IN (SELECT id "
                   + booking % "ready" + ")",
                   ("Bưu điện từ chối đơn (HTTP 400): thiếu thông tin người nhận", d["dossier_code"]))
    deadline = time.time() + 30
    while time.time() < deadline:
        st, doc, _ = system.request("GET", "/v1/jobs?state=dead")
        if st == 200 and doc["jobs"]:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("no dead job within 30 s")
    system.start_worker()
    return doc_waybill(system, d["dossier_code"])


def doc_waybill(system, code):
    st, doc, _ = system.dossier(code)
    assert st == 200, (st, doc)
    return doc["shipments"][0]["waybill"]


def build_scene(ndossiers=5):
    """A System with ndossiers booked shipments; [0] out for delivery, [1] delivery failed.
    The carrier events carry times a few seconds after now: a shipment's status only
    follows events newer than its current status (the booking, just now)."""
    system = harness.System(workers=1, clock_speed=1, step_seconds=86400)
    try:
        system.import_codes(count=1000)
        examples = harness.load_examples()
        # [1] from another agency; the rest from one agency, so one manifest can take them all
        dossiers = [harness.make_dossier(i + 1, examples[1 if i == 1 else 0]) for i in range(ndossiers)]
        waybills = []
        for d in dossiers:
            st, doc, _ = system.request("POST", "/v1/dossiers", d)
            assert st == 201, (st, doc)
            waybills.append(doc["shipments"][0]["waybill"])
        codes = [d["dossier_code"] for d in dossiers]
        pending = system.wait_all_status(codes, "booked", timeout=60)
        assert not pending, "not booked within 60 s: %s" % sorted(pending)
        carrier_events(system, waybills[0], [
            (7, vn_time(1), "Bưu cục đã nhận", ""),
            (10, vn_time(2), "Đang vận chuyển", ""),
            (11, vn_time(3), "Đến bưu cục phát", ""),
            (12, vn_time(4), "Đang phát", ""),
        ])
        carrier_events(system, waybills[1], [
            (7, vn_time(1), "Bưu cục đã nhận", ""),
            (15, vn_time(2), "Phát không thành công", "Người nhận vắng nhà"),
        ])
        return system, dossiers, waybills
    except BaseException:
        system.stop()
        raise


class PublicPagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sys, cls.dossiers, cls.waybills = build_scene(4)

    @classmethod
    def tearDownClass(cls):
        findings = cls.sys.stop()
        assert findings == [], "sanitizer reports:\n" + "\n".join(findings)

    def get_page(self, path):
        st, body, hdrs = self.sys.request("GET", path, token=None)
        self.assertIsInstance(body, bytes, "want HTML, got %r" % (body,))
        return st, body.decode("utf-8"), hdrs

    def test_tracking_page_right_token(self):
        wb, d = self.waybills[0], self.dossiers[0]
        st, html, hdrs = self.get_page(tracking_path(self.sys, wb))
        self.assertEqual(st, 200, html[:300])
        self.assertTrue(hdrs["Content-Type"].startswith("text/html"), hdrs)
        self.assertTrue(hdrs["Content-Security-Policy"].startswith(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:"), hdrs)
        self.assertIn('<html lang="vi">', html)
        self.assertIn('name="viewport"', html)
        self.assertIn("Bưu tá đang giao kết quả đến bạn", html)
        self.assertIn(wb, html)
        self.assertIn("1900 54 54 81", html)
        # "Nguyễn Thị Ánh Tuyết" -> "Nguyễn T. Á. T."
        self.assertIn("Nguyễn T. Á. T.", html)
        self.assertIn(commune_name(d["recipient"]["commune_code"]), html)
        for private in (d["recipient"]["name"], d["recipient"]["phone"], d["recipient"]["address"],
                        d["recipient"].get("email", "@"), d["agency"]["phone"]):
            self.assertNotIn(private, html, "the tracking page shows private data")
        for external in ("<script", "http://", "https://", "<img", "<link"):
            self.assertNotIn(external, html, "the page must be self-contained")
        # the journey, newest first: out for delivery above accepted
        self.assertLess(html.index("Bưu tá đang giao kết quả đến bạn</li>"),
                        html.index("Bưu điện đã nhận bưu gửi</li>"))
        self.assertIn("Dự kiến giao", html)

    def test_failed_delivery_page(self):
        st, html, _ = self.get_page(tracking_path(self.sys, self.waybills[1]))
        self.assertEqual(st, 200)
        self.assertIn("Phát không thành công", html)
        self.assertNotIn("Dự kiến giao", html)

    def test_wrong_token_and_unknown_waybill_look_the_same(self):
        wb = self.waybills[0]
        good = tracking_token(self.sys.state, wb)
        bad = ("A" if good[0] != "A" else "B") + good[1:]
        cases = [
            "/t/%s?k=%s" % (wb, bad),               # one character off
            "/t/%s" % wb,                           # no k
            "/t/%s?k=" % wb,                        # empty k
            "/t/%s?k=%s" % (wb, good[:15]),         # short k
            "/t/%s?k=%s" % (wb, good + "x"),        # long k
            tracking_path(self.sys, "RR999999995VN"),  # valid S10 with a right token, never issued
            "/t/NOT-A-WAYBILL?k=%s" % good,
        ]
        bodies = set()
        for path in cases:
            st, html, hdrs = self.get_page(path)
            self.assertEqual(st, 404, "%s: got %s, want 404" % (path, st))
            self.assertTrue(hdrs["Content-Type"].startswith("text/html"), hdrs)
            self.assertNotIn(wb, html)
            bodies.add(html)
        self.assertEqual(len(bodies), 1, "the 404 pages differ, so waybills could be enumerated")

    def test_clerk_page(self):
        st, html, hdrs = self.get_page("/clerk")
        self.assertEqual(st, 200)
        self.assertTrue(hdrs["Content-Type"].startswith("text/html"), hdrs)
        csp = hdrs["Content-Security-Policy"]
        self.assertIn("default-src 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertIn('<html lang="vi">', html)
        self.assertIn("Bàn giao kết quả cho bưu điện", html)
        for path, ctype in (("/clerk/app.js", "text/javascript"), ("/clerk/app.css", "text/css")):
            st, body, hdrs = self.sys.request("GET", path, token=None)
            self.assertEqual(st, 200, path)
            self.assertTrue(hdrs["Content-Type"].startswith(ctype), hdrs)
            name = os.path.join(ROOT, "gateway", "pages", "clerk" + os.path.splitext(path)[1])
            with open(name, "rb") as f:
                self.assertEqual(body, f.read(), "%s differs from %s: the build did not re-embed it" % (path, name))

    def test_clerk_lists(self):
        clerk = self.sys.token("clerk-lists", "clerk")
        st, doc, _ = self.sys.request("GET", "/v1/clerk/shipments?state=ready", token=clerk)
        self.assertEqual(st, 200, doc)
        got = sorted(s["waybill"] for s in doc["shipments"])
        self.assertEqual(got, sorted(self.waybills[2:]), "ready = booked, not handed over")
        st, doc, _ = self.sys.request("GET", "/v1/clerk/shipments?state=problems", token=clerk)
        self.assertEqual(st, 200, doc)
        self.assertEqual([s["waybill"] for s in doc["shipments"]], [self.waybills[1]])
        self.assertEqual(doc["shipments"][0]["status"], "delivery_failed")
        st, doc, _ = self.sys.request("GET", "/v1/clerk/shipments?state=nope", token=clerk)
        self.assertEqual(st, 400, doc)
        st, doc, _ = self.sys.request("GET", "/v1/clerk/shipments", token=None)
        self.assertEqual(st, 401, doc)
        post = self.sys.token("po-lists", "post_office")
        st, doc, _ = self.sys.request("GET", "/v1/clerk/shipments", token=post)
        self.assertEqual(st, 403, doc)

    def test_zz_rate_limit(self):
        """Runs last (unittest sorts by name): it spends this address's budget.

        Round robin over the scene's waybills, so the per-address limit (60 a minute) is
        reached before any one waybill's own (20 a minute; test_edges covers that one)."""
        paths = [tracking_path(self.sys, w) for w in self.waybills]
        statuses = []
        retry_after = None
        for i in range(75):
            st, body, hdrs = self.sys.request("GET", paths[i % len(paths)], token=None)
            statuses.append(st)
            if st == 429:
                retry_after = hdrs.get("Retry-After")
                html = body.decode("utf-8")
                break
        self.assertIn(429, statuses, "got %d answers without 429, want 429 after 60 a minute" % len(statuses))
        # earlier tests of this class spent about ten of the 60
        self.assertGreaterEqual(statuses.index(429), 40, "429 came too early: %s" % statuses)
        self.assertTrue(retry_after and int(retry_after) >= 1, "want Retry-After, got %r" % retry_after)
        self.assertIn("thử lại sau", html)
        # the limit is per address and per page: the JSON API is not limited by it
        st, _, _ = self.sys.request("GET", "/healthz", token=None)
        self.assertEqual(st, 200)


if __name__ == "__main__":
    unittest.main()
