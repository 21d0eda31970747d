"""The whole life of a shipment: case-system sync, cancel, duplicate and out-of-order events (issue 3/6)."""
import json
import os
import time
import unittest

import casesys
import harness

SECRET = b"case-system-shared-secret-for-tests"


def vnpost_event(waybill, code, when, event_id=None, name="", reason=""):
    e = {"originalId": "VNPX" + waybill, "itemCode": waybill, "status": str(code),
         "statusDate": time.strftime("%d/%m/%Y %H:%M:%S", time.gmtime(when + 7 * 3600)),
         "statusName": name or "code %s" % code, "reason": reason}
    if event_id:
        e["eventId"] = event_id
    return e


class CaseSystemSyncTest(unittest.TestCase):
    def setUp(self):
        self.receiver = casesys.Receiver(SECRET)
        self.sys = None

    def tearDown(self):
        findings = self.sys.stop() if self.sys else []
        self.receiver.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def start(self, workers=2, **kw):
        self.sys = harness.System(workers=0, bccid_args=["--case_system_url", self.receiver.url],
                                  case_secret=SECRET, **kw)
        self.sys.worker_args = ["--case_system.secret_file", self.sys.case_secret_file]
        for _ in range(workers):
            self.sys.start_worker()
        self.sys.import_codes()

    def test_notifications_signed_once_and_in_order_through_an_outage(self):
        self.receiver.fail_until = time.time() + 6  # the case system answers 500 for 6 s
        self.start()
        dossiers = [harness.make_dossier(i) for i in range(1, 21)]
        self.sys.submit_many(dossiers)
        codes = [d["dossier_code"] for d in dossiers]
        self.assertEqual(self.sys.wait_all_status(codes, "delivered", timeout=120), set())
        deadline = time.time() + 90
        while time.time() < deadline and sum(len(v) for v in self.receiver.by_dossier().values()) < 2 * len(codes):
            time.sleep(0.3)
        got = self.receiver.by_dossier()
        print("\n  case system: %d attempts, %d accepted, %d bad signatures"
              % (self.receiver.attempts, len(self.receiver.accepted), self.receiver.bad_signatures))
        self.assertEqual(self.receiver.bad_signatures, 0)
        for code in codes:
            seq = [(n["TrangThaiHoSo"], n["status"]) for n in got.get(code, [])]
            self.assertEqual(seq, [("9", "booked"), ("10", "delivered")], "notifications of %s" % code)
            st, tl, _ = self.sys.timeline(code)
            hash_of = {e["seq"]: e["hash"] for e in tl["events"]}
            for n in got[code]:
                self.assertEqual(len(n["ThoiDiemXuLy"]), 14)
                self.assertTrue(n["NoiDungXuLy"])
                self.assertEqual(n["waybill"][-2:], "VN")
                # the sealed head travels with every notification: the event it names, as recorded
                head = n["timeline_head"]
                self.assertEqual(hash_of.get(head["count"]), head["hash"],
                                 "timeline_head %s of %s names no recorded event" % (head, code))
        self.assertGreater(self.receiver.attempts, len(self.receiver.accepted), "the outage caused retries")
        st, doc, _ = self.sys.request("GET", "/v1/jobs?state=dead")
        self.assertEqual(doc["jobs"], [])


class CancelTest(unittest.TestCase):
    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def test_cancel_before_booking_is_immediate(self):
        self.sys = harness.System(workers=0, with_sim=False)
        self.sys.import_codes()
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", harness.make_dossier(1))
        waybill = doc["shipments"][0]["waybill"]
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/cancel" % waybill, {})
        self.assertEqual((st, doc["status"]), (200, "cancelled"))
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/cancel" % waybill, {})
        self.assertEqual((st, doc["status"]), (200, "cancelled"), "cancel is idempotent")
        st, doc, _ = self.sys.request("GET", "/v1/jobs")
        self.assertEqual(doc["counts"]["book"].get("ready", 0), 0, "the booking was withdrawn")

    def test_cancel_booked_then_refused_after_pickup(self):
        # a slow carrier clock: the order stays 'booked' for a long while
        self.sys = harness.System(workers=1, clock_speed=1, step_seconds=3600)
        self.sys.import_codes()
        d1, d2 = harness.make_dossier(1), harness.make_dossier(2)
        st, doc1, _ = self.sys.request("POST", "/v1/dossiers", d1)
        self.assertEqual(self.sys.wait_all_status([d1["dossier_code"]], "booked", timeout=30), set())
        w1 = doc1["shipments"][0]["waybill"]
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/cancel" % w1, {})
        self.assertEqual((st, doc["status"]), (202, "cancel_requested"))
        self.assertEqual(self.sys.wait_all_status([d1["dossier_code"]], "cancelled", timeout=30), set())
        self.assertEqual(self.sys.sim_stats()["requests"]["orderCancel"], 1)
        # after pick-up (a carrier event says accepted): refused, nothing changes
        st, doc2, _ = self.sys.request("POST", "/v1/dossiers", d2)
        w2 = doc2["shipments"][0]["waybill"]
        self.assertEqual(self.sys.wait_all_status([d2["dossier_code"]], "booked", timeout=30), set())
        ev = [vnpost_event(w2, 6, time.time(), "pickup-" + w2, "Bưu tá đã nhận hàng")]
        st, rep, _ = self.sys.request("POST", "/v1/carriers/vnpost/events", ev, token=self.sys.carrier_token)
        self.assertEqual(st, 200, rep)
        before = self.sys.db_counts()
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/cancel" % w2, {})
        self.assertEqual((st, doc["error"]["code"]), (409, "already_picked_up"))
        self.assertEqual(self.sys.db_counts(), before)


