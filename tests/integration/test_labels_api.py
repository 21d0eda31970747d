"""Labels, handover manifests and acceptance scans over HTTP (labels issue).

bccid runs without workers and without the carrier simulator, so every
shipment stays "created" unless a test moves it (cancel, scan)."""
import json
import os
import re
import subprocess
import tempfile
import time
import unittest

import harness

LABEL = "/v1/shipments/%s/label"


def s10(prefix, serial, country="VN"):
    digits = "%08d" % serial
    c = 11 - sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7))) % 11
    c = {10: 0, 11: 5}.get(c, c)
    return "%s%s%d%s" % (prefix, digits, c, country)


def run_tool(argv, data, suffix):
    """Write data to a temporary file and run argv + [file]; returns (rc, stdout text)."""
    fd, path = tempfile.mkstemp(suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        p = subprocess.run(argv + [path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    finally:
        os.unlink(path)


class LabelsApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sys = harness.System(workers=0, with_sim=False)
        cls.sys.import_codes(count=1000)
        cls.waybills = []
        cls.codes = []
        for i in range(1, 21):
            d = harness.make_dossier(i)
            st, doc, _ = cls.sys.request("POST", "/v1/dossiers", d)
            assert st == 201, (st, doc)
            cls.waybills.append(doc["shipments"][0]["waybill"])
            cls.codes.append(d["dossier_code"])
        # a second agency, used only by the "ready" test
        other = harness.load_examples()[4]
        cls.other_agency = other["agency"]["code"]
        cls.other_waybills = []
        for i in range(1, 4):
            d = harness.make_dossier(500 + i, template=other)
            st, doc, _ = cls.sys.request("POST", "/v1/dossiers", d)
            assert st == 201, (st, doc)
            cls.other_waybills.append(doc["shipments"][0]["waybill"])
        cls.clerk = cls.sys.token("clerk-1", "clerk")
        cls.post = cls.sys.token("buu-cuc-1", "post_office")

    @classmethod
    def tearDownClass(cls):
        findings = cls.sys.stop()
        assert findings == [], "sanitizer reports:\n" + "\n".join(findings)

    # ------------------------------------------------------------ helpers
    def get_label(self, waybill, query="", token=True):
        return self.sys.request("GET", LABEL % waybill + query, token=token)

    def assert_refused(self, want_status, method, path, body=None, token=True, want_code=None, want_in=()):
        before = self.sys.db_counts()
        prints = self.sys.db_query("SELECT SUM(label_prints) FROM shipments")
        st, doc, _ = self.sys.request(method, path, body, token=token)
        self.assertEqual(st, want_status, "got %s %r, want %s" % (st, doc, want_status))
        self.assertIsInstance(doc, dict, "error body must be JSON, got %r" % (doc,))
        if want_code:
            self.assertEqual(doc["error"]["code"], want_code, doc)
        for text in want_in:
            self.assertIn(text, doc["error"]["message"], doc)
        self.assertEqual(self.sys.db_counts(), before, "a refused request changed the database")
        self.assertEqual(self.sys.db_query("SELECT SUM(label_prints) FROM shipments"), prints,
                         "a refused request counted a print")
        return doc

    def events(self, code, source=None):
        st, doc, _ = self.sys.timeline(code)
        self.assertEqual(st, 200, doc)
        self.assertTrue(doc["chain_valid"], doc)
        return [e for e in doc["events"] if source is None or e["source"] == source]

    def status_of(self, waybill):
        st, doc, _ = self.sys.request("GET", "/v1/shipments/" + waybill)
        self.assertEqual(st, 200, doc)
        return doc["status"] if "status" in doc else doc["shipment"]["status"]

    # -------------------------------------------------------------- labels
    def test_single_label_each_format(self):
        wb = self.waybills[0]
        st, pdf, hdrs = self.get_label(wb, "?format=pdf")
        self.assertEqual(st, 200, pdf)
        self.assertTrue(pdf.startswith(b"%PDF"), pdf[:20])
        self.assertEqual(hdrs["Content-Type"], "application/pdf")
        self.assertIn('filename="%s.pdf"' % wb, hdrs.get("Content-Disposition", ""))

        st, png, hdrs = self.get_label(wb, "?format=png&dpi=300")
        self.assertEqual(st, 200, png)
        self.assertEqual(hdrs["Content-Type"], "image/png")
        rc, out = run_tool(["zbarimg", "--raw", "-q"], png, ".png")
        self.assertEqual(rc, 0, "zbarimg found no symbol: %s" % out)
        lines = out.split()
        self.assertTrue(any(re.search(r"/t/%s\?k=[A-Za-z0-9_-]{16}$" % wb, ln) for ln in lines),
                        "got %r, want the tracking URL of %s" % (lines, wb))
        self.assertIn(wb, lines, "got %r, want the waybill as Code 128" % lines)

        st, svg, hdrs = self.get_label(wb, "?format=svg&size=a6")
        self.assertEqual(st, 200, svg)
        self.assertIn("svg", hdrs["Content-Type"])
        rc, out = run_tool(["xmllint", "--noout"], svg, ".svg")
        self.assertEqual(rc, 0, "xmllint: %s" % out)

        st, zpl, hdrs = self.get_label(wb, "?format=zpl")
        self.assertEqual(st, 200, zpl)
        self.assertEqual(hdrs["Content-Type"], "application/zpl")
        text = zpl.decode("ascii")  # text travels as ^GFA bitmaps: nothing for the printer's font to miss
        self.assertTrue(text.lstrip().startswith("^XA") and text.rstrip().endswith("^XZ"), text[:40])
        self.assertIn("^BCN,", text)
        self.assertIn(wb, text)
        self.assertGreaterEqual(text.count("^GFA,"), 15)
        self.assertNotIn("^A0N", text)

        st, zpl, _ = self.get_label(wb, "?format=zpl-font")
        self.assertEqual(st, 200, zpl)
        text = zpl.decode("utf-8")
        self.assertIn("^CI28", text)
        self.assertIn("NGƯỜI NHẬN", text)
        self.assertNotIn("^GFA,", text)

    def test_reprints_on_timeline(self):
        wb, code = self.waybills[1], self.codes[1]
        for want in (1, 2):
            st, body, _ = self.get_label(wb, token=self.clerk)
            self.assertEqual(st, 200, body)
            printed = [e for e in self.events(code, "clerk") if e["text"].startswith("In nhãn bưu gửi")]
            self.assertEqual(len(printed), want, printed)
            last = printed[-1]
            self.assertEqual(last["details"], {"format": "pdf", "reprint": want}, last)
            self.assertIn("In nhãn bưu gửi %s (lần %d)" % (wb, want), last["text"])
            self.assertEqual(last["waybill"], wb)
        rows = self.sys.db_query("SELECT label_prints FROM shipments WHERE waybill = ?", (wb,))
        self.assertEqual(rows, [(2,)], "got %r, want 2 prints" % rows)

    def test_label_refusals(self):
        wb = self.waybills[2]
        self.assert_refused(400, "GET", LABEL % "RR123456789VN", want_code="invalid_waybill")
        self.assert_refused(404, "GET", LABEL % s10("RR", 99999999), want_code="not_found")
        self.assert_refused(400, "GET", LABEL % wb + "?format=bmp", want_in=("pdf, png, svg, zpl",))
        self.assert_refused(400, "GET", LABEL % wb + "?size=a4", want_in=("100x150, a6",))
        self.assert_refused(400, "GET", LABEL % wb + "?dpi=150", want_in=("203, 300",))
        self.assert_refused(400, "GET", LABEL % wb + "?dpi=abc", want_in=("203, 300",))
        self.assert_refused(401, "GET", LABEL % wb, token=None)

    def test_cancelled_shipment_has_no_label(self):
        wb = self.waybills[3]
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/cancel" % wb, {})
        self.assertIn(st, (200, 202), doc)
        self.assertEqual(self.status_of(wb), "cancelled")
        self.assert_refused(409, "GET", LABEL % wb, want_code="shipment_cancelled", want_in=(wb,))
        self.assert_refused(409, "POST", "/v1/labels", {"waybills": [self.waybills[4], wb]}, want_in=(wb,))
        self.assert_refused(409, "POST", "/v1/manifests", {"waybills": [self.waybills[4], wb]}, want_in=(wb,))

    def test_batch_pdf_and_zpl(self):
        wbs = self.waybills[5:8]
        st, pdf, hdrs = self.sys.request("POST", "/v1/labels", {"waybills": wbs, "format": "pdf"}, token=self.clerk)
        self.assertEqual(st, 200, pdf)
        rc, out = run_tool(["pdfinfo"], pdf, ".pdf")
        self.assertEqual(rc, 0, out)
        pages = re.search(r"^Pages:\s+(\d+)", out, re.M)
        self.assertEqual(pages and pages.group(1), "3", "got %r, want Pages: 3" % out)
        for fmt in ("zpl", "zpl-font"):
            st, zpl, _ = self.sys.request("POST", "/v1/labels", {"waybills": wbs, "format": fmt, "dpi": 300})
            self.assertEqual(st, 200, zpl)
            text = zpl.decode("utf-8")
            self.assertEqual(text.count("^XA"), 3, text[:200])
            self.assertIn("^PW1200\n", text)  # 100 mm at 300 dpi (12 dots/mm)
            for wb in wbs:
                self.assertIn(wb, text)
        rows = self.sys.db_query("SELECT label_prints FROM shipments WHERE waybill IN (?, ?, ?)", tuple(wbs))
        self.assertEqual(sorted(rows), [(3,), (3,), (3,)], rows)

    def test_batch_refusals(self):
        wbs = self.waybills[8:10]
        self.assert_refused(422, "POST", "/v1/labels", {"waybills": []}, want_code="empty_list")
        self.assert_refused(400, "POST", "/v1/labels", {"waybills": wbs, "format": "png"}, want_in=("pdf, zpl",))
        self.assert_refused(400, "POST", "/v1/labels", {"waybills": wbs, "format": "pdf", "size": "a4"},
                            want_in=("100x150, a6",))
        unknown = s10("RR", 99999998)
        doc = self.assert_refused(404, "POST", "/v1/labels", {"waybills": wbs + [unknown]})
        self.assertIn(unknown, doc["error"]["message"])
        self.assert_refused(400, "POST", "/v1/labels", {"waybills": ["RR1"]}, want_code="invalid_waybill")
        self.assert_refused(403, "POST", "/v1/labels", {"waybills": wbs}, token=self.post)

    # ----------------------------------------------------------- manifests
    def test_manifest_create_pdf_scan(self):
        wbs, codes = self.waybills[10:13], self.codes[10:13]
        st, m, _ = self.sys.request("POST", "/v1/manifests", {"waybills": wbs}, token=self.clerk)
        self.assertEqual(st, 201, m)
        self.assertRegex(m["id"], r"^BB-\d{8}-[A-Z2-7]{8}$")
        self.assertTrue(m["code"].startswith("BCCI-MF:" + m["id"] + "."), m)
        self.assertEqual(m["items"], 3)
        self.assertEqual(m["waybills"], wbs)

        st, pdf, hdrs = self.sys.request("GET", "/v1/manifests/%s.pdf" % m["id"], token=self.post)
        self.assertEqual(st, 200, pdf)
        self.assertTrue(pdf.startswith(b"%PDF"))
        p = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, stdout=subprocess.PIPE, timeout=60)
        text = p.stdout.decode("utf-8")
        self.assertIn("BIÊN BẢN GIAO NHẬN", text)
        for wb in wbs:
            self.assertIn(wb, text)
        st, _, _ = self.sys.request("GET", "/v1/manifests/BB-20250101-AAAAAAAA.pdf")
        self.assertEqual(st, 404)

        # a waybill on an open manifest cannot go on another one
        doc = self.assert_refused(409, "POST", "/v1/manifests", {"waybills": [self.waybills[13], wbs[1]]},
                                  want_code="already_on_manifest")
        self.assertIn(wbs[1], doc["error"]["message"])

        # a forged code (one character of the MAC changed) changes nothing
        mac = m["code"][-16:]
        forged = m["code"][:-16] + ("A" if mac[0] != "A" else "B") + mac[1:]
        self.assert_refused(404, "POST", "/v1/scans", {"code": forged, "event": "accepted"}, token=self.post)
        self.assert_refused(404, "POST", "/v1/scans",
                            {"code": "BCCI-MF:BB-20250101-AAAAAAAA.AAAAAAAAAAAAAAAA", "event": "accepted"})
        self.assert_refused(403, "POST", "/v1/scans", {"code": m["code"], "event": "accepted"}, token=self.clerk)

        st, doc, _ = self.sys.request("POST", "/v1/scans", {"code": m["code"], "event": "accepted"}, token=self.post)
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["manifest"], m["id"])
        self.assertEqual(doc["accepted"], 3)
        for wb, code in zip(wbs, codes):
            self.assertEqual(self.status_of(wb), "accepted")
            ema = [e for e in self.events(code, "post_office") if e.get("upu") == "EMA"]
            self.assertEqual(len(ema), 1, ema)
            self.assertEqual(ema[0]["status"], "accepted")
            self.assertIn(m["id"], ema[0]["text"])
        self.assertEqual(self.sys.db_query("SELECT state FROM manifests WHERE public_id = ?", (m["id"],)),
                         [("accepted",)])
        # a second scan is harmless: nothing new
        before = self.sys.db_counts()
        st, doc, _ = self.sys.request("POST", "/v1/scans", {"code": m["code"], "event": "accepted"}, token=self.post)
        self.assertEqual((st, doc["accepted"]), (200, 0), doc)
        self.assertEqual(self.sys.db_counts(), before)

    def test_manifest_refusals(self):
        self.assert_refused(422, "POST", "/v1/manifests", {"waybills": []}, want_code="empty_list")
        unknown = s10("RR", 99999997)
        doc = self.assert_refused(409, "POST", "/v1/manifests", {"waybills": [self.waybills[14], unknown]})
        self.assertIn(unknown, doc["error"]["message"])
        self.assert_refused(422, "POST", "/v1/manifests", {"waybills": [self.waybills[14], self.waybills[14]]},
                            want_code="duplicate_waybill")
        self.assert_refused(422, "POST", "/v1/manifests", {"all_ready": True}, want_code="missing_field")
        self.assert_refused(403, "POST", "/v1/manifests", {"waybills": [self.waybills[14]]}, token=self.post)
        self.assert_refused(401, "POST", "/v1/manifests", {"waybills": [self.waybills[14]]}, token=None)
        self.assert_refused(401, "GET", "/v1/manifests/BB-20250101-AAAAAAAA.pdf", token=None)

    def test_scan_plain_waybill(self):
        wb, code = self.waybills[15], self.codes[15]
        self.assert_refused(404, "POST", "/v1/scans", {"code": s10("RR", 99999996), "event": "accepted"},
                            token=self.post)
        self.assert_refused(422, "POST", "/v1/scans", {"code": wb, "event": "teleported"}, token=self.post)
        st, doc, _ = self.sys.request("POST", "/v1/scans", {"code": wb, "event": "accepted"}, token=self.post)
        self.assertEqual(st, 200, doc)
        self.assertEqual((doc["waybill"], doc["accepted"], doc["status"]), (wb, 1, "accepted"), doc)
        self.assertEqual(self.status_of(wb), "accepted")
        ema = [e for e in self.events(code, "post_office") if e.get("upu") == "EMA"]
        self.assertEqual(len(ema), 1, ema)

    def test_roles(self):
        wb = self.waybills[16]
        st, body, _ = self.get_label(wb, "?format=zpl", token=self.post)
        self.assertEqual(st, 200, body)
        self.assert_refused(403, "POST", "/v1/manifests", {"waybills": [wb]}, token=self.post)
        self.assert_refused(401, "POST", "/v1/labels", {"waybills": [wb]}, token=None)
        self.assert_refused(401, "POST", "/v1/scans", {"code": wb, "event": "accepted"}, token=None)

    def test_ready_labels_and_manifest_of_agency(self):
        st, pdf, _ = self.sys.request("POST", "/v1/labels", {"ready": True, "agency_code": self.other_agency},
                                      token=self.clerk)
        self.assertEqual(st, 200, pdf)
        rc, out = run_tool(["pdfinfo"], pdf, ".pdf")
        self.assertRegex(out, r"(?m)^Pages:\s+3$")
        st, m, _ = self.sys.request("POST", "/v1/manifests", {"agency_code": self.other_agency, "all_ready": True},
                                    token=self.clerk)
        self.assertEqual(st, 201, m)
        self.assertEqual(sorted(m["waybills"]), sorted(self.other_waybills))
        self.assert_refused(422, "POST", "/v1/labels", {"ready": True, "agency_code": self.other_agency},
                            want_code="nothing_ready")
        self.assert_refused(422, "POST", "/v1/manifests", {"agency_code": self.other_agency, "all_ready": True},
                            want_code="nothing_ready")


class BookedShipmentsTest(unittest.TestCase):
    """With a worker and the simulator: booked shipments print, go on a manifest and are accepted.
    The simulator's clock is slow so the carrier does not move them further during the test."""

    @classmethod
    def setUpClass(cls):
        cls.sys = harness.System(workers=1, clock_speed=1, step_seconds=3600)
        cls.sys.import_codes(count=100)
        cls.codes, cls.waybills = [], []
        for i in range(1, 4):
            d = harness.make_dossier(700 + i)
            st, doc, _ = cls.sys.request("POST", "/v1/dossiers", d)
            assert st == 201, (st, doc)
            cls.codes.append(d["dossier_code"])
            cls.waybills.append(doc["shipments"][0]["waybill"])

    @classmethod
    def tearDownClass(cls):
        findings = cls.sys.stop()
        assert findings == [], "sanitizer reports:\n" + "\n".join(findings)

    def test_booked_to_accepted(self):
        pending = self.sys.wait_all_status(self.codes, "booked", timeout=60)
        self.assertEqual(pending, set(), "not booked in time")
        agency = harness.load_examples()[0]["agency"]["code"]
        st, pdf, _ = self.sys.request("POST", "/v1/labels", {"ready": True, "agency_code": agency})
        self.assertEqual(st, 200, pdf)
        rc, out = run_tool(["pdfinfo"], pdf, ".pdf")
        self.assertRegex(out, r"(?m)^Pages:\s+3$")
        st, m, _ = self.sys.request("POST", "/v1/manifests", {"agency_code": agency, "all_ready": True})
        self.assertEqual((st, m.get("items")), (201, 3), m)
        st, doc, _ = self.sys.request("POST", "/v1/scans", {"code": m["code"], "event": "accepted"})
        self.assertEqual((st, doc.get("accepted")), (200, 3), doc)
        for code in self.codes:
            st, d, _ = self.sys.dossier(code)
            self.assertEqual(d["shipments"][-1]["status"], "accepted", d)


class PlaceNamesTest(unittest.TestCase):
    """With the operator's communes_file, labels, manifests and the tracking page name the commune
    and the province instead of printing codes; a malformed file stops bccid with its line."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bcci-communes-")
        self.communes = os.path.join(self.tmp, "communes.conf")
        with open(self.communes, "w", encoding="utf-8") as f:
            f.write("# Thành phố Hà Nội (QĐ 19/2025)\n00004 = Phường Ba Đình\n00008 = Phường Ngọc Hà\n")

    def tearDown(self):
        for name in os.listdir(self.tmp):
            os.unlink(os.path.join(self.tmp, name))
        os.rmdir(self.tmp)

    def test_names_on_label_manifest_and_tracking_page(self):
        import test_public_pages
        sys = harness.System(workers=0, with_sim=False, bccid_args=["--communes_file", self.communes])
        try:
            sys.import_codes(count=100)
            d = harness.make_dossier(1)
            # an address that does not spell out its commune, so the label must add it
            d["recipient"]["address"] = "Số 12 ngõ 34 phố Văn Cao"
            other = harness.make_dossier(2)
            other["recipient"]["address"] = "Số 5 phố Đội Cấn"
            other["recipient"]["commune_code"] = "00025"  # not in the file: the official name
            wbs = []
            for dossier in (d, other):
                st, doc, _ = sys.request("POST", "/v1/dossiers", dossier)
                self.assertEqual(st, 201, doc)
                wbs.append(doc["shipments"][0]["waybill"])

            st, pdf, _ = sys.request("GET", LABEL % wbs[0] + "?format=pdf")
            self.assertEqual(st, 200, pdf)
            p = subprocess.run(["pdftotext", "-", "-"], input=pdf, stdout=subprocess.PIPE, timeout=60)
            text = " ".join(p.stdout.decode("utf-8").split())
            self.assertIn("Số 12 ngõ 34 phố Văn Cao, Phường Ngọc Hà, Thành phố Hà Nội", text)
            # the agency's address spells out its commune in lower case: not repeated
            self.assertIn("Số 10 phố Đội Cấn, phường Ba Đình, Thành phố Hà Nội — mã bưu chính 11120 ĐT:", text)
            self.assertNotIn("mã xã", text)

            st, pdf, _ = sys.request("GET", LABEL % wbs[1] + "?format=pdf")
            self.assertEqual(st, 200, pdf)
            p = subprocess.run(["pdftotext", "-", "-"], input=pdf, stdout=subprocess.PIPE, timeout=60)
            text = " ".join(p.stdout.decode("utf-8").split())
            self.assertIn("Số 5 phố Đội Cấn, Phường Giảng Võ, Thành phố Hà Nội", text)

            st, m, _ = sys.request("POST", "/v1/manifests", {"waybills": wbs})
            self.assertEqual(st, 201, m)
            st, pdf, _ = sys.request("GET", "/v1/manifests/%s.pdf" % m["id"])
            self.assertEqual(st, 200, pdf)
            p = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, stdout=subprocess.PIPE, timeout=60)
            text = p.stdout.decode("utf-8")
            self.assertIn("Phường Ngọc Hà", text)
            self.assertIn("Phường Giảng Võ", text)

            st, html, _ = sys.request("GET", test_public_pages.tracking_path(sys, wbs[0]), token=False)
            self.assertEqual(st, 200, html)
            html = html.decode("utf-8") if isinstance(html, bytes) else html
            self.assertIn("Phường Ngọc Hà, Thành phố Hà Nội", html)
            self.assertNotIn("Số 12 ngõ 34", html)  # the street stays private
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])

    def test_malformed_file_stops_bccid_with_its_line(self):
        with open(self.communes, "a", encoding="utf-8") as f:
            f.write("0008 = Phường Sai Mã\n")
        p = subprocess.run([os.path.join(harness.BIN, "bccid"), "--communes_file", self.communes,
                            "--state_dir", os.path.join(self.tmp, "var"), "--http_listen", "127.0.0.1:0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        err = p.stderr.decode("utf-8")
        self.assertIn("communes.conf:4: the code must be the 5 digits", err)
        for name in list(os.listdir(self.tmp)):
            path = os.path.join(self.tmp, name)
            if os.path.isdir(path):
                for sub in os.listdir(path):
                    os.unlink(os.path.join(path, sub))
                os.rmdir(path)

class PhieuGuiContentTest(unittest.TestCase):
    """What TT 17 Điều 9 asks of a phiếu gửi reaches the label, and a cut is reported."""

    def test_display_names_tt17_lines_and_the_shortened_header(self):
        sys_ = harness.System(workers=0, with_sim=False)
        try:
            sys_.import_codes(count=10)
            d = harness.make_dossier(1)
            st, doc, _ = sys_.request("POST", "/v1/dossiers", d)
            self.assertEqual(st, 201, doc)
            st, pdf, hdrs = sys_.request("GET", LABEL % doc["shipments"][0]["waybill"] + "?format=pdf")
            self.assertEqual(st, 200)
            self.assertNotIn("X-BCCI-Label-Shortened", hdrs, "nothing was cut on an ordinary label")
            text = " ".join(subprocess.run(["pdftotext", "-", "-"], input=pdf, stdout=subprocess.PIPE,
                                           timeout=60).stdout.decode("utf-8").split())
            self.assertIn("Bưu điện Việt Nam (VNPost) — Chuyển phát thường (CTN001)", text)
            self.assertIn("Thủ tục: " + d["procedure"]["name"], text)
            self.assertIn("Khối lượng: 200 g", text)
            self.assertIn("NGƯỜI NHẬN KÝ", text)
            self.assertIn("Ngày nhận gửi: ……", text, "the acceptance date is filled in by the postman, not the print date")
            # not booked yet (no carrier time): its status is dated by the gateway, never 01/01/1970
            import test_public_pages
            st, html, _ = sys_.request("GET", test_public_pages.tracking_path(sys_, doc["shipments"][0]["waybill"]),
                                       token=False)
            self.assertEqual(st, 200)
            html = html.decode("utf-8") if isinstance(html, bytes) else html
            self.assertNotIn("1970", html)
            st, lists, _ = sys_.request("GET", "/v1/clerk/shipments")
            self.assertEqual(st, 200, lists)
            self.assertNotIn("1970", json.dumps(lists))
            # once the post office has it, a reprint carries the acceptance date
            wb = doc["shipments"][0]["waybill"]
            st, rep, _ = sys_.request("POST", "/v1/scans", {"code": wb, "event": "accepted"},
                                      token=sys_.token("buu-cuc-1", "post_office"))
            self.assertEqual(st, 200, rep)
            st, pdf, _ = sys_.request("GET", LABEL % wb + "?format=pdf")
            text = " ".join(subprocess.run(["pdftotext", "-", "-"], input=pdf, stdout=subprocess.PIPE,
                                           timeout=60).stdout.decode("utf-8").split())
            today = time.strftime("%d/%m/%Y", time.gmtime(time.time() + 7 * 3600))
            self.assertIn("Ngày nhận gửi: " + today, text)

            long_one = harness.make_dossier(2)
            long_one["recipient"]["address"] = ("Số 12 ngõ 34 phố Văn Cao, tổ dân phố số 5, khu tập thể Bộ Xây dựng " * 4)[:300]
            st, doc, _ = sys_.request("POST", "/v1/dossiers", long_one)
            self.assertEqual(st, 201, doc)
            st, pdf, hdrs = sys_.request("GET", LABEL % doc["shipments"][0]["waybill"] + "?format=pdf")
            self.assertEqual(st, 200)
            self.assertIn("first=recipient.address", hdrs.get("X-BCCI-Label-Shortened", ""), hdrs)

            # the service the citizen chose is the one on the label
            fast = harness.make_dossier(4)
            fast["delivery"] = "express"
            st, doc_fast, _ = sys_.request("POST", "/v1/dossiers", fast)
            self.assertEqual(st, 201, doc_fast)
            st, pdf, _ = sys_.request("GET", LABEL % doc_fast["shipments"][0]["waybill"] + "?format=pdf")
            text = " ".join(subprocess.run(["pdftotext", "-", "-"], input=pdf, stdout=subprocess.PIPE,
                                           timeout=60).stdout.decode("utf-8").split())
            self.assertIn("Bưu điện Việt Nam (VNPost) — Chuyển phát nhanh (ETN011)", text)
            bad = harness.make_dossier(5)
            bad["delivery"] = "teleport"
            st, err, _ = sys_.request("POST", "/v1/dossiers", bad)
            self.assertEqual((st, err["error"]["field"]), (422, "delivery"), err)

            # the send leg (QĐ 45 Điều 5): the citizen sends, the agency receives
            import test_lifecycle
            send = test_lifecycle.send_dossier(3)
            st, doc, _ = sys_.request("POST", "/v1/dossiers", send)
            self.assertEqual(st, 201, doc)
            st, pdf, _ = sys_.request("GET", LABEL % doc["shipments"][0]["waybill"] + "?format=pdf")
            self.assertEqual(st, 200)
            text = " ".join(subprocess.run(["pdftotext", "-", "-"], input=pdf, stdout=subprocess.PIPE,
                                           timeout=60).stdout.decode("utf-8").split())
            self.assertIn("NGƯỜI NHẬN " + send["agency"]["name"], text)
            self.assertIn("NGƯỜI GỬI " + send["sender"]["name"], text)
            self.assertIn("Tờ khai đăng ký khai sinh (bản chính)", text)
        finally:
            findings = sys_.stop()
        self.assertEqual(findings, [])


if __name__ == "__main__":
    unittest.main()


class CancelOnManifestTest(unittest.TestCase):
    def test_cancel_takes_the_item_off_an_open_manifest(self):
        sys = harness.System(workers=0, with_sim=False)
        try:
            sys.import_codes()
            waybills = []
            for i in (1, 2):
                st, doc, _ = sys.request("POST", "/v1/dossiers", harness.make_dossier(i))
                waybills.append(doc["shipments"][0]["waybill"])
            st, man, _ = sys.request("POST", "/v1/manifests", {"waybills": waybills})
            self.assertEqual(st, 201, man)
            st, doc, _ = sys.request("POST", "/v1/shipments/%s/cancel" % waybills[0], {})
            self.assertEqual((st, doc["status"]), (200, "cancelled"))
            left = sys.db_query("SELECT COUNT(*) FROM manifest_items")[0][0]
            self.assertEqual(left, 1, "the cancelled item left the open manifest")
            st, tl, _ = sys.timeline(harness.make_dossier(1)["dossier_code"])
            self.assertTrue(any(man["id"] in e["text"] for e in tl["events"]))
            self.assertTrue(tl["chain_valid"])
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])

    def test_manifest_of_cancelled_items_is_void(self):
        sys = harness.System(workers=0, with_sim=False)
        try:
            sys.import_codes()
            st, doc, _ = sys.request("POST", "/v1/dossiers", harness.make_dossier(1))
            waybill = doc["shipments"][0]["waybill"]
            st, man, _ = sys.request("POST", "/v1/manifests", {"waybills": [waybill]})
            self.assertEqual(st, 201, man)
            st, doc, _ = sys.request("POST", "/v1/shipments/%s/cancel" % waybill, {})
            self.assertEqual((st, doc["status"]), (200, "cancelled"))
            st, doc, _ = sys.request("GET", "/v1/manifests/%s.pdf" % man["id"])
            self.assertEqual(st, 409, "got %s %s, want 409 manifest_void" % (st, doc))
            self.assertEqual(doc["error"]["code"], "manifest_void", doc)
            self.assertIn("every item", doc["error"]["message"])
            self.assertIn("cancelled", doc["error"]["message"])
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])


class DrawingOffTheHttpThreadTest(unittest.TestCase):
    """Labels are drawn on render threads: with a single HTTP thread, a request that arrives
    while a large batch is being drawn is answered before the batch (drawn on the HTTP thread,
    it would wait for the whole drawing)."""

    def test_a_request_is_answered_while_a_batch_is_drawn(self):
        import threading
        sys = harness.System(workers=0, with_sim=False, bccid_args=["--http_threads", "1"])
        try:
            sys.import_codes(count=2000)
            n, answered = 120, None
            answers = sys.submit_many([harness.make_dossier(i) for i in range(1, 1 + 4 * n)])
            waybills = [doc["shipments"][0]["waybill"] for st, doc, _ in answers if st == 201]
            self.assertEqual(len(waybills), 4 * n)
            # a drawing that ends before this test's request was sent proves nothing: then the
            # next, larger batch is tried (three at most)
            for size in (n, 2 * n, 4 * n):
                batch = waybills[:size]
                done = {}

                def print_batch():
                    done["answer"] = sys.request("POST", "/v1/labels", {"waybills": batch, "format": "pdf"},
                                                 timeout=300)
                    done["at"] = time.monotonic()

                prints = sys.db_query("SELECT label_prints FROM shipments WHERE waybill = ?", (batch[-1],))[0][0]
                t = threading.Thread(target=print_batch)
                t.start()
                # the print is recorded (committed) before the drawing starts
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and "at" not in done:
                    now = sys.db_query("SELECT label_prints FROM shipments WHERE waybill = ?", (batch[-1],))[0][0]
                    if now > prints:
                        break
                    time.sleep(0.01)
                st, doc, _ = sys.request("GET", "/healthz")
                health_at = time.monotonic()
                t.join(300)
                self.assertFalse(t.is_alive(), "the batch was answered")
                st_batch, pdf, _ = done["answer"]
                self.assertEqual(st_batch, 200, pdf)
                self.assertEqual(st, 200, doc)
                if done["at"] > health_at:
                    answered = size
                    rc, out = run_tool(["pdfinfo"], pdf, ".pdf")
                    pages = re.search(r"^Pages:\s+(\d+)", out, re.M)
                    self.assertEqual(pages and int(pages.group(1)), size, out)
                    break
            self.assertIsNotNone(answered, "/healthz was never answered before a batch of up to %d labels "
                                           "finished drawing: the drawing holds up the HTTP thread" % (4 * n))
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])
