"""
test_operator - what an operator reads of bccid: its log and its first line.

Every line bccid writes at start is JSON (so `journalctl -u bccid | jq .` works),
including the line on stdout that gives its addresses, and a normal start writes
no warning (libmicrohttpd's included).
"""
import json
import time
import unittest

import harness


class StartupLogTest(unittest.TestCase):
    def test_start_writes_only_json_and_no_warning(self):
        sys = harness.System(workers=0, with_sim=False, bccid_args=["--public_base_url", "https://gw.example.vn"])
        try:
            first = json.loads(sys.bccid.first_line)
            self.assertEqual((first["level"], first["prog"], first["msg"]), ("info", "bccid", "listening"))
            self.assertTrue(first["http"].startswith("http://127.0.0.1:"), first)
            self.assertEqual(first["http"], sys.url)
            self.assertEqual(first["jobs"], sys.jobs_endpoint)
            time.sleep(0.3)
            lines = sys.bccid.stderr_text().splitlines()
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])
        self.assertTrue(lines, "bccid wrote nothing on stderr at start")
        for line in lines:
            try:
                doc = json.loads(line)
            except ValueError:
                self.fail("not a JSON line on bccid's stderr: %r" % line)
            self.assertEqual(doc["prog"], "bccid", line)
            self.assertNotIn(doc["level"], ("warn", "error"), "a warning at a normal start: %s" % line)
            self.assertNotIn("MHD", doc["msg"], line)


if __name__ == "__main__":
    unittest.main()