class OrderFieldsTest(unittest.TestCase):
    """What the postman must know reaches the carrier order (weight, authorised person, note,
    documents to take back), and a proof of delivery that does not match the dossier is flagged."""

    def setUp(self):
        # a slow carrier clock: the orders stay booked, the test delivers them itself
        self.sys = harness.System(workers=1, clock_speed=1, step_seconds=3600)
        self.sys.import_codes()

    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def submit(self, seq):
        d = harness.make_dossier(seq)
        d["authorised_person"] = {"name": "Trần Văn Bình", "relation": "Chồng", "id_number": "001099001234"}
        d["take_back"] = [{"name": "Giấy hẹn trả kết quả"}, {"name": "Biên lai thu phí"}]
        d["note"] = "Gọi trước 30 phút"
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        self.assertEqual(self.sys.wait_all_status([d["dossier_code"]], "booked", timeout=30), set())
        return d["dossier_code"], doc["shipments"][0]["waybill"]

    def deliver(self, waybill, relation, id_number, event="pod"):
        ev = vnpost_event(waybill, 14, time.time(), event + waybill, "Phát thành công")
        ev.update({"receiverName": "Trần Văn Bình", "receiverRelation": relation, "receiverIdType": "CCCD",
                   "receiverIdNumber": id_number})
        st, rep, _ = self.sys.request("POST", "/v1/carriers/vnpost/events", [ev], token=self.sys.carrier_token)
        self.assertEqual((st, rep["applied"]), (200, 1), rep)

    def problems(self):
        st, doc, _ = self.sys.request("GET", "/v1/clerk/shipments?state=problems")
        self.assertEqual(st, 200, doc)
        return {r["waybill"]: r for r in doc["shipments"]}

    def test_order_fields_and_proof_mismatch(self):
        code, w = self.submit(21)
        order = self.sys.sim_stats()["by_sale_order"][code]
        self.assertEqual(order["weight"], 200)
        self.assertIn("Người được ủy quyền nhận: Trần Văn Bình (Chồng)", order["instruction"])
        self.assertIn("Thu hồi: Giấy hẹn trả kết quả; Biên lai thu phí", order["instruction"])
        self.assertIn("Ghi chú: Gọi trước 30 phút", order["instruction"])
        self.assertNotIn("001099001234", order["instruction"], "no ID number goes to the carrier")
        # handed to "the authorised person" showing another ID: flagged on the timeline and the problem list
        self.deliver(w, "authorised", "001099009999")
        st, tl, _ = self.sys.timeline(code)
        flagged = [e for e in tl["events"] if e["details"].get("kind") == "proof_mismatch"]
        self.assertEqual(len(flagged), 1, tl["events"])
        self.assertIn("Người nhận không khớp", flagged[0]["text"])
        self.assertEqual(flagged[0]["details"]["id_last4"], "9999")
        self.assertIn(w, self.problems())
        # the carrier reports the same delivery again (another event): flagged once
        self.deliver(w, "authorised", "001099009999", event="pod-again-")
        st, tl, _ = self.sys.timeline(code)
        self.assertEqual(sum(e["details"].get("kind") == "proof_mismatch" for e in tl["events"]), 1)
        # the right authorised person: nothing to flag
        code2, w2 = self.submit(22)
        self.deliver(w2, "authorised", "001099001234")
        st, tl, _ = self.sys.timeline(code2)
        self.assertEqual([e for e in tl["events"] if e["details"].get("kind") == "proof_mismatch"], [])
        self.assertNotIn(w2, self.problems())


    def test_pickup_window_goes_to_the_carrier(self):
        d = send_dossier(23)
        d["pickup"] = {"date": "2026-12-03", "from": "08:00", "to": "11:30"}
        bad = dict(d, pickup={"date": "2026-12-03", "from": "11:30", "to": "08:00"})
        st, err, _ = self.sys.request("POST", "/v1/dossiers", bad)
        self.assertEqual((st, err["error"]["field"]), (422, "pickup.to"), err)
        bad = dict(d, pickup={"date": "2026-02-30", "from": "08:00", "to": "11:30"})
        st, err, _ = self.sys.request("POST", "/v1/dossiers", bad)
        self.assertEqual((st, err["error"]["field"]), (422, "pickup.date"), err)
        ret = dict(harness.make_dossier(24), pickup=d["pickup"])
        st, err, _ = self.sys.request("POST", "/v1/dossiers", ret)
        self.assertEqual((st, err["error"]["field"]), (422, "pickup"), err)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        self.assertEqual(self.sys.wait_all_status([d["dossier_code"]], "pickup_pending", timeout=30), set())
        order = self.sys.sim_stats()["by_sale_order"][d["dossier_code"]]
        self.assertEqual(order["pickup"], "2026-12-03 08:00-11:30", "GTG026 carries the citizen's window")


