"""Bad input gets a clear error and changes nothing (issue 1/6)."""
import copy
import unittest

import harness


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.sys = harness.System(workers=0, with_sim=False)
        cls.sys.import_codes(count=1000)
        cls.good = harness.make_dossier(1)
        st, _, _ = cls.sys.request("POST", "/v1/dossiers", cls.good)
        assert st == 201

    @classmethod
    def tearDownClass(cls):
        findings = cls.sys.stop()
        assert findings == [], "sanitizer reports:\n" + "\n".join(findings)

    def assert_refused(self, want_status, want_code, method="POST", path="/v1/dossiers", body=None, raw=None,
                       content_type="application/json", want_field=None):
        before = self.sys.db_counts()
        st, doc, hdrs = self.sys.request(method, path, body=body, raw=raw, content_type=content_type)
        self.assertEqual(st, want_status, "got %s %s, want %s" % (st, doc, want_status))
        self.assertIsInstance(doc, dict, "error body must be JSON, got %r" % (doc,))
        self.assertEqual(doc["error"]["code"], want_code, doc)
        self.assertTrue(doc["error"]["message"], "the error says what was wrong")
        if want_field:
            self.assertEqual(doc["error"].get("field"), want_field, doc)
        self.assertEqual(self.sys.db_counts(), before, "a refused request changed the database")
        return doc

    def variant(self, seq, mutate):
        d = harness.make_dossier(seq)
        mutate(d)
        return d

    def test_malformed_json(self):
        self.assert_refused(400, "invalid_json", raw=b'{"dossier_code": "000.00.31.H23-231124-0001",')
        self.assert_refused(400, "invalid_json", raw=b"[1, 2, 3]")
        self.assert_refused(400, "invalid_json", raw=b'{"a":' * 50 + b"1" + b"}" * 50)
        self.assert_refused(400, "invalid_json", raw=b'{"note": "\xff\xfe invalid utf-8"}')

    def test_missing_and_wrong_fields(self):
        cases = [
            (lambda d: d.pop("recipient"), "missing_field", "recipient"),
            (lambda d: d["recipient"].pop("phone"), "missing_field", "recipient.phone"),
            (lambda d: d.__setitem__("dossier_code", "000.00.31.H23-231324-0001"), "invalid_field", "dossier_code"),
            (lambda d: d.__setitem__("dossier_code", "not-a-code"), "invalid_field", "dossier_code"),
            (lambda d: d["recipient"].__setitem__("phone", "0123"), "invalid_field", "recipient.phone"),
            (lambda d: d["recipient"].__setitem__("province_code", "27"), "invalid_field", "recipient.province_code"),
            (lambda d: d["recipient"].__setitem__("commune_code", "1234"), "invalid_field", "recipient.commune_code"),
            # an official code only, and in the province given (QĐ 19/2025)
            (lambda d: d["recipient"].__setitem__("commune_code", "99999"), "invalid_field", "recipient.commune_code"),
            (lambda d: d["recipient"].update(province_code="01", commune_code="26929"), "invalid_field",
             "recipient.commune_code"),
            (lambda d: d["agency"].__setitem__("commune_code", "00009"), "invalid_field", "agency.commune_code"),
            (lambda d: d.__setitem__("cod_amount", -1), "invalid_field", "cod_amount"),
            (lambda d: d.__setitem__("cod_amount", 1.5), "invalid_field", "cod_amount"),
            (lambda d: d.__setitem__("cod_amount", "50000"), "invalid_field", "cod_amount"),
            (lambda d: d["recipient"].__setitem__("name", "x" * 101), "invalid_field", "recipient.name"),
            (lambda d: d["recipient"].__setitem__("address", "a\u0001b"), "invalid_field", "recipient.address"),
            (lambda d: d.__setitem__("service", "teleport"), "invalid_field", "service"),
            (lambda d: d.__setitem__("surprise", 1), "unknown_field", "surprise"),
            (lambda d: d.__setitem__("carrier", "pigeon"), "unknown_carrier", "carrier"),
        ]
        for i, (mutate, code, field) in enumerate(cases):
            with self.subTest(field=field, code=code):
                self.assert_refused(422, code, body=self.variant(100 + i, mutate), want_field=field)

    def test_body_too_large(self):
        d = harness.make_dossier(200)
        d["note"] = "x" * 300000
        self.assert_refused(413, "body_too_large", body=d)

    def test_wrong_content_type(self):
        self.assert_refused(415, "unsupported_media_type", body=harness.make_dossier(201), content_type="text/plain")

    def test_duplicate_with_different_body(self):
        changed = copy.deepcopy(self.good)
        changed["recipient"]["address"] += " (sửa)"
        self.assert_refused(409, "conflict", body=changed)

    def test_unknown_route_and_dossier(self):
        self.assert_refused(404, "not_found", method="GET", path="/v1/nothing-here")
        self.assert_refused(404, "not_found", method="GET", path="/v1/dossiers/000.00.31.H23-231124-9999")
        self.assert_refused(404, "not_found", method="GET", path="/v1/dossiers/000.00.31.H23-231124-9999/timeline")
        self.assert_refused(405, "method_not_allowed", method="DELETE", path="/v1/dossiers")

    def test_wrong_s10_check_digit(self):
        doc = self.assert_refused(400, "invalid_waybill", method="GET", path="/v1/shipments/RR100000004VN")
        self.assertIn("check digit", doc["error"]["message"])
        self.assert_refused(404, "not_found", method="GET", path="/v1/shipments/RR000000014VN")
        event = [{"originalId": "X", "itemCode": "RR100000004VN", "status": "14",
                  "statusDate": "24/11/2025 10:00:00", "statusName": "Phát thành công", "reason": ""}]
        self.assert_refused(400, "invalid_waybill", path="/v1/carriers/vnpost/events", body=event)

    def test_webhook_for_unknown_order(self):
        event = [{"originalId": "NOPE", "itemCode": "RR000000014VN", "status": "14",
                  "statusDate": "24/11/2025 10:00:00", "statusName": "Phát thành công", "reason": ""}]
        self.assert_refused(404, "unknown_shipment", path="/v1/carriers/vnpost/events", body=event)
        self.assert_refused(404, "unknown_carrier", path="/v1/carriers/pigeon/events", body=event)
        self.assert_refused(400, "invalid_body", path="/v1/carriers/vnpost/events", raw=b'{"not": "a list"}')

    def test_code_import_errors(self):
        self.assert_refused(422, "invalid_field", path="/v1/codes", body={"prefix": "R1", "from": 1, "count": 5},
                            want_field="prefix")
        self.assert_refused(422, "invalid_field", path="/v1/codes", body={"prefix": "RR", "from": 99999999,
                                                                          "count": 5}, want_field="count")
        self.assert_refused(409, "conflict", path="/v1/codes", body={"prefix": "RR", "from": 10000500,
                                                                      "count": 10})


class EmptyPoolTest(unittest.TestCase):
    def test_empty_pool_is_503_with_instructions(self):
        sys = harness.System(workers=0, with_sim=False)
        try:
            before = sys.db_counts()
            st, doc, hdrs = sys.request("POST", "/v1/dossiers", harness.make_dossier(1))
            self.assertEqual(st, 503, doc)
            self.assertEqual(doc["error"]["code"], "code_pool_empty")
            self.assertIn("/v1/codes", doc["error"]["message"])
            self.assertIn("Retry-After", hdrs)
            self.assertEqual(sys.db_counts(), before)
            sys.import_codes(count=2)
            st1, _, _ = sys.request("POST", "/v1/dossiers", harness.make_dossier(2))
            st2, _, _ = sys.request("POST", "/v1/dossiers", harness.make_dossier(3))
            st3, _, _ = sys.request("POST", "/v1/dossiers", harness.make_dossier(4))
            self.assertEqual((st1, st2, st3), (201, 201, 503), "two numbers serve two dossiers, never reused")
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])


if __name__ == "__main__":
    unittest.main()
