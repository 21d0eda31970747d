"""Only the right people, and citizens' data kept safe (issue 5/6)."""
import glob
import hashlib
import hmac
import json
import os
import sqlite3
import http.client
import stat
import subprocess
import threading
import time
import unittest
import urllib.parse
import urllib.request

import casesys
import harness

SIM_SECRET = b"vnpost-webhook-secret-for-tests"


def sign(secret, body, t=None):
    t = int(time.time()) if t is None else t
    return "t=%d,v1=%s" % (t, hmac.new(secret, b"%d." % t + body, hashlib.sha256).hexdigest())


class RoleTableTest(unittest.TestCase):
    """Every route x every role x no token / wrong token / revoked token."""

    def test_walk_the_whole_table(self):
        sys = harness.System(workers=0, with_sim=False)
        try:
            sys.import_codes()
            tokens = {role: sys.token("t-" + role, role)
                      for role in ("case_system", "clerk", "post_office", "carrier", "admin")}
            revoked = sys.token("t-revoked", "clerk")
            st, _, _ = sys.request("POST", "/v1/tokens/t-revoked/revoke", {})
            self.assertEqual(st, 200)
            st, doc, _ = sys.request("GET", "/v1/routes")
            routes = doc["routes"]
            self.assertGreater(len(routes), 20)
            checked = 0
            for r in routes:
                path = r["path"].replace("*.pdf", "BB-20261123-XXXXXXXX.pdf").replace("*", "RR100000003VN")
                public = "public" in r["roles"]
                for role, tok in tokens.items():
                    st, body, _ = sys.request(r["method"], path, body={} if r["method"] == "POST" else None,
                                              token=tok)
                    if role in r["roles"] or role == "admin" and "admin" in r["roles"]:
                        self.assertNotIn(st, (401, 403), "%s %s as %s: got %s %s" % (r["method"], path, role, st, body))
                    elif public:
                        # a public route ignores roles (the carrier webhook checks inside)
                        self.assertNotEqual(st, 401, "%s %s as %s" % (r["method"], path, role))
                    else:
                        self.assertEqual(st, 403, "%s %s as %s: got %s" % (r["method"], path, role, st))
                    checked += 1
                for label, tok in (("no token", None), ("wrong token", "bcci_notarealtoken"), ("revoked", revoked)):
                    st, _, _ = sys.request(r["method"], path, body={} if r["method"] == "POST" else None, token=tok)
                    if public and tok is None:
                        self.assertNotEqual(st, 403)
                    elif public and r["path"] != "/v1/carriers/*/events":
                        pass  # a public page does not care about a stray token
                    else:
                        self.assertEqual(st, 401, "%s %s with %s: got %s" % (r["method"], path, label, st))
                    checked += 1
            print("\n  role table: %d routes, %d checks" % (len(routes), checked))
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])


class SignedWebhookTest(unittest.TestCase):
    def setUp(self):
        self.sys = harness.System(workers=0, with_sim=False)
        secret = os.path.join(self.sys.dir, "vnpost.webhook.secret")
        with open(secret, "wb") as f:
            f.write(SIM_SECRET)
        os.chmod(secret, 0o600)
        self.sys.bccid_args = ["--carrier.vnpost.webhook_secret_file", secret]
        self.sys.restart_bccid()
        self.sys.import_codes()
        d = harness.make_dossier(1)
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.waybill = doc["shipments"][0]["waybill"]

    def tearDown(self):
        self.assertEqual(self.sys.stop(), [])

    def post(self, body, signature):
        headers = {"X-BCCI-Signature": signature} if signature is not None else {}
        return self.sys.request("POST", "/v1/carriers/vnpost/events", raw=body, headers=headers, token=None)

    def test_signatures(self):
        body = json.dumps([{"originalId": "VNP1", "itemCode": self.waybill, "status": "10",
                            "statusDate": time.strftime("%d/%m/%Y %H:%M:%S", time.gmtime(time.time() + 7 * 3600)),
                            "statusName": "Đang vận chuyển", "reason": "", "eventId": "sig-1"}]).encode()
        before = self.sys.db_counts()
        attacks = [
            ("missing header", None),
            ("wrong secret", sign(b"not-the-secret", body)),
            ("stale timestamp", sign(SIM_SECRET, body, int(time.time()) - 3600)),
            ("future timestamp", sign(SIM_SECRET, body, int(time.time()) + 3600)),
            ("malformed", "v1=abc"),
            ("body changed", sign(SIM_SECRET, body + b" ")),
        ]
        for name, sig in attacks:
            st, doc, _ = self.post(body, sig)
            self.assertEqual(st, 401, "%s: got %s %s" % (name, st, doc))
        self.assertEqual(self.sys.db_counts(), before, "refused webhooks recorded nothing")
        good = sign(SIM_SECRET, body)
        st, doc, _ = self.post(body, good)
        self.assertEqual((st, doc["applied"]), (200, 1))
        after = self.sys.db_counts()
        st, doc, _ = self.post(body, good)
        self.assertEqual(st, 401, "a replayed signed request is refused")
        self.assertIn("replay", doc["error"]["message"])
        self.assertEqual(self.sys.db_counts(), after)

    def test_world_readable_secret_refuses_to_start(self):
        bad = os.path.join(self.sys.dir, "open.secret")
        with open(bad, "wb") as f:
            f.write(b"x" * 32)
        os.chmod(bad, 0o644)
        p = subprocess.run([os.path.join(harness.BIN, "bccid"), "--http_listen", "127.0.0.1:0", "--state_dir",
                            os.path.join(self.sys.dir, "other"), "--carrier.vnpost.webhook_secret_file", bad],
                           capture_output=True, timeout=30)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"chmod 600", p.stderr)