class CarrierEventsTest(unittest.TestCase):
    def setUp(self):
        self.sys = harness.System(workers=0, with_sim=False)
        self.sys.import_codes()
        self.carrier = self.sys.token("vnpost-test", "carrier")
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", harness.make_dossier(1))
        self.code = harness.make_dossier(1)["dossier_code"]
        self.waybill = doc["shipments"][0]["waybill"]

    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [])

    def post(self, events, token=None):
        return self.sys.request("POST", "/v1/carriers/vnpost/events", events, token=token or self.carrier)

    def status(self):
        return self.sys.dossier(self.code)[1]["status"]

    def test_duplicates_out_of_order_and_terminal(self):
        t0 = time.time()
        late = vnpost_event(self.waybill, 12, t0 + 3600, "e12", "Đang phát")
        early = vnpost_event(self.waybill, 10, t0 + 1800, "e10", "Đang vận chuyển")
        st, rep, _ = self.post([late])
        self.assertEqual((st, rep["applied"], rep["status_changes"]), (200, 1, 1))
        st, rep, _ = self.post([early])
        self.assertEqual((st, rep["applied"], rep["status_changes"]), (200, 1, 0), "older event: timeline only")
        self.assertEqual(self.status(), "out_for_delivery")
        st, rep, _ = self.post([late])
        self.assertEqual((rep["applied"], rep["duplicates"]), (0, 1))
        # the same content without an event id is deduplicated by its hash
        anon = vnpost_event(self.waybill, 11, t0 + 2000, None, "Đến bưu cục")
        self.post([anon])
        st, rep, _ = self.post([anon])
        self.assertEqual(rep["duplicates"], 1)
        # terminal never moves backwards
        self.post([vnpost_event(self.waybill, 14, t0 + 7200, "e14", "Phát thành công")])
        st, rep, _ = self.post([vnpost_event(self.waybill, 12, t0 + 9000, "e12b", "Đang phát")])
        self.assertEqual((rep["applied"], rep["status_changes"]), (1, 0))
        self.assertEqual(self.status(), "delivered")
        st, tl, _ = self.sys.timeline(self.code)
        times = [e["time_ms"] for e in tl["events"]]
        self.assertEqual(times, sorted(times), "timeline in carrier-time order")
        self.assertTrue(tl["chain_valid"])
        last = tl["events"][-1]
        self.assertIn("final", last["details"].get("note", ""))

    def test_unknown_code_is_kept_as_a_note(self):
        st, rep, _ = self.post([vnpost_event(self.waybill, 99, time.time(), "x99", "Mã lạ")])
        self.assertEqual((st, rep["unknown_codes"], rep["status_changes"]), (200, 1, 0))
        st, tl, _ = self.sys.timeline(self.code)
        notes = [e for e in tl["events"] if e.get("raw_code") == "99"]
        self.assertEqual(len(notes), 1)
        self.assertNotIn("status", notes[0], "an unknown code changes no status")
        self.assertEqual(self.status(), "created")

    def test_details_survive_quotes_and_long_reasons(self):
        # details used to be JSON text spliced by snprintf: a quote in the receiver's ID or a
        # reason long once escaped made them invalid or cut, and the API then showed {}
        t0 = time.time()
        reason = 'Người nhận vắng nhà, hẹn lại ' + '"\\' * 100  # twice as long once escaped
        failed = vnpost_event(self.waybill, 15, t0 + 600, "f1", '"' * 150, reason=reason)
        delivered = vnpost_event(self.waybill, 14, t0 + 1200, "d1", "Phát thành công")
        delivered.update({"receiverName": "Trần Thị B", "receiverRelation": "self", "receiverIdType": "CCCD",
                          "receiverIdNumber": '12345"ab'})
        st, rep, _ = self.post([failed, delivered])
        self.assertEqual((st, rep["applied"]), (200, 2), rep)
        st, tl, _ = self.sys.timeline(self.code)
        self.assertTrue(tl["chain_valid"], tl.get("chain_error"))
        by_id = {e["details"].get("event_id"): e for e in tl["events"]}
        self.assertIn("f1", by_id, "the failed attempt's details were lost: %s" % [e["details"] for e in tl["events"]])
        got = by_id["f1"]["details"].get("reason", "")
        self.assertEqual(got, reason)
        self.assertIn("d1", by_id, "the delivery's details were lost: %s" % [e["details"] for e in tl["events"]])
        proof = by_id["d1"]["details"].get("proof")
        self.assertIsNotNone(proof, "got details %s, want a proof" % by_id["d1"]["details"])
        self.assertEqual(proof["relation"], "self")
        self.assertNotIn("id_last4", proof, "a tail that is not four digits is not kept")
        self.assertIn("note", proof)

    def test_roles_on_the_webhook(self):
        ev = [vnpost_event(self.waybill, 10, time.time(), "r1")]
        self.assertEqual(self.post(ev, token=self.sys.token("clerk1", "clerk"))[0], 403)
        st, _, _ = self.sys.request("POST", "/v1/carriers/vnpost/events", ev, token=None)
        self.assertEqual(st, 401)


