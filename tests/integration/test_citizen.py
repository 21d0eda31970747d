"""The citizen hears of a failed delivery (TT 17 Điều 5.2, Điều 12), with real processes.

bccid, a real bcci-worker, the carrier simulator, the SMS-brandname simulator
(tests/sims/sms_sim.py) and a real SMTP server (tests/sims/smtp_sink.py, aiosmtpd):
a return-leg dossier whose address makes the simulator fail delivery twice and hold
the item. Then: an SMS and an e-mail to the citizen for each failed attempt (with the
carrier's reason) and the out-for-delivery, two invitations, a return request at the
simulator (counted there), the item back as returned, and a last message saying which
desk holds the result.
"""
import email
import email.policy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import harness

SIMS = os.path.join(harness.ROOT, "tests", "sims")


def start(argv):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    line = p.stdout.readline()
    m = re.search(r"listening on (\S+)", line)
    if not m:
        p.kill()
        raise AssertionError("%s did not start: %s %s" % (argv[1], line, p.stderr.read()[:400]))
    return p, m.group(1)


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


class CitizenMessagesTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="bcci-citizen-")
        self.mail_dir = os.path.join(self.tmp, "mail")
        os.makedirs(self.mail_dir)
        key = os.path.join(self.tmp, "sms.key")
        with open(key, "w") as f:
            f.write("test-key\n")
        os.chmod(key, 0o600)
        self.sms, self.sms_url = start([sys.executable, os.path.join(SIMS, "sms_sim.py"), "--port", "0",
                                        "--api-key", "test-key"])
        self.smtp, self.smtp_url = start([sys.executable, os.path.join(SIMS, "smtp_sink.py"), "--dir", self.mail_dir,
                                          "--port", "0"])
        self.sys = harness.System(workers=1, bccid_args=["--invitation_gap_ms", "800", "--scheduler_interval_ms", "200",
                                              "--citizen_sms", "yes", "--citizen_email", "yes"],
                                  worker_args=["--sms.url", self.sms_url + "/api/v1/sms/send",
                                               "--sms.api_key_file", key, "--smtp.url", self.smtp_url,
                                               "--smtp.from", "no-reply@buudien.example.vn"])
        self.sys.import_codes()

    def tearDown(self):
        findings = self.sys.stop()
        for p in (self.sms, self.smtp):
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        self.assertEqual(findings, [], "sanitizer findings: %s" % findings)

    def wait(self, what, fn, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = fn()
            if v:
                return v
            time.sleep(0.2)
        self.fail("waited %d s for %s" % (timeout, what))

    def test_two_failed_attempts_reach_the_citizen_then_the_item_goes_back(self):
        d = harness.make_dossier(7)
        d["recipient"]["address"] += " [fail-delivery-hold]"
        d["recipient"]["email"] = "citizen@example.vn"
        phone = d["recipient"]["phone"]
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        code = d["dossier_code"]
        pending = self.sys.wait_all_status([code], "returned", timeout=60)
        if pending:
            st, tl, _ = self.sys.timeline(code)
            st2, jobs, _ = self.sys.request("GET", "/v1/jobs?state=dead")
            self.fail("the item did not come back as returned; timeline %s; dead jobs %s; sim %s" % (
                [(e.get("status"), e["text"][:60]) for e in tl["events"]], jobs,
                self.sys.sim_stats()["by_sale_order"].get(code)))
        # the return request reached the carrier once
        stats = self.sys.sim_stats()
        self.assertEqual(stats["by_sale_order"][code].get("return_calls"), 1, stats["by_sale_order"][code])
        # the SMS: out for delivery, two failed attempts (with the reason), back at the desk
        msgs = self.wait("4 SMS", lambda: (lambda m: m if len(m) >= 4 else None)(
            [m for m in get_json(self.sms_url + "/_sms/messages") if code in m.get("message", "")]))
        texts = [m["message"] for m in msgs]
        self.assertTrue(all(m["phone"].endswith(phone[-9:]) for m in msgs), [m["phone"] for m in msgs])
        self.assertTrue(any("đang phát" in t.lower() for t in texts), texts)
        failed = [t for t in texts if "không thành công" in t]
        self.assertEqual(len(failed), 2, texts)
        self.assertTrue(any("đã chuyển về" in t and "Mời ông/bà đến nhận" in t for t in texts), texts)
        self.assertEqual(len(set(m["request_id"] for m in msgs)), len(msgs), "each message sent once")
        # the e-mails, decodable, in Vietnamese
        mails = self.wait("4 e-mails", lambda: (lambda f: f if len(f) >= 4 else None)(
            sorted(glob.glob(os.path.join(self.mail_dir, "*.eml")))))
        subjects = []
        for path in mails:
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            self.assertEqual(msg["To"], "citizen@example.vn")
            subjects.append(str(msg["Subject"]))
            self.assertIn(code, msg.get_content())
        self.assertTrue(all(code in s or "hồ sơ" in s.lower() for s in subjects), subjects)
        # the timeline: two failed attempts (the carrier's own count), then returning, then returned
        st, tl, _ = self.sys.timeline(code)
        texts = [e["text"] for e in tl["events"]]
        self.assertEqual(sum("Phát không thành công" in x for x in texts), 2, texts)
        self.assertTrue(any("Đã mời người nhận hai lần không thành công" in x for x in texts), texts)
        statuses = [e.get("status") for e in tl["events"] if e.get("status")]
        self.assertLess(statuses.index("returning"), statuses.index("returned"), statuses)
        self.assertTrue(tl["chain_valid"])
        # no phone or e-mail in the logs
        for p in self.sys.procs:
            with open(p.errpath, "rb") as f:
                log = f.read().decode("utf-8", "replace")
            self.assertNotIn(phone, log, "%s logged the phone" % p.name)
            self.assertNotIn("citizen@example.vn", log, "%s logged the e-mail address" % p.name)


if __name__ == "__main__":
    unittest.main()
