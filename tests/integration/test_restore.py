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

    def test_already_exists_for_another_dossier_is_a_failure(self):
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
        # the booking fails for good, saying why; the shipment never takes dossier 2's order.
        # (Its status is not checked: the carrier's webhooks for dossier 2's order still name
        # the same waybill until the sink gives the shipment a new number.)
        st3 = self.sys.dossier(code3)[1]["shipments"][0]
        job = None
        deadline = time.time() + 60
        while time.time() < deadline:
            jobs = self.sys.request("GET", "/v1/jobs")[1]["jobs"]
            job = next((j for j in jobs if j["kind"] == "book" and j["state"] == "dead"), None)
            if job:
                break
            time.sleep(0.3)
        self.assertIsNotNone(job, "want the booking of dossier 3 dead (%s)" % st3)
        self.assertTrue(job["last_error"].startswith("waybill_taken"), job["last_error"])
        self.assertIn(code2, job["last_error"], "the error names the dossier that holds the number")
        st, doc, _ = self.sys.dossier(code3)
        self.assertNotIn("carrier_ref", doc["shipments"][0], "dossier 3 must not take dossier 2's order")
        st, tl, _ = self.sys.timeline(code3)
        self.assertTrue(any("waybill_taken" in e["text"] for e in tl["events"]),
                        "the timeline must say why: %s" % [e["text"] for e in tl["events"]])
        sale = self.sys.sim_stats().get("by_sale_order", {}).get(code3, {})
        self.assertEqual(sale.get("orders", 0), 0, "the carrier holds no order for dossier 3")


if __name__ == "__main__":
    unittest.main()
