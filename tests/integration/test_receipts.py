"""Send leg (QĐ 45 Điều 5, 7.4): the receiving officer's receipt at the agency is the legal
submission time; the carrier's "delivered" is not told to the case system as DVC 2."""
import os
import re
import subprocess
import tempfile
import time
import unicodedata
import unittest

import casesys
import harness
from test_lifecycle import SECRET, send_dossier

OFFICER = "Nguyễn Văn An"


class ReceiptTest(unittest.TestCase):
    def setUp(self):
        self.receiver = casesys.Receiver(SECRET)
        self.sys = harness.System(workers=0, bccid_args=["--case_system_url", self.receiver.url],
                                  case_secret=SECRET)
        self.sys.worker_args = ["--case_system.secret_file", self.sys.case_secret_file]
        self.sys.import_codes()

    def tearDown(self):
        findings = self.sys.stop()
        self.receiver.stop()
        self.assertEqual(findings, [])

    def post(self, waybills, officer=OFFICER, token=True):
        return self.sys.request("POST", "/v1/receipts", {"waybills": waybills, "officer": officer}, token=token)

    def test_receipt_is_the_legal_submission_time(self):
        self.sys.start_worker()
        d = send_dossier(41)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        waybill = doc["shipments"][0]["waybill"]
        code = d["dossier_code"]
        self.assertEqual(self.sys.wait_all_status([code], "delivered", timeout=60), set())
        # the carrier's "delivered" is not the submission: the case system hears nothing yet
        time.sleep(1.5)
        self.assertEqual([n["TrangThaiHoSo"] for n in self.receiver.by_dossier().get(code, [])], [])

        # an agency-bound clerk of another agency cannot receive it
        other = self.sys.request("POST", "/v1/tokens", {"name": "desk-x", "role": "clerk",
                                                        "agency_code": "000.00.99.H99"})[1]["token"]
        st, err, _ = self.post([waybill], token=other)
        self.assertEqual(st, 404, err)
        clerk = self.sys.request("POST", "/v1/tokens", {"name": "desk", "role": "clerk",
                                                        "agency_code": d["agency"]["code"]})[1]["token"]
        st, rec, _ = self.post([waybill], officer=unicodedata.normalize("NFD", OFFICER), token=clerk)
        self.assertEqual(st, 201, rec)
        self.assertRegex(rec["id"], r"^TN-\d{8}-[A-Z2-7]{8}$")
        self.assertEqual(rec["officer"], OFFICER)
        self.assertEqual(rec["waybills"], [waybill])
        self.assertEqual(rec["agency_code"], d["agency"]["code"])

        # idempotent: the same receipt again, nothing new written
        st, again, _ = self.post([waybill], officer="Người khác", token=clerk)
        self.assertEqual(st, 200, again)
        self.assertEqual(again, rec)

        # the CLI: the same items again print the same receipt; its PDF downloads
        env = dict(os.environ, BCCI_URL=self.sys.url, BCCI_TOKEN=clerk)
        bcci = os.path.join(harness.BIN, "bcci")
        p = subprocess.run([bcci, "receipt", waybill, "--officer", OFFICER], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("receipt %s (1 items" % rec["id"], p.stdout)
        p = subprocess.run([bcci, "receipt", waybill], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("--officer", p.stderr)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "r.pdf")
            p = subprocess.run([bcci, "receipt", "pdf", rec["id"], "-o", out], env=env, capture_output=True,
                               text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out, "rb") as f:
                self.assertEqual(f.read(5), b"%PDF-")

        st, tl, _ = self.sys.timeline(code)
        legal = [e for e in tl["events"] if "thời điểm nộp hồ sơ hợp lệ" in e.get("text", "")]
        self.assertEqual(len(legal), 1, tl)
        self.assertIn(OFFICER, legal[0]["text"])
        self.assertEqual(legal[0]["source"], "clerk")
        self.assertEqual(legal[0]["status"], "delivered")
        self.assertEqual(self.sys.dossier(code)[1]["shipments"][0]["status"], "delivered")

        deadline = time.time() + 30
        while time.time() < deadline and not self.receiver.by_dossier().get(code):
            time.sleep(0.2)
        time.sleep(1.0)
        notes = self.receiver.by_dossier().get(code, [])
        self.assertEqual([n["TrangThaiHoSo"] for n in notes], ["2"], notes)
        self.assertRegex(notes[0]["NgayTiepNhan"], r"^\d{14}$")
        self.assertEqual(notes[0]["NgayTiepNhan"], notes[0]["ThoiDiemXuLy"])
        self.assertIn(OFFICER, notes[0]["NoiDungXuLy"])
        # in timeline order: the notification carries the head that includes the receipt event
        self.assertEqual(notes[0]["timeline_head"]["count"], len(tl["events"]))

        # the agency's biên bản
        st, pdf, hdrs = self.sys.request("GET", "/v1/receipts/%s.pdf" % rec["id"], token=clerk)
        self.assertEqual(st, 200)
        self.assertEqual(hdrs["Content-Type"], "application/pdf")
        with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
            f.write(pdf)
            f.flush()
            text = subprocess.run(["pdftotext", "-layout", f.name, "-"], capture_output=True, check=True).stdout.decode()
        text = re.sub(r"\s+", " ", text)
        self.assertIn(OFFICER, text)
        self.assertIn(waybill, text)
        self.assertIn(d["sender"]["name"], text)
        self.assertIn("CÁN BỘ TIẾP NHẬN", text)
        self.assertIn("Người gửi", text)
        st, err, _ = self.sys.request("GET", "/v1/receipts/%s.pdf" % rec["id"], token=other)
        self.assertEqual(st, 404, err)

    def test_refusals(self):
        # no worker: nothing is booked, every shipment stays "created"
        ret = harness.make_dossier(42)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", ret)
        self.assertEqual(st, 201, doc)
        ret_wb = doc["shipments"][0]["waybill"]
        st, err, _ = self.post([ret_wb])
        self.assertEqual((st, err["error"]["code"]), (422, "not_send_leg"), err)
        self.assertIn(ret_wb, err["error"]["message"])

        d = send_dossier(43)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        send_wb = doc["shipments"][0]["waybill"]
        st, err, _ = self.post([send_wb])
        self.assertEqual((st, err["error"]["code"]), (409, "not_arrived"), err)
        self.assertIn(send_wb, err["error"]["message"])

        st, err, _ = self.sys.request("POST", "/v1/receipts", {"waybills": [send_wb], "officer": "A", "x": 1})
        self.assertEqual((st, err["error"]["field"]), (400, "x"), err)
        st, err, _ = self.sys.request("POST", "/v1/receipts", {"waybills": [send_wb]})
        self.assertEqual((st, err["error"]["code"]), (422, "missing_field"), err)
        st, err, _ = self.post([send_wb], officer="Nguyễn\u202eVăn A")
        self.assertEqual((st, err["error"]["code"], err["error"]["field"]), (422, "invalid_field", "officer"), err)
        st, err, _ = self.post([send_wb], officer="")
        self.assertEqual((st, err["error"]["code"], err["error"]["field"]), (422, "invalid_field", "officer"), err)

        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/cancel" % send_wb, {})
        self.assertIn(st, (200, 202), doc)
        st, err, _ = self.post([send_wb])
        self.assertEqual((st, err["error"]["code"]), (409, "shipment_cancelled"), err)
        st, tl, _ = self.sys.timeline(d["dossier_code"])
        self.assertFalse([e for e in tl["events"] if "thời điểm nộp" in e.get("text", "")])
        st, err, _ = self.sys.request("GET", "/v1/receipts/TN-20260101-AAAAAAAA.pdf")
        self.assertEqual(st, 404, err)


if __name__ == "__main__":
    unittest.main()
