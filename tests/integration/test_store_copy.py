"""bcci store copy (issue 12): a gateway's whole store into an empty one, counted and verified;
bccid on the copy serves the same tracking pages; a non-empty target is refused."""
import json
import os
import shutil
import subprocess
import unittest

import harness
from test_public_pages import tracking_path

BCCI = os.path.join(harness.BIN, "bcci")


def bcci(*args):
    p = subprocess.run([BCCI] + list(args), capture_output=True, timeout=120,
                       env=dict(os.environ, HOME="/nonexistent"))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


class StoreCopyTest(unittest.TestCase):
    def setUp(self):
        self.sys = harness.System(workers=1)

    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def test_copy_of_a_delivered_gateway_serves_the_same_pages(self):
        s = self.sys
        s.import_codes(count=1000)
        dossiers = [harness.make_dossier(i) for i in range(1, 9)]
        self.assertEqual([r[0] for r in s.submit_many(dossiers)], [201] * 8)
        codes = [d["dossier_code"] for d in dossiers]
        waybills = [s.dossier(c)[1]["shipments"][-1]["waybill"] for c in codes]
        st, doc, _ = s.request("POST", "/v1/manifests", {"waybills": waybills[:2]})  # before delivery
        self.assertEqual(st, 201, doc)
        self.assertEqual(s.wait_all_status(codes, "delivered", timeout=120), set())
        pages = {}
        for wb in waybills:
            st, body, _ = s.request("GET", tracking_path(s, wb), token=None)
            self.assertEqual(st, 200)
            pages[wb] = body
        timelines = {c: s.timeline(c)[1] for c in codes}
        s.bccid.stop()
        before = s.db_counts()

        target_dir = os.path.join(s.dir, "var-b")
        os.makedirs(target_dir, mode=0o700)
        src = "sqlite:" + os.path.join(s.state, "bcci.db")
        dst = "sqlite:" + os.path.join(target_dir, "bcci.db")
        rc, out, err = bcci("--json", "store", "copy", src, dst)
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["chains_verified"], before["dossiers"])
        for table, rows in doc["tables"].items():
            self.assertEqual(rows, before[table], table)
        self.assertEqual(set(doc["tables"]), set(before) - {"schema_version", "code_next"})
        self.assertGreater(doc["tables"]["timeline"], 8 * 3)
        self.assertEqual((doc["tables"]["manifests"], doc["tables"]["manifest_items"]), (1, 2))
        self.assertGreater(doc["tables"]["jobs"], 0)

        # bccid on the copy (with the gateway's secret) serves the same pages and timelines
        for name in ("secret", "admin.token"):
            shutil.copy2(os.path.join(s.state, name), os.path.join(target_dir, name))
        s.state = target_dir
        s.restart_bccid()
        self.assertEqual(s.db_counts(), before)
        for wb in waybills:
            st, body, _ = s.request("GET", tracking_path(s, wb), token=None)
            self.assertEqual((st, body), (200, pages[wb]), wb)
        for c in codes:
            self.assertEqual(s.timeline(c)[1], timelines[c], c)
        s.bccid.stop()

        # a target holding rows is refused, and left as it was
        rc, out, err = bcci("store", "copy", src, dst)
        self.assertEqual(rc, 1, err)
        self.assertIn("is not empty: table dossiers has 8 row(s)", err)
        self.assertEqual(s.db_counts(), before)

    def test_a_wrong_secret_fails_the_chains_and_commits_nothing(self):
        s = self.sys
        s.import_codes(count=100)
        self.assertEqual(s.request("POST", "/v1/dossiers", harness.make_dossier(1))[0], 201)
        s.bccid.stop()
        wrong = os.path.join(s.dir, "wrong-secret")
        with open(wrong, "wb") as f:
            f.write(b"x" * 32)
        os.chmod(wrong, 0o600)
        dst_path = os.path.join(s.dir, "copy.db")
        rc, out, err = bcci("store", "copy", "--secret", wrong, "sqlite:" + os.path.join(s.state, "bcci.db"),
                            "sqlite:" + dst_path)
        self.assertEqual(rc, 1, err)
        self.assertIn("does not verify after copying", err)
        rc, out, err = bcci("--json", "store", "copy", "sqlite:" + os.path.join(s.state, "bcci.db"),
                            "sqlite:" + dst_path)
        self.assertEqual(rc, 0, err)  # the failed attempt left the target empty
        self.assertEqual(json.loads(out)["tables"]["dossiers"], 1)


if __name__ == "__main__":
    unittest.main()
