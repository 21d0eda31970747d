"""
test_cod - COD reconciled, with a real bccid and carrier simulator: dossiers delivered with
COD, the carrier's remittance statement imported (CSV, one line short, one unknown waybill),
the same statement again and a changed one, the COD report's flags and totals, and the CSV
files `bcci report cod` writes (per agency for a day; one reconciliation file, in Vietnamese,
for --from/--to/--out, with the same as XLSX).
"""
import csv
import os
import subprocess
import time
import unittest
import zipfile

import harness

COD = 30000


class CodReconciliationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sys = harness.System(workers=2)
        cls.sys.import_codes()

    @classmethod
    def tearDownClass(cls):
        findings = cls.sys.stop()
        if findings:
            raise AssertionError("process findings: %s" % findings)

    def report_with(self, waybills):
        """The day's report (and its date) holding every one of waybills, searched over the days the
        simulated carrier clock (which runs ahead) may have collected them."""
        deadline = time.time() + 60
        while time.time() < deadline:
            for k in range(0, 40):
                day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600 + k * 86400))
                st, rep, _ = self.sys.request("GET", "/v1/reports/cod?date=" + day)
                self.assertEqual(st, 200, rep)
                if set(waybills) <= {r["waybill"] for r in rep["rows"]}:
                    return day, rep
            time.sleep(0.5)
        self.fail("no COD report day holds %s" % waybills)

    def post_csv(self, carrier, sid, text):
        return self.sys.request("POST", "/v1/remittances?carrier=%s&statement_id=%s" % (carrier, sid),
                                raw=text.encode("utf-8"), content_type="text/csv")

    def test_statement_reconciled_in_the_report(self):
        codes, waybills = [], []
        for seq in (501, 502, 503):
            d = harness.make_dossier(seq)
            d["cod_amount"] = COD
            st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
            self.assertEqual(st, 201, doc)
            codes.append(d["dossier_code"])
            waybills.append(doc["shipments"][0]["waybill"])
        self.assertEqual(self.sys.wait_all_status(codes, "delivered", timeout=90), set())
        day, rep = self.report_with(waybills)
        st, dossier, _ = self.sys.dossier(codes[0])
        carrier = dossier["shipments"][0]["carrier"]
        when = day + "T17:00:00+07:00"
        # the first paid in full, the second short by 5000, the third absent, one waybill nobody sent
        text = ("waybill,amount,remitted_at\r\n%s,%d,%s\r\n%s,%d,%s\r\nRR999999995VN,9000,%s\r\n"
                % (waybills[0], COD, when, waybills[1], COD - 5000, when, when))
        st, res, _ = self.post_csv(carrier, "ST-" + day, text)
        self.assertEqual(st, 201, res)
        self.assertEqual((res["lines"], res["unknown_waybills"], res["created"]), (3, 1, True))
        # the same statement again (as JSON this time): recognised, nothing stored twice
        lines = [{"waybill": waybills[0], "amount": COD, "remitted_at": when},
                 {"waybill": waybills[1], "amount": COD - 5000, "remitted_at": when},
                 {"waybill": "RR999999995VN", "amount": 9000, "remitted_at": when}]
        body = {"carrier": carrier, "statement_id": "ST-" + day, "lines": lines}
        st, res, _ = self.sys.request("POST", "/v1/remittances", body)
        self.assertEqual((st, res["created"]), (200, False), res)
        # other lines under the same id: refused
        body["lines"] = lines[:1]
        st, err, _ = self.sys.request("POST", "/v1/remittances", body)
        self.assertEqual((st, err["error"]["code"]), (409, "statement_conflict"), err)
        # a bad line is named, with the CSV line number
        st, err, _ = self.post_csv(carrier, "ST-bad", "waybill,amount,remitted_at\n%s,abc,%s\n" % (waybills[0], when))
        self.assertEqual((st, err["error"]["field"]), (422, "lines[0].amount"), err)
        self.assertIn("line 2", err["error"]["message"])
        st, err, _ = self.sys.request("POST", "/v1/remittances",
                                      {"carrier": carrier, "statement_id": "ST-x",
                                       "lines": [dict(lines[0], fee=1)]})
        self.assertEqual((st, err["error"]["code"]), (400, "unknown_field"), err)

        _, rep = self.report_with(waybills)
        rows = {r["waybill"]: r for r in rep["rows"]}
        got = [(rows[w]["expected"], rows[w]["collected"], rows[w]["remitted"], rows[w]["flags"]) for w in waybills]
        self.assertEqual(got, [(COD, COD, COD, []), (COD, COD, COD - 5000, ["remitted_mismatch"]),
                               (COD, COD, 0, [])])
        self.assertEqual(rep["flags_total"]["remitted_mismatch"], 1)
        self.assertEqual(rep["flags_total"]["remitted_unknown_waybill"], 1)
        self.assertEqual([(u["waybill"], u["amount"]) for u in rep["remitted_unknown_waybills"]],
                         [("RR999999995VN", 9000)])
        self.assertEqual(rep["not_remitted_after_days"], 7)

        # the command line writes the reconciled rows as CSV, creating its directory
        out = os.path.join(self.sys.dir, "reports", "cod")
        os.makedirs(out)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BCCI_")}
        env.update({"BCCI_URL": self.sys.url, "BCCI_TOKEN": self.sys.admin_token, "HOME": self.sys.dir})
        p = subprocess.run([os.path.join(harness.BIN, "bcci"), "report", "cod", "--date", day, "-o", out],
                           env=env, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        files = sorted(os.listdir(out))
        self.assertEqual(len(files), 1, files)
        with open(os.path.join(out, files[0]), encoding="utf-8", newline="") as f:
            got = {r["waybill"]: r for r in csv.DictReader(f)}
        self.assertEqual(got[waybills[1]]["remitted"], str(COD - 5000))
        self.assertIn("remitted_mismatch", got[waybills[1]]["flags"])

        # --from/--to/--out: one file of the days, its directory created, headers in Vietnamese
        out = os.path.join(self.sys.dir, "ke-toan", "thang-11")
        p = subprocess.run([os.path.join(harness.BIN, "bcci"), "report", "cod", "--from", day, "--to", day,
                            "--out", out], env=env, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(out, "cod-%s-%s.csv" % (day, day)), encoding="utf-8", newline="") as f:
            table = list(csv.DictReader(f))
        by = {r["Số hiệu bưu gửi"]: r for r in table}
        self.assertEqual(set(waybills) | {"RR999999995VN"}, set(by))
        short = by[waybills[1]]
        self.assertEqual((short["Số tiền phải thu"], short["Số tiền đã thu"], short["Số tiền đã chuyển trả"]),
                         (str(COD), str(COD), str(COD - 5000)))
        self.assertEqual(short["Cảnh báo"], "Số tiền chuyển trả khác số tiền đã thu")
        self.assertEqual(by[waybills[0]]["Cảnh báo"], "")
        self.assertEqual((by["RR999999995VN"]["Số tiền đã chuyển trả"], by["RR999999995VN"]["Cảnh báo"]),
                         ("9000", "Bưu gửi không có trong hệ thống"))
        # the same table as a workbook: its strings hold the Vietnamese headers and the warning
        with zipfile.ZipFile(os.path.join(out, "cod-%s-%s.xlsx" % (day, day))) as z:
            strings = z.read("xl/sharedStrings.xml").decode("utf-8")
            sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
        for text in ("Số tiền đã chuyển trả", "Số tiền chuyển trả khác số tiền đã thu", waybills[1]):
            self.assertIn(text, strings)
        self.assertIn("<v>%d</v>" % (COD - 5000), sheet, "amounts are numbers in the sheet")
        p = subprocess.run([os.path.join(harness.BIN, "bcci"), "report", "cod", "--from", day, "--out", out],
                           env=env, capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 2, "--to is needed with --from")


if __name__ == "__main__":
    unittest.main()