if __name__ == "__main__":
    unittest.main()


def send_dossier(seq, service="send"):
    """A collection-leg submission: the citizen is the sender."""
    d = harness.make_dossier(seq)
    d["service"] = service
    d["sender"] = dict(d["recipient"], id_number="001203004567")
    if service == "send":
        d.pop("recipient")
        d.pop("result")
        d["documents"] = [{"name": "Tờ khai đăng ký khai sinh", "original": True}]
    return d


class LegsTest(unittest.TestCase):
    def setUp(self):
        self.receiver = casesys.Receiver(SECRET)
        self.sys = harness.System(workers=0, bccid_args=["--case_system_url", self.receiver.url],
                                  case_secret=SECRET)
        self.sys.worker_args = ["--case_system.secret_file", self.sys.case_secret_file]
        self.sys.start_worker()
        self.sys.import_codes()

    def tearDown(self):
        findings = self.sys.stop()
        self.receiver.stop()
        self.assertEqual(findings, [])

    def test_send_leg_collects_from_the_citizen_and_reports_the_submission_time(self):
        d = send_dossier(1)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        self.assertEqual(doc["shipments"][0]["leg"], "send")
        code = d["dossier_code"]
        self.assertEqual(self.sys.wait_all_status([code], "delivered", timeout=60), set())
        st, tl, _ = self.sys.timeline(code)
        path = [e["status"] for e in tl["events"] if "status" in e]
        self.assertEqual(path[:2], ["created", "pickup_pending"], path)
        self.assertIn("accepted", path)
        # the order went citizen -> agency, with the pick-up add-on
        by_order = self.sys.sim_stats()["by_sale_order"][code]
        self.assertEqual(by_order["orders"], 1)
        # the carrier's delivery is not the submission: the officer's receipt at the desk is
        st, rec, _ = self.sys.request("POST", "/v1/receipts", {"waybills": [doc["shipments"][0]["waybill"]],
                                                               "officer": "Nguyễn Văn A"})
        self.assertEqual(st, 201, rec)
        deadline = time.time() + 30
        while time.time() < deadline and not self.receiver.by_dossier().get(code):
            time.sleep(0.2)
        notes = self.receiver.by_dossier().get(code, [])
        self.assertEqual([n["TrangThaiHoSo"] for n in notes], ["2"], "received at the agency = legal submission")
        self.assertIn("thời điểm nộp hồ sơ", notes[0]["NoiDungXuLy"])

    def receive(self, waybill):
        st, rec, _ = self.sys.request("POST", "/v1/receipts", {"waybills": [waybill], "officer": "Nguyễn Văn A"})
        self.assertEqual(st, 201, rec)

    def test_pickup_fee_is_collected_on_the_send_leg_apart_from_cod(self):
        d = send_dossier(9, service="both")
        d["cod_amount"] = 25000   # the return leg's, collected on delivery of the result
        d["pickup_fee"] = 10000   # collected from the citizen when the postman takes the dossier
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        code, w = d["dossier_code"], doc["shipments"][0]["waybill"]
        self.assertEqual(doc["shipments"][0]["cod_amount"], 10000, "the send leg collects the pick-up fee")
        self.assertEqual(self.sys.wait_all_status([code], "delivered", timeout=60), set())
        order = self.sys.sim_stats()["by_sale_order"][code]
        self.assertEqual(order["pickup_fee"], 10000)
        ret = dict(harness.make_dossier(10), pickup_fee=5000)
        st, err, _ = self.sys.request("POST", "/v1/dossiers", ret)
        self.assertEqual((st, err["error"]["field"]), (422, "pickup_fee"), err)
        deadline = time.time() + 30
        rows = []
        while time.time() < deadline and not rows:
            day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600))
            # the simulated carrier clock runs ahead: look at the next days too
            for k in range(0, 40):
                day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 3600 + k * 86400))
                st, rep, _ = self.sys.request("GET", "/v1/reports/cod?date=" + day)
                self.assertEqual(st, 200, rep)
                rows = [r for r in rep["rows"] if r["waybill"] == w]
                if rows:
                    break
            time.sleep(0.3)
        self.assertEqual([(r["kind"], r["amount"]) for r in rows], [("pickup_fee", 10000)])
        self.assertEqual((rep["pickup_fees_total"], rep["total"]), (10000, 0), "apart from COD")

    def test_both_links_the_return_leg_to_the_collection_leg_after_its_receipt(self):
        d = send_dossier(2, service="both")
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        send_waybill = doc["shipments"][0]["waybill"]
        code = d["dossier_code"]
        # the return submission itself waits for the receipt at the agency, like the result route
        ret = harness.make_dossier(2)
        # the carrier's events of the send leg first, so the counts below see only the refusal
        self.assertEqual(self.sys.wait_all_status([code], "delivered", timeout=60), set())
        before = self.sys.db_counts()
        st, err, _ = self.sys.request("POST", "/v1/dossiers", ret)
        self.assertEqual((st, err["error"]["code"]), (409, "send_leg_not_received"), err)
        self.assertIn(send_waybill, err["error"]["message"])
        self.assertEqual(self.sys.db_counts(), before, "a refused return leg writes nothing")
        self.receive(send_waybill)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", ret)
        self.assertEqual(st, 201, doc)
        st, dossier, _ = self.sys.dossier(code)
        legs = {s["leg"]: s for s in dossier["shipments"]}
        self.assertEqual(set(legs), {"send", "return"})
        self.assertEqual(legs["return"]["linked_waybill"], send_waybill)

    def test_both_result_ready_books_the_return_leg_after_the_receipt_in_order(self):
        """POST /v1/dossiers/{code}/result: refused before the collection leg's receipt, then the
        return leg is booked from the 'both' submission and the result, and the case system hears
        2 (received, with NgayTiepNhan), 9 (booked), 10 (delivered) in that order."""
        d = send_dossier(5, service="both")
        d["result"] = {"summary": "Dự kiến: giấy khai sinh"}
        code = d["dossier_code"]
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        send_waybill = doc["shipments"][0]["waybill"]
        result = {"summary": "Giấy khai sinh bản chính và 02 bản sao",
                  "documents": [{"name": "Giấy khai sinh", "original": True}]}
        path = "/v1/dossiers/%s/result" % code
        # validated: unknown fields and a missing summary are refused by name
        st, err, _ = self.sys.request("POST", path, dict(result, signed_by="x"))
        self.assertEqual((st, err["error"]["code"], err["error"]["field"]), (422, "unknown_field", "signed_by"))
        st, err, _ = self.sys.request("POST", path, {"documents": []})
        self.assertEqual((st, err["error"]["code"], err["error"]["field"]), (422, "missing_field", "summary"))
        # before the receipt: held back with a clear reason, nothing written (the carrier's events
        # of the send leg first, so the counts see only the refusal)
        self.assertEqual(self.sys.wait_all_status([code], "delivered", timeout=60), set())
        before = self.sys.db_counts()
        st, err, _ = self.sys.request("POST", path, result)
        self.assertEqual((st, err["error"]["code"]), (409, "send_leg_not_received"), err)
        self.assertIn("POST /v1/receipts", err["error"]["message"])
        self.assertEqual(self.sys.db_counts(), before)
        # agency scope, as for the other dossier routes: another agency's case system sees no such dossier
        st, tok, _ = self.sys.request("POST", "/v1/tokens", {"name": "cs-other", "role": "case_system",
                                                             "agency_code": "000.00.99.H99"})
        self.assertEqual(st, 201, tok)
        st, err, _ = self.sys.request("POST", path, result, token=tok["token"])
        self.assertEqual(st, 404, err)
        st, err, _ = self.sys.request("POST", path, result, token=self.sys.token("clerk-r", "clerk"))
        self.assertEqual(st, 403, err)
        self.receive(send_waybill)
        st, made, _ = self.sys.request("POST", path, result)
        self.assertEqual(st, 201, made)
        self.assertEqual(made["shipments"][0]["leg"], "return")
        ret_waybill = made["shipments"][0]["waybill"]
        self.assertNotEqual(ret_waybill, send_waybill)
        # the same result again is a replay; another one conflicts
        st, again, _ = self.sys.request("POST", path, result)
        self.assertEqual(st, 200, again)
        st, err, _ = self.sys.request("POST", path, {"summary": "Kết quả khác"})
        self.assertEqual((st, err["error"]["code"]), (409, "conflict"), err)
        # the order went agency -> the recipient of the 'both' submission, with the result's summary
        deadline = time.time() + 60
        while time.time() < deadline:
            st, dossier, _ = self.sys.dossier(code)
            if {s["leg"]: s["status"] for s in dossier["shipments"]}.get("return") == "delivered":
                break
            time.sleep(0.3)
        self.assertEqual({s["leg"]: s["status"] for s in dossier["shipments"]},
                         {"send": "delivered", "return": "delivered"})
        self.assertEqual(dossier["submissions"]["return"]["result"], result)
        self.assertNotIn("sender", dossier["submissions"]["return"])
        self.assertEqual(dossier["submissions"]["return"]["recipient"]["phone"], d["recipient"]["phone"])
        self.assertEqual(self.sys.sim_stats()["by_sale_order"][code]["orders"], 2)
        deadline = time.time() + 60
        while time.time() < deadline and len(self.receiver.by_dossier().get(code, [])) < 3:
            time.sleep(0.3)
        notes = self.receiver.by_dossier().get(code, [])
        self.assertEqual([(n["TrangThaiHoSo"], n["waybill"]) for n in notes],
                         [("2", send_waybill), ("9", ret_waybill), ("10", ret_waybill)])
        self.assertEqual(len(notes[0]["NgayTiepNhan"]), 14)
        self.assertLessEqual(notes[0]["NgayTiepNhan"], notes[1]["ThoiDiemXuLy"])
        # the channel and the result's delivery by the public post, on every notification (design §1)
        self.assertEqual({(n["KenhThucHien"], n["HinhThucTra"]) for n in notes}, {(3, "1")})
        # every timeline event that the case system hears of carries its DVC code
        st, tl, _ = self.sys.timeline(code)
        dvc = [(e["waybill"], e["dvc"]) for e in tl["events"] if "dvc" in e]
        self.assertEqual(dvc, [(send_waybill, "2"), (ret_waybill, "9"), (ret_waybill, "10")], tl["events"])
        self.assertTrue(all("dvc" not in e for e in tl["events"] if e.get("status") in ("created", "in_transit")))

    def test_result_route_is_for_both_dossiers_only(self):
        d = harness.make_dossier(6)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        st, err, _ = self.sys.request("POST", "/v1/dossiers/%s/result" % d["dossier_code"], {"summary": "x"})
        self.assertEqual((st, err["error"]["code"]), (409, "not_both"), err)
        st, err, _ = self.sys.request("POST", "/v1/dossiers/%s/result" % harness.make_dossier(7)["dossier_code"],
                                      {"summary": "x"})
        self.assertEqual(st, 404, err)

    def test_both_legs_notify_in_timeline_order_after_an_outage(self):
        """The case system is down while the result is collected and returned; when it is back it
        hears the dossier's story in order: received at the agency (2), booked (9), delivered (10)."""
        self.receiver.fail_until = time.time() + 3600
        d = send_dossier(3, service="both")
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        code = d["dossier_code"]
        self.assertEqual(self.sys.wait_all_status([code], "delivered", timeout=60), set())
        st, rec, _ = self.sys.request("POST", "/v1/receipts", {"waybills": [doc["shipments"][0]["waybill"]],
                                                               "officer": "Nguyễn Văn A"})
        self.assertEqual(st, 201, rec)
        ret = harness.make_dossier(3)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", ret)
        self.assertEqual(st, 201, doc)
        deadline = time.time() + 60
        while time.time() < deadline:
            st, dossier, _ = self.sys.dossier(code)
            if {s["leg"]: s["status"] for s in dossier["shipments"]}.get("return") == "delivered":
                break
            time.sleep(0.3)
        self.assertEqual({s["leg"]: s["status"] for s in dossier["shipments"]},
                         {"send": "delivered", "return": "delivered"})
        self.assertEqual(self.receiver.by_dossier().get(code, []), [], "the case system was down")
        self.receiver.fail_until = 0.0
        deadline = time.time() + 120
        while time.time() < deadline and len(self.receiver.by_dossier().get(code, [])) < 3:
            time.sleep(0.3)
        got = [n["TrangThaiHoSo"] for n in self.receiver.by_dossier().get(code, [])]
        self.assertEqual(got, ["2", "9", "10"], "notifications of %s, in the order received" % code)

    def test_cccd_is_never_stored_whole(self):
        d = send_dossier(3)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201)
        rows = self.sys.db_query("SELECT body FROM submissions")
        self.assertTrue(rows)
        for (body,) in rows:
            self.assertNotIn("001203004567", body)
        self.assertIn('"id_last4":"4567"', rows[-1][0])
        bad = send_dossier(4)
        bad["sender"]["id_number"] = "12345"
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", bad)
        self.assertEqual((st, doc["error"]["field"]), (422, "sender.id_number"))