INJECTIONS = ["'; DROP TABLE dossiers; --", "\" OR \"1\"=\"1", "Robert'); DELETE FROM jobs;--",
              "1; UPDATE shipments SET status='delivered'", "%s%s%n", "<script>alert(1)</script>"]


class InjectionAndLeakTest(unittest.TestCase):
    def test_injection_strings_are_only_data(self):
        sys = harness.System(workers=0, with_sim=False)
        try:
            sys.import_codes()
            for i, evil in enumerate(INJECTIONS):
                d = harness.make_dossier(100 + i)
                d["recipient"]["name"] = evil[:100]
                d["recipient"]["address"] = evil
                d["procedure"]["name"] = evil
                d["agency"]["name"] = evil
                d["result"]["summary"] = evil
                d["note"] = evil
                st, doc, _ = sys.request("POST", "/v1/dossiers", d)
                self.assertEqual(st, 201, doc)
                st, got, _ = sys.dossier(d["dossier_code"])
                self.assertEqual(got["submissions"]["return"]["recipient"]["address"], evil)
                st, _, _ = sys.request("GET", "/v1/dossiers/" + urllib.parse.quote(evil, safe=""))
                self.assertIn(st, (404, 400))
            counts = sys.db_counts()
            self.assertEqual(counts["dossiers"], len(INJECTIONS))
            self.assertEqual(counts["jobs"], len(INJECTIONS))
            if harness.STORE == "sqlite":
                con = sqlite3.connect("file:%s/bcci.db?mode=ro" % sys.state, uri=True)
                self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
                con.close()
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])

    def test_logs_never_carry_personal_data(self):
        receiver = casesys.Receiver(b"s")
        sys = harness.System(workers=2, bccid_args=["--case_system_url", receiver.url], case_secret=b"s")
        try:
            sys.import_codes()
            d = harness.make_dossier(1)
            name, phone, address, cccd = "Trịnh Thị Mỹ Xuân", "0987654321", "Số 77 ngõ Quỳnh Lôi", "079301234567"
            d["recipient"].update(name=name, phone=phone, address=address, id_number=cccd)
            d["authorised_person"] = {"name": "Lê Văn Ủy Quyền", "relation": "chồng", "id_number": "001099887766"}
            st, doc, _ = sys.request("POST", "/v1/dossiers", d)
            self.assertEqual(st, 201, doc)
            self.assertEqual(sys.wait_all_status([d["dossier_code"]], "delivered", timeout=60), set())
            bad = harness.make_dossier(2)
            bad["recipient"]["phone"] = "0123456"  # a refused request must not log it either
            sys.request("POST", "/v1/dossiers", bad)
            time.sleep(1)
        finally:
            findings = sys.stop()
            receiver.stop()
        self.assertEqual(findings, [])
        logs = {}
        for path in glob.glob(os.path.join(sys.dir, "*.err")):
            with open(path, encoding="utf-8", errors="replace") as f:
                logs[os.path.basename(path)] = f.read()
        self.assertTrue(any("sim" in k for k in logs), "the simulator's own log is checked too")
        for secret in (name, phone, address, cccd, "001099887766", "Lê Văn Ủy Quyền", "0123456", cccd[-8:]):
            for log_name, text in logs.items():
                self.assertNotIn(secret, text, "%r leaked into %s" % (secret, log_name))
        rows = sys.db_query("SELECT body FROM submissions")
        self.assertNotIn(cccd, rows[0][0])


