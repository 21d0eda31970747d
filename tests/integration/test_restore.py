"""Restoring a backup never re-issues an S10 number (docs/operations.md §3).

Submit, back up with `bcci backup`, submit more, stop bccid, put the backup in place of the
database as the operations guide says, start again, submit: the new waybill is none of those
handed out before, not even those the restored database never heard of.
"""
import os
import shutil
import subprocess
import time
import unittest

import harness


class RestoreTest(unittest.TestCase):
    def setUp(self):
        self.sys = harness.System(workers=0, with_sim=False)
        self.sys.import_codes("RR", 10000000, 100000)

    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def submit(self, seq):
        d = harness.make_dossier(seq)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, "got %d %s, want 201" % (st, doc))
        return d["dossier_code"], doc["shipments"][0]["waybill"]

    def test_a_restored_backup_never_reissues_a_waybill(self):
        issued = [self.submit(1)[1]]
        db = os.path.join(self.sys.state, "bcci.db")
        backup = os.path.join(self.sys.dir, "backup.db")
        p = subprocess.run([os.path.join(harness.BIN, "bcci"), "backup", "--db", db, backup],
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace"))
        forgotten_code, w = self.submit(2)
        issued.append(w)
        issued.append(self.submit(3)[1])

        # docs/operations.md §3: stop, put the backup in place (no WAL of the newer file), start
        self.sys.bccid.stop()
        for ext in ("-wal", "-shm"):
            if os.path.exists(db + ext):
                os.remove(db + ext)
        shutil.copyfile(backup, db)
        self.sys.restart_bccid()

        st, _, _ = self.sys.dossier(forgotten_code)
        self.assertEqual(st, 404, "got %d, want 404: the restored database predates dossier 2" % st)
        _, fresh = self.submit(4)
        self.assertNotIn(fresh, issued, "got waybill %s after the restore, already issued: %s" % (fresh, issued))
        self.assertTrue(os.path.exists(os.path.join(self.sys.state, "s10-reserved")),
                        "want the reservation file beside the database")



class ReissuedWaybillTest(unittest.TestCase):
    """When a number was issued twice anyway (the reservation file was lost with the
    database), the carrier's "already exists" for another dossier is not a booking."""

    def setUp(self):
        self.sys = harness.System(workers=1)
        self.sys.import_codes("RR", 10000000, 100000)

    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def submit(self, seq):
        d = harness.make_dossier(seq)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, "got %d %s, want 201" % (st, doc))
        return d["dossier_code"], doc["shipments"][0]["waybill"]

    def wait_booked(self, code, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st, doc, _ = self.sys.dossier(code)
            if st == 200 and doc["shipments"][0].get("carrier_ref"):
                return
            time.sleep(0.2)
        self.fail("dossier %s was not booked within %ds" % (code, timeout))

    def test_already_exists_for_another_dossier_takes_a_fresh_number(self):
        code1, _ = self.submit(11)
        self.wait_booked(code1)
        db = os.path.join(self.sys.state, "bcci.db")
        backup = os.path.join(self.sys.dir, "backup.db")
        p = subprocess.run([os.path.join(harness.BIN, "bcci"), "backup", "--db", db, backup],
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace"))
        code2, w2 = self.submit(12)
        self.wait_booked(code2)

        # the operator's mistake: the database restored and the reservation file lost
        self.sys.bccid.stop()
        for name in ("bcci.db-wal", "bcci.db-shm", "s10-reserved"):
            if os.path.exists(os.path.join(self.sys.state, name)):
                os.remove(os.path.join(self.sys.state, name))
        shutil.copyfile(backup, db)
        self.sys.restart_bccid()

        code3, w3 = self.submit(13)
        self.assertEqual(w3, w2, "this test needs the number issued twice (got %s, first issued %s)" % (w3, w2))
        # the carrier says the number is dossier 2's: dossier 3 never takes that order; it takes
        # a fresh number from the pool, the timeline says why, and it is booked with the new one
        self.wait_booked(code3)
        st, doc, _ = self.sys.dossier(code3)
        w3_new = doc["shipments"][0]["waybill"]
        self.assertNotEqual(w3_new, w2, "dossier 3 kept the number the carrier holds for dossier 2")
        st, tl, _ = self.sys.timeline(code3)
        self.assertTrue(any("waybill_taken" in e["text"] and w3_new in e["text"] for e in tl["events"]),
                        "the timeline must say why: %s" % [e["text"] for e in tl["events"]])
        self.assertTrue(tl["chain_valid"])
        sale = self.sys.sim_stats().get("by_sale_order", {}).get(code3, {})
        self.assertEqual(sale.get("orders", 0), 1, "the carrier holds one order for dossier 3: %s" % sale)
        self.assertIn(w3_new, sale.get("item_codes", []), sale)
        sale2 = self.sys.sim_stats()["by_sale_order"][code2]
        self.assertEqual(sale2["orders"], 1, "dossier 2's order is untouched: %s" % sale2)


if __name__ == "__main__":
    unittest.main()