class SchedulerTest(unittest.TestCase):
    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [])

    def test_polling_finds_news_when_webhooks_never_come(self):
        self.sys = harness.System(workers=2, sim_webhooks=False,
                                  bccid_args=["--poll_min_ms", "300", "--scheduler_interval_ms", "200"])
        self.sys.import_codes()
        d = harness.make_dossier(1)
        self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(self.sys.wait_all_status([d["dossier_code"]], "delivered", timeout=60), set(),
                         "tracking polls alone bring the shipment to delivered")
        st, doc, _ = self.sys.request("GET", "/v1/jobs")
        self.assertGreater(doc["counts"].get("track", {}).get("done", 0), 0)
        self.assertEqual(self.sys.sim_stats()["webhooks_sent"], 0)
        # polling stops at the final status
        done = doc["counts"]["track"].get("done", 0)
        time.sleep(1.5)
        st, doc, _ = self.sys.request("GET", "/v1/jobs")
        self.assertEqual(doc["counts"]["track"].get("done", 0) + doc["counts"]["track"].get("ready", 0), done)

    def test_failed_delivery_invites_twice_then_returns(self):
        receiver = casesys.Receiver(SECRET)
        try:
            self.sys = harness.System(workers=0, with_sim=False,
                                      bccid_args=["--invitation_gap_ms", "800", "--scheduler_interval_ms", "200",
                                                  "--case_system_url", receiver.url], case_secret=SECRET)
            self.sys.import_codes()
            carrier = self.sys.token("vnpost-test", "carrier")
            d = harness.make_dossier(5)
            st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
            w = doc["shipments"][0]["waybill"]
            t = time.time()
            ev = [vnpost_event(w, 12, t, "a1", "Đang phát"),
                  vnpost_event(w, 15, t + 1, "a2", "Phát không thành công", "Người nhận vắng nhà")]
            st, rep, _ = self.sys.request("POST", "/v1/carriers/vnpost/events", ev, token=carrier)
            self.assertEqual(rep["applied"], 2)
            self.assertEqual(self.sys.wait_all_status([d["dossier_code"]], "returning", timeout=20), set())
            st, tl, _ = self.sys.timeline(d["dossier_code"])
            texts = [e["text"] for e in tl["events"]]
            self.assertTrue(any("Người nhận vắng nhà" in x for x in texts), "the failure keeps its reason")
            self.assertEqual(sum("giấy mời lần 2" in x for x in texts), 1, texts)
            self.assertTrue(tl["chain_valid"])
            # the carrier brings it back: returned, and the case system is told
            st, rep, _ = self.sys.request("POST", "/v1/carriers/vnpost/events",
                                          [vnpost_event(w, 19, time.time() + 5, "a3", "Đã chuyển hoàn")],
                                          token=carrier)
            self.assertEqual(self.sys.wait_all_status([d["dossier_code"]], "returned", timeout=10), set())
        finally:
            receiver.stop()

    def test_sla_breach_is_recorded_once(self):
        self.sys = harness.System(workers=0, with_sim=False, bccid_args=["--scheduler_interval_ms", "200"])
        self.sys.import_codes()
        carrier = self.sys.token("vnpost-test", "carrier")
        d = harness.make_dossier(6)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        w = doc["shipments"][0]["waybill"]
        # accepted by the post office 20 days ago and never attempted since
        self.sys.request("POST", "/v1/carriers/vnpost/events",
                         [vnpost_event(w, 6, time.time() - 20 * 86400, "old", "Đã nhận hàng")], token=carrier)
        deadline = time.time() + 10
        breaches = []
        while time.time() < deadline and not breaches:
            st, tl, _ = self.sys.timeline(d["dossier_code"])
            breaches = [e for e in tl["events"] if e.get("status") == "sla_breached"]
            time.sleep(0.2)
        self.assertEqual(len(breaches), 1)
        time.sleep(1)
        st, tl, _ = self.sys.timeline(d["dossier_code"])
        self.assertEqual(sum(e.get("status") == "sla_breached" for e in tl["events"]), 1, "only once")


    def test_handover_starts_the_due_date_and_a_breach_reaches_the_clerk_and_the_case_system(self):
        """J (TT 17 Điều 7.2) is the first of the manifest's handover scan and the carrier's
        "accepted"; a breach goes to the clerk's problem list, the case system and /metrics."""
        self.sys = harness.System(workers=0, with_sim=False,
                                  bccid_args=["--scheduler_interval_ms", "200",
                                              "--case_system_url", "http://127.0.0.1:9/never-called"],
                                  case_secret=SECRET)
        self.sys.import_codes()
        carrier = self.sys.token("vnpost-test", "carrier")
        clerk = self.sys.token("clerk-sla", "clerk")
        post = self.sys.token("post-sla", "post_office")
        d = harness.make_dossier(8)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        w = doc["shipments"][0]["waybill"]
        due_of = lambda: self.sys.db_query("SELECT due_at, transit_days FROM shipments WHERE waybill = ?", (w,))[0]
        self.assertIsNone(due_of()[0], "no J before the post office has the item")
        st, m, _ = self.sys.request("POST", "/v1/manifests", {"waybills": [w]}, token=clerk)
        self.assertEqual(st, 201, m)
        scanned = time.time()
        st, doc, _ = self.sys.request("POST", "/v1/scans", {"code": m["code"], "event": "accepted"}, token=post)
        self.assertEqual(st, 200, doc)
        due, days = due_of()
        self.assertIsNotNone(due, "the handover scan is J")
        # J + the route's working days: at least that many calendar days, fewer than a Tết break more
        self.assertGreater(due / 1000.0, scanned + (days - 1) * 86400 - 7 * 3600 - 60)
        self.assertLess(due / 1000.0, scanned + (days + 10) * 86400)
        # the carrier says it accepted the item 20 days earlier: that is the first, so J moves back
        self.sys.request("POST", "/v1/carriers/vnpost/events",
                         [vnpost_event(w, 6, time.time() - 20 * 86400, "old", "Đã nhận hàng")], token=carrier)
        self.assertLess(due_of()[0], due)
        deadline = time.time() + 15
        problems = []
        while time.time() < deadline and not problems:
            st, doc, _ = self.sys.request("GET", "/v1/clerk/shipments?state=problems", token=clerk)
            problems = [r for r in doc["shipments"] if r["waybill"] == w]
            time.sleep(0.2)
        self.assertEqual(len(problems), 1, "the breach is on the clerk's problem list")
        self.assertTrue(problems[0]["sla_breached"])
        notes = [json.loads(p) for (p,) in self.sys.db_query("SELECT payload FROM jobs WHERE kind = 'notify'")]
        breach = [n["body"] for n in notes if n["body"]["status"] == "sla_breached"]
        self.assertEqual(len(breach), 1, notes)
        self.assertEqual((breach[0]["TrangThaiHoSo"], breach[0]["waybill"]), ("9", w))
        self.assertIn("quá thời hạn", breach[0]["NoiDungXuLy"])
        st, metrics, _ = self.sys.request("GET", "/metrics")
        text = metrics.decode() if isinstance(metrics, bytes) else str(metrics)
        self.assertRegex(text, r"(?m)^bcci_sla_breaches 1$")