class PurgeTest(unittest.TestCase):
    def test_purge_keeps_the_chain_and_removes_personal_fields(self):
        sys = harness.System(workers=1)
        try:
            sys.import_codes()
            done, running = harness.make_dossier(1), harness.make_dossier(2)
            done["recipient"]["name"] = "Phạm Thị Cần Xóa"
            sys.request("POST", "/v1/dossiers", done)
            self.assertEqual(sys.wait_all_status([done["dossier_code"]], "delivered", timeout=60), set())
            sys.workers[0].stop()
            sys.request("POST", "/v1/dossiers", running)
            st, doc, _ = sys.request("POST", "/v1/purge", {"older_than_days": 0, "dry_run": True})
            self.assertEqual((st, doc["dossiers"], doc["dry_run"]), (200, 1, True))
            self.assertIn("Phạm Thị Cần Xóa", json.dumps(sys.dossier(done["dossier_code"])[1], ensure_ascii=False))
            st, doc, _ = sys.request("POST", "/v1/purge", {"older_than_days": 0})
            self.assertEqual((st, doc["dossiers"]), (200, 1))
            st, got, _ = sys.dossier(done["dossier_code"])
            text = json.dumps(got, ensure_ascii=False)
            self.assertNotIn("Phạm Thị Cần Xóa", text)
            self.assertNotIn(done["recipient"]["phone"], text)
            self.assertEqual(got["submissions"]["return"]["recipient"]["province_code"],
                             done["recipient"]["province_code"])
            st, tl, _ = sys.timeline(done["dossier_code"])
            self.assertTrue(tl["chain_valid"], "the timeline still verifies after the purge")
            self.assertIn(running["recipient"]["name"],
                          json.dumps(sys.dossier(running["dossier_code"])[1], ensure_ascii=False),
                          "an unfinished dossier is untouched")
            st, doc, _ = sys.request("POST", "/v1/purge", {"older_than_days": 0})
            self.assertEqual(doc["dossiers"], 0, "a purged dossier is not purged twice")
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])


