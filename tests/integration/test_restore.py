"""Restoring a backup never re-issues an S10 number (docs/operations.md §3).

Submit, back up with `bcci backup`, submit more, stop bccid, put the backup in place of the
database as the operations guide says, start again, submit: the new waybill is none of those
handed out before, not even those the restored database never heard of.
"""
import os
import shutil
import subprocess
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


if __name__ == "__main__":
    unittest.main()