class ViettelTest(unittest.TestCase):
    """The same scenario on a second carrier dialect: the gateway core is unchanged."""

    def test_return_leg_on_viettel_post(self):
        self.sys = harness.System(workers=0)
        try:
            self.sys.worker_args = ["--carriers", "vnpost,viettel", "--carrier.viettel.url", self.sys.sim_url]
            self.sys.start_worker()
            self.sys.start_worker()
            self.sys.import_codes()
            dossiers = []
            for i in range(1, 6):
                d = harness.make_dossier(i)
                d["carrier"] = "viettel"
                dossiers.append(d)
            dossiers.append(harness.make_dossier(9))  # one on VNPost beside them
            for d in dossiers:
                st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
                self.assertEqual(st, 201, doc)
            codes = [d["dossier_code"] for d in dossiers]
            self.assertEqual(self.sys.wait_all_status(codes, "delivered", timeout=60), set())
            stats = self.sys.sim_stats()
            for d in dossiers:
                entry = stats["by_sale_order"][d["dossier_code"]]
                self.assertEqual(entry["orders"], 1)
                self.assertEqual(entry.get("carrier", "vnpost"), d.get("carrier", "vnpost"))
            st, tl, _ = self.sys.timeline(codes[0])
            raw = [e.get("raw_code") for e in tl["events"] if e["source"] == "carrier"]
            self.assertIn("501", raw)
            self.assertEqual([e["status"] for e in tl["events"] if "status" in e][-1], "delivered")
            self.assertTrue(tl["chain_valid"])
        finally:
            findings = self.sys.stop()
        self.assertEqual(findings, [])