class AgencyScopeTest(unittest.TestCase):
    """One gateway serves a province; a token bound to one agency (a commune's one-stop desk) reaches
    that agency's dossiers, shipments, labels, manifests and jobs only. Another agency's look unknown."""

    def test_agency_bound_tokens(self):
        sys = harness.System(workers=0, with_sim=False)
        try:
            sys.import_codes(count=100)
            mine, theirs = [], []
            other = harness.load_examples()[4]
            for i in range(1, 4):
                for group, d in ((mine, harness.make_dossier(i)), (theirs, harness.make_dossier(700 + i, template=other))):
                    st, doc, _ = sys.request("POST", "/v1/dossiers", d)
                    self.assertEqual(st, 201, doc)
                    group.append((d["dossier_code"], doc["shipments"][0]["waybill"]))
            agency = harness.make_dossier(1)["agency"]["code"]
            other_agency = other["agency"]["code"]
            self.assertNotEqual(agency, other_agency)

            def token(name, role, agency_code):
                st, doc, _ = sys.request("POST", "/v1/tokens", {"name": name, "role": role, "agency_code": agency_code})
                self.assertEqual(st, 201, doc)
                self.assertEqual(doc["agency_code"], agency_code)
                return doc["token"]

            clerk = token("clerk-ba-dinh", "clerk", agency)
            case_system = token("dvc-ba-dinh", "case_system", agency)
            st, doc, _ = sys.request("POST", "/v1/tokens", {"name": "po", "role": "post_office", "agency_code": agency})
            self.assertEqual((st, doc["error"]["field"]), (422, "agency_code"), doc)
            st, doc, _ = sys.request("POST", "/v1/tokens", {"name": "bad", "role": "clerk", "agency_code": "H26"})
            self.assertEqual((st, doc["error"]["field"]), (422, "agency_code"), doc)
            st, doc, _ = sys.request("GET", "/v1/tokens")
            listed = {t["name"]: t.get("agency_code") for t in doc["tokens"]}
            self.assertEqual((listed["clerk-ba-dinh"], listed["admin"]), (agency, None))

            (code, wb), (their_code, their_wb) = mine[0], theirs[0]
            for path in ("/v1/dossiers/%s" % code, "/v1/dossiers/%s/timeline" % code, "/v1/shipments/%s" % wb,
                         "/v1/shipments/%s/label" % wb):
                st, body, _ = sys.request("GET", path, token=clerk)
                self.assertEqual(st, 200, (path, body))
            before = sys.db_counts()
            prints = sys.db_query("SELECT SUM(label_prints) FROM shipments")
            for method, path, body in (("GET", "/v1/dossiers/%s" % their_code, None),
                                       ("GET", "/v1/dossiers/%s/timeline" % their_code, None),
                                       ("GET", "/v1/dossiers/000.00.00.H00-251124-00009", None),
                                       ("GET", "/v1/shipments/%s" % their_wb, None),
                                       ("GET", "/v1/shipments/%s/label" % their_wb, None),
                                       ("POST", "/v1/shipments/%s/cancel" % their_wb, {}),
                                       ("POST", "/v1/labels", {"waybills": [wb, their_wb]}),
                                       ("POST", "/v1/manifests", {"waybills": [their_wb]})):
                st, doc, _ = sys.request(method, path, body, token=clerk)
                self.assertEqual(st, 404, (method, path, doc))
                self.assertIn("for agency %s" % agency, doc["error"]["message"])
            # unknown and another agency's answer alike, so codes cannot be probed
            a = sys.request("GET", "/v1/dossiers/%s" % their_code, token=clerk)[1]["error"]["message"]
            b = sys.request("GET", "/v1/dossiers/000.00.00.H00-251124-00009", token=clerk)[1]["error"]["message"]
            self.assertEqual(a.replace(their_code, "X"), b.replace("000.00.00.H00-251124-00009", "X"))
            for body in ({"ready": True, "agency_code": other_agency}, ):
                st, doc, _ = sys.request("POST", "/v1/labels", body, token=clerk)
                self.assertEqual(st, 403, doc)
            st, doc, _ = sys.request("POST", "/v1/manifests", {"all_ready": True, "agency_code": other_agency},
                                     token=clerk)
            self.assertEqual(st, 403, doc)
            st, doc, _ = sys.request("GET", "/v1/reports/cod?date=2026-01-01&agency=%s" % other_agency, token=clerk)
            self.assertEqual(st, 403, doc)
            self.assertEqual(sys.db_counts(), before, "a refused request changed the database")
            self.assertEqual(sys.db_query("SELECT SUM(label_prints) FROM shipments"), prints)
            self.assertEqual(sys.db_query("SELECT status FROM shipments WHERE waybill = ?", (their_wb,)),
                             [("created",)])

            # lists hold the agency's own only
            st, doc, _ = sys.request("GET", "/v1/clerk/shipments?state=ready", token=clerk)
            self.assertEqual(sorted(s["waybill"] for s in doc["shipments"]), sorted(w for _, w in mine))
            st, doc, _ = sys.request("GET", "/v1/jobs?state=ready", token=clerk)
            self.assertEqual(st, 200, doc)
            own_ids = {r[0] for r in sys.db_query(
                "SELECT s.id FROM shipments s JOIN dossiers d ON d.id = s.dossier_id WHERE d.agency_code = ?",
                (agency,))}
            self.assertTrue(doc["jobs"])
            self.assertTrue(all(j["shipment_id"] in own_ids for j in doc["jobs"]), doc["jobs"])
            their_job = sys.db_query("SELECT j.id FROM jobs j JOIN shipments s ON s.id = j.shipment_id"
                                     " WHERE s.waybill = ?", (their_wb,))[0][0]
            st, doc, _ = sys.request("POST", "/v1/jobs/%d/retry" % their_job, {}, token=clerk)
            self.assertEqual(st, 404, doc)

            # "ready" labels and an all_ready manifest cover the token's agency, named or not
            st, pdf, _ = sys.request("POST", "/v1/labels", {"ready": True}, token=clerk)
            self.assertEqual(st, 200, pdf)
            printed = sys.db_query("SELECT s.waybill FROM shipments s WHERE s.label_prints > 0")
            self.assertEqual(sorted(w for (w,) in printed), sorted(w for _, w in mine))
            st, m, _ = sys.request("POST", "/v1/manifests", {"all_ready": True, "agency_code": agency}, token=clerk)
            self.assertEqual(st, 201, m)
            self.assertEqual(sorted(m["waybills"]), sorted(w for _, w in mine))
            st, pdf, _ = sys.request("GET", "/v1/manifests/%s.pdf" % m["id"], token=clerk)
            self.assertEqual(st, 200, pdf)
            st, theirs_m, _ = sys.request("POST", "/v1/manifests", {"waybills": [w for _, w in theirs]})
            self.assertEqual(st, 201, theirs_m)
            st, doc, _ = sys.request("GET", "/v1/manifests/%s.pdf" % theirs_m["id"], token=clerk)
            self.assertEqual(st, 404, doc)

            # a case system bound to the agency submits that agency's dossiers only
            st, doc, _ = sys.request("POST", "/v1/dossiers", harness.make_dossier(50), token=case_system)
            self.assertEqual(st, 201, doc)
            st, doc, _ = sys.request("POST", "/v1/dossiers", harness.make_dossier(750, template=other),
                                     token=case_system)
            self.assertEqual((st, doc["error"]["field"]), (403, "agency.code"), doc)

            # a token for every agency still reaches everything
            everyone = sys.token("clerk-province", "clerk")
            st, doc, _ = sys.request("GET", "/v1/shipments/%s" % their_wb, token=everyone)
            self.assertEqual(st, 200, doc)
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])

