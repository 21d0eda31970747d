"""The clerk page's routes: search, whoami, past manifests, return now, redeliver, cancel reason,
and the tracking_url on every shipment answer; the citizen page of a failed delivery.

Uses build_scene() of test_public_pages.py: [0] out for delivery, [1] delivery failed
("Người nhận vắng nhà", another agency), the rest booked.
"""
import datetime
import urllib.parse
import unittest

import test_public_pages as pages


class ClerkApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sys, cls.dossiers, cls.waybills = pages.build_scene(4)
        try:
            cls.agency = cls.dossiers[0]["agency"]["code"]
            st, doc, _ = cls.sys.request("POST", "/v1/tokens", {"name": "clerk-lan", "role": "clerk",
                                                                "agency_code": cls.agency})
            assert st == 201, (st, doc)
            cls.clerk = doc["token"]
        except BaseException:
            cls.sys.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        findings = cls.sys.stop()
        assert findings == [], "sanitizer reports:\n" + "\n".join(findings)

    def search(self, token=True, **params):
        st, doc, _ = self.sys.request("GET", "/v1/shipments?" + urllib.parse.urlencode(params), token=token)
        self.assertEqual(st, 200, doc)
        return doc

    def test_search_by_code_waybill_phone_name(self):
        d, wb = self.dossiers[2], self.waybills[2]
        for q in (d["dossier_code"], d["dossier_code"][:18].lower(), wb, wb[:9].lower()):
            doc = self.search(q=q)
            self.assertIn(wb, [s["waybill"] for s in doc["shipments"]], q)
        phone = self.dossiers[1]["recipient"]["phone"]
        doc = self.search(q=phone[-6:])
        self.assertEqual([s["waybill"] for s in doc["shipments"]], [self.waybills[1]])
        self.assertEqual(doc["shipments"][0]["recipient_phone"], phone)
        doc = self.search(q="+84" + phone[1:])
        self.assertEqual([s["waybill"] for s in doc["shipments"]], [self.waybills[1]])
        doc = self.search(q="Trần Văn")
        self.assertEqual([s["waybill"] for s in doc["shipments"]], [self.waybills[1]])
        self.assertEqual(self.search(q="không-có-ai")["total"], 0)
        # a LIKE wildcard is a character, not "anything"
        self.assertEqual(self.search(q="%")["total"], 0)

    def test_filters_sort_pages(self):
        doc = self.search(status="delivery_failed")
        self.assertEqual([s["waybill"] for s in doc["shipments"]], [self.waybills[1]])
        row = doc["shipments"][0]
        self.assertEqual(row["failure_reason"], "Người nhận vắng nhà")
        self.assertEqual(row["agency_code"], self.dossiers[1]["agency"]["code"])
        self.assertTrue(row["tracking_url"].endswith(pages.tracking_path(self.sys, self.waybills[1])), row)
        self.assertEqual(self.search(carrier="viettel")["total"], 0)
        self.assertEqual(self.search(service="return")["total"], 4)
        self.assertEqual(self.search(service="send")["total"], 0)
        self.assertEqual(self.search(agency=self.agency)["total"], 3)
        today = datetime.datetime.utcnow() + datetime.timedelta(hours=7)
        self.assertEqual(self.search(**{"from": today.strftime("%Y-%m-%d"), "to": today.strftime("%Y-%m-%d")})["total"], 4)
        tomorrow = (today + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        self.assertEqual(self.search(**{"from": tomorrow})["total"], 0)
        asc = [s["waybill"] for s in self.search(sort="waybill")["shipments"]]
        self.assertEqual(asc, sorted(self.waybills))
        p1 = self.search(sort="waybill", per_page=3, page=1)
        p2 = self.search(sort="waybill", per_page=3, page=2)
        self.assertEqual((p1["total"], p1["pages"], len(p1["shipments"]), len(p2["shipments"])), (4, 2, 3, 1))
        self.assertEqual([s["waybill"] for s in p1["shipments"] + p2["shipments"]], asc)
        for bad in ({"status": "lost"}, {"sort": "name"}, {"from": "01/12/2026"}, {"page": "0"},
                    {"per_page": "1000"}, {"carrier": "ems"}, {"service": "pickup"}, {"agency": "x"}):
            st, doc, _ = self.sys.request("GET", "/v1/shipments?" + urllib.parse.urlencode(bad))
            self.assertEqual((st, doc["error"]["code"]), (400, "invalid_query"), bad)

    def test_agency_scope(self):
        doc = self.search(token=self.clerk)
        self.assertEqual(doc["total"], 3)
        self.assertNotIn(self.waybills[1], [s["waybill"] for s in doc["shipments"]])
        # asking for another agency finds nothing rather than another agency's citizens
        self.assertEqual(self.search(token=self.clerk, agency=self.dossiers[1]["agency"]["code"])["total"], 0)
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/return" % self.waybills[1], {"reason": "x"},
                                      token=self.clerk)
        self.assertEqual(st, 404, doc)

    def test_cancel_reason_on_the_timeline(self):
        wb = self.waybills[2]
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/cancel" % wb, {"reason": "Công dân xin nhận trực tiếp"},
                                      token=self.clerk)
        self.assertIn(st, (200, 202), doc)
        self.assertTrue(doc["tracking_url"].endswith(pages.tracking_path(self.sys, wb)), doc)
        st, tl, _ = self.sys.timeline(self.dossiers[2]["dossier_code"])
        self.assertIn("Lý do hủy: Công dân xin nhận trực tiếp", [e["text"] for e in tl["events"]])
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/cancel" % wb, {"reason": 5})
        self.assertEqual((st, doc["error"]["code"]), (422, "invalid_field"), doc)

    def test_whoami(self):
        st, doc, _ = self.sys.request("GET", "/v1/whoami", token=self.clerk)
        self.assertEqual(st, 200, doc)
        self.assertEqual((doc["name"], doc["role"], doc["agency_code"]), ("clerk-lan", "clerk", self.agency))
        self.assertEqual(doc["agency_name"], self.dossiers[0]["agency"]["name"])
        st, doc, _ = self.sys.request("GET", "/v1/whoami")
        self.assertEqual((st, doc["role"]), (200, "admin"))
        self.assertNotIn("agency_code", doc)

    def test_setup_error_page(self):
        """A booking the gateway could not place is the desk's to fix: the citizen is not told
        the parcel is lost, damaged or refused."""
        wb = pages.make_dead_job(self.sys, 50)
        for status in ("created", "exception"):
            self.sys.db_exec("UPDATE shipments SET status = ? WHERE waybill = ?", (status, wb))
            st, html, _ = self.sys.request("GET", pages.tracking_path(self.sys, wb), token=None)
            html = html.decode("utf-8")
            self.assertEqual(st, 200)
            self.assertIn("Bộ phận một cửa đang hoàn tất thủ tục gửi qua bưu điện", html, status)
            self.assertNotIn("thất lạc", html, status)

    def test_tracking_url_on_shipment_answers(self):
        wb = self.waybills[0]
        want = pages.tracking_path(self.sys, wb)
        st, doc, _ = self.sys.request("GET", "/v1/shipments/" + wb)
        self.assertTrue(doc["tracking_url"].endswith(want), doc)
        st, doc, _ = self.sys.dossier(self.dossiers[0]["dossier_code"])
        self.assertTrue(doc["shipments"][0]["tracking_url"].endswith(want), doc)
        st, doc, _ = self.sys.request("GET", "/v1/clerk/shipments?state=problems")
        self.assertTrue(all(s["tracking_url"].endswith(pages.tracking_path(self.sys, s["waybill"]))
                            for s in doc["shipments"]), doc)
        # an intake replay and a new intake
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", self.dossiers[0])
        self.assertEqual(st, 200, doc)
        self.assertTrue(doc["shipments"][0]["tracking_url"].endswith(want), doc)

    def test_manifests_list(self):
        wb = self.waybills[3]
        st, doc, _ = self.sys.request("POST", "/v1/manifests", {"waybills": [wb]}, token=self.clerk)
        self.assertEqual(st, 201, doc)
        st, doc, _ = self.sys.request("GET", "/v1/manifests", token=self.clerk)
        self.assertEqual(st, 200, doc)
        self.assertGreaterEqual(doc["total"], 1)
        m = doc["manifests"][0]
        self.assertEqual((m["agency_code"], m["items"], m["state"], m["created_by"]), (self.agency, 1, "open", "clerk-lan"))

    def test_redeliver_then_return(self):
        wb = self.waybills[1]
        tomorrow = (datetime.datetime.utcnow() + datetime.timedelta(hours=7, days=1)).strftime("%Y-%m-%d")
        for bad in ({"date": "2020-01-01"}, {"date": "mai"}, {}, {"date": tomorrow, "when": 1}):
            st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/redeliver" % wb, bad)
            self.assertIn(st, (400, 422), (bad, doc))
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/redeliver" % wb,
                                      {"date": tomorrow, "note": "Chiều sau 17 giờ"})
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["redelivery_date"], tomorrow)
        st, tl, _ = self.sys.timeline(self.dossiers[1]["dossier_code"])
        self.assertTrue(any(e["text"].startswith("Hẹn phát lại ngày") and e["source"] == "case_system"
                            for e in tl["events"]), tl)
        # the citizen sees the reason and the agreed day
        st, html, _ = self.sys.request("GET", pages.tracking_path(self.sys, wb), token=None)
        html = html.decode("utf-8")
        self.assertIn("Người nhận vắng nhà", html)
        d = datetime.datetime.strptime(tomorrow, "%Y-%m-%d").strftime("%d/%m/%Y")
        self.assertIn(d, html)
        # a booked shipment has no failed delivery to act on
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/return" % self.waybills[2], {"reason": "x"})
        self.assertEqual((st, doc["error"]["code"]), (409, "not_failed_delivery"), doc)
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/return" % wb, {})
        self.assertEqual(st, 422, doc)
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/return" % wb,
                                      {"reason": "Công dân đến nhận trực tiếp"})
        self.assertEqual((st, doc["status"]), (200, "returning"), doc)
        self.assertTrue(doc["tracking_url"].endswith(pages.tracking_path(self.sys, wb)), doc)
        st, doc, _ = self.sys.request("GET", "/v1/shipments/" + wb)
        self.assertEqual(doc["status"], "returning")
        st, jobs, _ = self.sys.request("GET", "/v1/jobs")
        self.assertTrue(any(j["kind"] == "return" for j in jobs["jobs"]), jobs)
        # the desk that will hold it, on the citizen's page
        st, html, _ = self.sys.request("GET", pages.tracking_path(self.sys, wb), token=None)
        html = html.decode("utf-8")
        self.assertIn(self.dossiers[1]["agency"]["name"], html)
        self.assertIn(self.dossiers[1]["agency"]["address"], html)


if __name__ == "__main__":
    unittest.main()
