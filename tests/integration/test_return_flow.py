"""The return leg end to end with real processes (issue 1/6)."""
import unittest

import harness

EXPECTED_PATH = ["created", "booked", "accepted", "in_transit", "out_for_delivery", "delivered"]


class ReturnFlowTest(unittest.TestCase):
    def setUp(self):
        self.sys = harness.System(workers=2)
        self.sys.import_codes()

    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def test_200_concurrent_dossiers_are_delivered_once(self):
        dossiers = [harness.make_dossier(i, t) for i, t in
                    zip(range(1, 201), harness.load_examples() * 17)]
        results = self.sys.submit_many(dossiers, concurrency=32)
        statuses = [st for st, _, _ in results]
        self.assertEqual(statuses.count(201), 200, "got statuses %s, want 200 x 201" % sorted(set(statuses)))
        waybills = [doc["shipments"][0]["waybill"] for _, doc, _ in results]
        self.assertEqual(len(set(waybills)), 200, "every dossier has its own waybill")

        codes = [d["dossier_code"] for d in dossiers]
        pending = self.sys.wait_all_status(codes, "delivered", timeout=120)
        self.assertEqual(pending, set(), "not delivered: %d, e.g. %s" % (len(pending), sorted(pending)[:3]))

        stats = self.sys.sim_stats()
        self.assertEqual(stats["orders_total"], 200, "simulator holds %d orders, want 200" % stats["orders_total"])
        for code in codes:
            got = stats["by_sale_order"][code]["orders"]
            self.assertEqual(got, 1, "dossier %s booked %d times at the carrier" % (code, got))

        for code in codes:
            st, tl, _ = self.sys.timeline(code)
            self.assertEqual(st, 200)
            self.assertTrue(tl["chain_valid"], "hash chain of %s: %s" % (code, tl.get("chain_error")))
            path = [e["status"] for e in tl["events"] if "status" in e]
            self.assertEqual(path, EXPECTED_PATH, "timeline of %s" % code)
            times = [e["time_ms"] for e in tl["events"]]
            self.assertEqual(times, sorted(times), "timeline of %s in time order" % code)
            seqs = sorted(e["seq"] for e in tl["events"])
            self.assertEqual(seqs, list(range(1, len(seqs) + 1)), "no gaps in the chain of %s" % code)
            delivered = [e for e in tl["events"] if e.get("status") == "delivered"][0]
            self.assertEqual(delivered["upu"], "EMI")

    def test_replay_is_idempotent_and_conflict_is_refused(self):
        # no workers: the carrier must not move the shipment while the database is compared
        self.sys.stop()
        self.sys = harness.System(workers=0, with_sim=False)
        self.sys.import_codes()
        d = harness.make_dossier(7)
        st1, doc1, _ = self.sys.request("POST", "/v1/dossiers", d)
        st2, doc2, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual((st1, st2), (201, 200))
        self.assertEqual(doc1["shipments"][0]["waybill"], doc2["shipments"][0]["waybill"])
        before = self.sys.db_counts()
        changed = dict(d, cod_amount=d.get("cod_amount", 0) + 1000)
        st3, doc3, _ = self.sys.request("POST", "/v1/dossiers", changed)
        self.assertEqual(st3, 409, doc3)
        self.assertEqual(doc3["error"]["code"], "conflict")
        self.assertEqual(self.sys.db_counts(), before, "a refused conflict changed the database")

    def test_restart_keeps_everything(self):
        d = harness.make_dossier(9)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201)
        self.sys.restart_bccid()
        st, doc2, _ = self.sys.dossier(d["dossier_code"])
        self.assertEqual(st, 200)
        self.assertEqual(doc2["shipments"][0]["waybill"], doc["shipments"][0]["waybill"])
        pending = self.sys.wait_all_status([d["dossier_code"]], "delivered", timeout=60)
        self.assertEqual(pending, set())


if __name__ == "__main__":
    unittest.main()