if __name__ == "__main__":
    unittest.main()


class RevocationTest(unittest.TestCase):
    """A revoked token is refused at once; the last admin token cannot be revoked; a lost admin
    token is recovered locally with bccid --new-admin-token."""

    def setUp(self):
        self.sys = harness.System(workers=0, with_sim=False)

    def tearDown(self):
        findings = self.sys.stop()
        self.assertEqual(findings, [])

    def hammer(self, token, stop, results):
        """GET /v1/codes with token on one kept-alive connection until stop is set; records
        (monotonic time the request was sent, status) for every request."""
        host = urllib.parse.urlsplit(self.sys.url).netloc
        conn = http.client.HTTPConnection(host, timeout=10)
        try:
            while not stop.is_set():
                sent = time.monotonic()
                try:
                    conn.request("GET", "/v1/codes", headers={"Authorization": "Bearer " + token})
                    r = conn.getresponse()
                    r.read()
                    results.append((sent, r.status))
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection(host, timeout=10)
        finally:
            conn.close()

    def test_revoked_token_is_refused_at_once_under_load(self):
        late_successes = 0
        for trial in range(5):
            name = "desk-%d" % trial
            token = self.sys.token(name, "clerk")
            stop, results, threads = threading.Event(), [], []
            for _ in range(6):
                t = threading.Thread(target=self.hammer, args=(token, stop, results))
                t.start()
                threads.append(t)
            time.sleep(0.3)
            st, doc, _ = self.sys.request("POST", "/v1/tokens/%s/revoke" % name, {})
            answered = time.monotonic()
            self.assertEqual(st, 200, doc)
            time.sleep(0.7)
            stop.set()
            for t in threads:
                t.join(15)
            before = [s for sent, s in results if sent < answered]
            after = [s for sent, s in results if sent > answered]
            self.assertIn(200, before, "trial %d: the token worked before its revocation" % trial)
            self.assertTrue(after, "trial %d: got no request after the revocation, want some" % trial)
            self.assertEqual(set(after), {401}, "trial %d: got %s after the revoke's 200, want only 401"
                             % (trial, sorted(set(after))))
            late_successes += after.count(200)
        self.assertEqual(late_successes, 0, "got %d successes after a revoke's 200, want 0" % late_successes)

    def test_last_admin_token_is_not_revoked(self):
        st, doc, _ = self.sys.request("POST", "/v1/tokens/admin/revoke", {})
        self.assertEqual(st, 409, "got %s %s, want 409" % (st, doc))
        self.assertEqual(doc["error"]["code"], "last_admin_token", doc)
        self.assertIn("create another admin token first", doc["error"]["message"])
        second = self.sys.token("admin-2", "admin")
        # with a second admin the first may go, and bccid still starts afterwards
        st, doc, _ = self.sys.request("POST", "/v1/tokens/admin/revoke", {}, token=second)
        self.assertEqual(st, 200, doc)
        st, doc, _ = self.sys.request("POST", "/v1/tokens/admin-2/revoke", {}, token=second)
        self.assertEqual((st, doc["error"]["code"]), (409, "last_admin_token"), doc)
        self.sys.restart_bccid()
        st, doc, _ = self.sys.request("GET", "/v1/tokens", token=second)
        self.assertEqual(st, 200, doc)

    def test_new_admin_token_recovers_a_lost_one(self):
        bccid = os.path.join(harness.BIN, "bccid")
        path = os.path.join(self.sys.state, "admin.token")
        # refused while the daemon runs: the state directory is locked
        p = subprocess.run([bccid, "--state_dir", self.sys.state, "--new-admin-token"] + self.sys.store_args,
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("stop it first", p.stderr)
        self.assertIn("--new-admin-token", subprocess.run([bccid, "--help"], capture_output=True, text=True,
                                                          timeout=30).stdout)
        old = self.sys.admin_token
        os.unlink(path)  # lost
        self.sys.bccid.stop()
        p = subprocess.run([bccid, "--state_dir", self.sys.state, "--new-admin-token"] + self.sys.store_args,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600, "got mode %03o, want 600" % mode)
        with open(path) as f:
            fresh = f.read().strip()
        self.assertTrue(fresh.startswith("bcci_") and fresh != old)
        self.sys.restart_bccid()
        st, doc, _ = self.sys.request("GET", "/v1/tokens", token=fresh)
        self.assertEqual(st, 200, doc)
        self.assertEqual(sum(1 for t in doc["tokens"] if t["role"] == "admin" and not t["revoked"]), 2)
        # the old one keeps working until an operator revokes it
        st, doc, _ = self.sys.request("GET", "/v1/tokens", token=old)
        self.assertEqual(st, 200, doc)


def keypair():
    out = subprocess.run([os.path.join(harness.BIN, "bcci"), "keys", "gen", "--json"], capture_output=True,
                         timeout=30, check=True)
    return json.loads(out.stdout)


def write_secret(path, text):
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


class CurveTest(unittest.TestCase):
    def test_only_listed_worker_keys_get_jobs_over_tcp(self):
        server, bad = keypair(), keypair()
        # '#' is a Z85 digit: the allowed key holds one, so a parser that takes it for a comment fails here
        good = keypair()
        for _ in range(60):
            if "#" in good["public"]:
                break
            good = keypair()
        self.assertIn("#", good["public"])
        sys = harness.System(workers=0, tcp=True)
        try:
            allowed = os.path.join(sys.dir, "workers.keys")
            with open(allowed, "w") as f:
                f.write("# workers allowed on the jobs link\n%s  worker-1\n" % good["public"])
            sys.bccid_args = ["--curve_secret_file", write_secret(os.path.join(sys.dir, "server.key"),
                                                                  server["secret"]),
                              "--curve_allowed_workers", allowed]
            sys.restart_bccid()
            sys.import_codes()
            d = harness.make_dossier(1)
            sys.request("POST", "/v1/dossiers", d)
            intruder = sys.start_worker(["--curve_server_key", server["public"], "--curve_secret_file",
                                         write_secret(os.path.join(sys.dir, "bad.key"), bad["secret"])])
            plain = sys.start_worker()  # no CURVE at all
            time.sleep(3)
            st, doc, _ = sys.dossier(d["dossier_code"])
            self.assertEqual(doc["status"], "created", "a worker with an unknown key gets no job")
            self.assertEqual(sys.sim_stats()["requests"]["CreateOrder"], 0)
            self.assertIn("refused at the handshake", sys.bccid.stderr_text())
            intruder.stop()
            plain.stop()
            sys.start_worker(["--curve_server_key", server["public"], "--curve_secret_file",
                              write_secret(os.path.join(sys.dir, "good.key"), good["secret"])])
            self.assertEqual(sys.wait_all_status([d["dossier_code"]], "delivered", timeout=60), set())
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])


class TamperTest(unittest.TestCase):
    def test_an_altered_event_breaks_the_chain(self):
        sys = harness.System(workers=1)
        try:
            sys.import_codes()
            d = harness.make_dossier(1)
            sys.request("POST", "/v1/dossiers", d)
            self.assertEqual(sys.wait_all_status([d["dossier_code"]], "delivered", timeout=60), set())
            bcci = [os.path.join(harness.BIN, "bcci"), "--url", sys.url, "--token", sys.admin_token]
            ok = subprocess.run(bcci + ["timeline", "verify", d["dossier_code"]], capture_output=True, text=True,
                                timeout=30)
            self.assertEqual(ok.returncode, 0, ok.stderr)
            self.assertIn("valid", ok.stdout)
            # someone with file access rewrites history: the delivery becomes a failure
            sys.db_exec("UPDATE timeline SET status = 'delivery_failed' WHERE status = 'delivered'")
            bad = subprocess.run(bcci + ["timeline", "verify", d["dossier_code"]], capture_output=True, text=True,
                                 timeout=30)
            self.assertEqual(bad.returncode, 1)
            self.assertIn("altered", bad.stderr)
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])
