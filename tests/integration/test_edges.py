"""The edges hardened ([R2.2]): links across machines, input that cannot be delivered,
configuration values, HTTP edges. Real processes on loopback; every wait is bounded."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import casesys
import harness
from test_security import keypair, write_secret

SECRET = b"edges-shared-secret"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_briefly(prog, args, timeout=6):
    """Run a program that is expected to refuse to start; (exit code, stderr text).
    A program that does start is stopped and reported as exit code None."""
    work = tempfile.mkdtemp(prefix="bcci-edges-")
    try:
        p = subprocess.Popen([os.path.join(harness.BIN, prog)] + list(args), cwd=work, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = p.communicate(timeout=timeout)
            return p.returncode, err.decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate(timeout=5)
            return None, err.decode("utf-8", "replace")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def log_lines(text):
    """The JSON log lines of a program's stderr (other lines are skipped)."""
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


class AcrossMachinesTest(unittest.TestCase):
    """Item 1: no job travels in clear text over TCP, no notification goes out unsigned."""

    def test_bccid_refuses_tcp_jobs_without_curve(self):
        rc, err = run_briefly("bccid", ["--http_listen", "127.0.0.1:0", "--state_dir", "var",
                                        "--jobs_endpoint", "tcp://127.0.0.1:%d" % free_port()])
        self.assertEqual(rc, 2, err)
        self.assertIn("jobs_endpoint", err)
        self.assertIn("curve_secret_file", err)
        self.assertIn("insecure_plaintext_jobs", err, "the error names the opt-out too")

    def test_worker_refuses_tcp_without_curve(self):
        rc, err = run_briefly("bcci-worker", ["--connect", "tcp://127.0.0.1:%d" % free_port()])
        self.assertEqual(rc, 2, err)
        self.assertIn("connect", err)
        self.assertIn("curve_server_key", err)

    def test_opt_out_is_warned_at_every_start(self):
        sys = harness.System(workers=1, tcp=True)  # the harness sets insecure_plaintext_jobs = yes
        try:
            sys.import_codes(count=100)
            d = harness.make_dossier(1)
            st, doc, _ = sys.request("POST", "/v1/dossiers", d)
            self.assertEqual(st, 201, doc)
            self.assertEqual(sys.wait_all_status([d["dossier_code"]], "booked", timeout=30) -
                             {d["dossier_code"]}, set())
            sys.restart_bccid()
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])
        bccid_warnings = [line for p in sys.procs if p.name == "bccid" for line in log_lines(p.stderr_text())
                          if line["level"] == "warn" and "insecure_plaintext_jobs" in line["msg"]]
        self.assertEqual(len(bccid_warnings), 2, "one warning per start of bccid")
        worker_warnings = [line for line in log_lines(sys.workers[0].stderr_text())
                           if line["level"] == "warn" and "insecure_plaintext_jobs" in line["msg"]]
        self.assertEqual(len(worker_warnings), 1)

    def test_case_system_url_without_a_secret_stops_bccid(self):
        rc, err = run_briefly("bccid", ["--http_listen", "127.0.0.1:0", "--state_dir", "var",
                                        "--case_system_url", "http://127.0.0.1:%d/dvc" % free_port()])
        self.assertEqual(rc, 2, err)
        lines = [line for line in err.splitlines() if "case_system.secret_file" in line]
        self.assertEqual(len(lines), 1, err)
        self.assertIn("case_system_url", lines[0])
        self.assertIn("unsigned", lines[0])

    def test_notifications_are_never_sent_unsigned_nor_with_another_secret(self):
        receiver = casesys.Receiver(SECRET)
        sys = None

        def booked(code):
            deadline = time.time() + 30
            while time.time() < deadline and not sys.dossier(code)[1]["shipments"][-1].get("carrier_ref"):
                time.sleep(0.3)
            self.assertTrue(sys.dossier(code)[1]["shipments"][-1].get("carrier_ref"), "not booked")

        def job_error(marker):
            deadline, text = time.time() + 20, ""
            while time.time() < deadline and marker not in text:
                time.sleep(0.3)
                st, jobs, _ = sys.request("GET", "/v1/jobs")
                text = json.dumps(jobs, ensure_ascii=False)
            return text

        try:
            sys = harness.System(workers=0, bccid_args=["--case_system_url", receiver.url], case_secret=SECRET)
            sys.import_codes(count=100)
            # one worker at a time, one dossier each: booked, then its notification (DVC 9) is due
            for seq, args, marker in [
                    (2, [], "no case_system.secret_file"),
                    (3, ["--case_system.secret_file", self.other_secret(sys.dir)], "is not the secret bccid was given")]:
                w = sys.start_worker(args)
                d = harness.make_dossier(seq)
                st, doc, _ = sys.request("POST", "/v1/dossiers", d)
                self.assertEqual(st, 201, doc)
                booked(d["dossier_code"])
                self.assertIn(marker, job_error(marker), "the job's last error says what the worker lacks")
                self.assertEqual(receiver.attempts, 0, "nothing reached the case system unsigned or wrongly signed")
                w.stop()
            # a worker given bccid's secret sends, signed so that the case system accepts it
            sys.start_worker(["--case_system.secret_file", sys.case_secret_file])
            d = harness.make_dossier(4)
            st, doc, _ = sys.request("POST", "/v1/dossiers", d)
            self.assertEqual(st, 201, doc)
            deadline = time.time() + 40
            while time.time() < deadline and not receiver.accepted:
                time.sleep(0.3)
            self.assertTrue(receiver.accepted, "the notification arrives once a worker has bccid's secret")
            self.assertEqual(receiver.bad_signatures, 0)
        finally:
            findings = sys.stop() if sys else []
            receiver.stop()
        self.assertEqual(findings, [])
        self.assertIn("case_system.secret_file", sys.workers[0].stderr_text(), "warned at start")

    @staticmethod
    def other_secret(d):
        path = os.path.join(d, "other.secret")
        with open(path, "wb") as f:
            f.write(b"not-the-secret-bccid-has")
        os.chmod(path, 0o600)
        return path


ROGUE = os.path.join(harness.BIN, "..", "tests", "rogue_zmq")


def rogue(endpoint, seconds, keys=(), blind=True):
    """Run the hostile jobs client (tests/tools/rogue_zmq.c): {messages, jobs, forged}."""
    p = subprocess.run([ROGUE] + (["--blind"] if blind else []) + [endpoint, str(seconds)] + list(keys),
                       capture_output=True, timeout=seconds + 30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


class RogueClientTest(unittest.TestCase):
    """Item 1: a client that is not a listed worker gets no job over tcp:// and its forged RESULTs change
    nothing; a listed key does get jobs, so the tool is not merely deaf."""

    def test_a_rogue_client_gets_no_job_and_forges_nothing(self):
        server, listed, stranger = keypair(), keypair(), keypair()
        sys = harness.System(workers=0, tcp=True)
        try:
            allowed = os.path.join(sys.dir, "workers.keys")
            with open(allowed, "w") as f:
                f.write("%s worker-1\n" % listed["public"])
            sys.bccid_args = ["--curve_secret_file", write_secret(os.path.join(sys.dir, "server.key"),
                                                                  server["secret"]),
                              "--curve_allowed_workers", allowed]
            sys.restart_bccid()
            sys.import_codes(count=100)
            d = harness.make_dossier(11)
            st, doc, _ = sys.request("POST", "/v1/dossiers", d)
            self.assertEqual(st, 201, doc)
            waybill = doc["shipments"][0]["waybill"]
            before = sys.request("GET", "/v1/shipments/%s" % waybill)[1]
            for what, keys in [("no keys", []), ("a key bccid does not list", [server["public"], stranger["secret"]])]:
                with self.subTest(client=what):
                    got = rogue(sys.jobs_endpoint, 4, keys)
                    self.assertEqual(got["jobs"], 0, "%s: no job reaches it" % what)
                    self.assertGreater(got["forged"], 0, "it did try forged RESULTs")
                    st, now, _ = sys.request("GET", "/v1/shipments/%s" % waybill)
                    self.assertEqual(st, 200, now)
                    self.assertEqual((now["status"], now.get("carrier_ref")),
                                     (before["status"], before.get("carrier_ref")), "%s: the shipment is unchanged" % what)
            self.assertEqual(sys.sim_stats()["requests"]["CreateOrder"], 0)
            self.assertNotIn("FORGED", json.dumps(sys.timeline(d["dossier_code"])[1], ensure_ascii=False))
            # the control: with a listed key the same client is a worker, gets the job and is believed
            got = rogue(sys.jobs_endpoint, 6, [server["public"], listed["secret"]], blind=False)
            self.assertGreaterEqual(got["jobs"], 1, got)
            deadline = time.time() + 10
            while time.time() < deadline and \
                    sys.request("GET", "/v1/shipments/%s" % waybill)[1].get("carrier_ref") != "FORGED-BY-ROGUE":
                time.sleep(0.3)
            self.assertEqual(sys.request("GET", "/v1/shipments/%s" % waybill)[1].get("carrier_ref"),
                             "FORGED-BY-ROGUE",
                             "a listed key's RESULT is applied: the refusals above are the keys, not the tool")
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])


def agency_name(chars, nbytes):
    """An agency name of exactly chars characters and nbytes bytes of UTF-8 (2-byte "ư" + ASCII)."""
    two = nbytes - chars
    assert 0 <= two <= chars
    return "ư" * two + "a" * (chars - two)


class InputTest(unittest.TestCase):
    """Item 2: nothing accepted that cannot be delivered; unknown fields refused by name."""

    @classmethod
    def setUpClass(cls):
        # no worker: nothing moves in the background, so "nothing was written" can be checked
        cls.sys = harness.System(workers=0, with_sim=False)
        cls.sys.import_codes(count=1000)
        cls.seq = 100

    @classmethod
    def tearDownClass(cls):
        findings = cls.sys.stop()
        assert findings == [], "sanitizer reports:\n" + "\n".join(findings)

    def next_dossier(self):
        InputTest.seq += 1
        return harness.make_dossier(InputTest.seq)

    def assert_refused(self, status, code, field, path="/v1/dossiers", body=None):
        before = self.sys.db_counts()
        st, doc, _ = self.sys.request("POST", path, body)
        self.assertEqual(st, status, "%s: got %s %.300r, want %s" % (path, st, doc, status))
        self.assertEqual(doc["error"]["code"], code, doc)
        self.assertEqual(doc["error"]["field"], field, doc)
        self.assertEqual(self.sys.db_counts(), before, "nothing was written")

    def test_agency_name_longer_than_the_carrier_takes(self):
        d = self.next_dossier()
        d["agency"]["name"] = agency_name(157, 211)
        self.assertEqual((len(d["agency"]["name"]), len(d["agency"]["name"].encode())), (157, 211))
        self.assert_refused(422, "invalid_field", "agency.name", body=d)

    def test_invisible_and_control_characters_are_refused(self):
        cases = [
            ("recipient", "name", "Nguyễn\u202eThị An", "recipient.name"),      # right-to-left override
            ("recipient", "name", "\u2066Nguyễn Thị An", "recipient.name"),      # left-to-right isolate
            ("recipient", "address", "Số 12\tngõ 5", "recipient.address"),       # TAB
            ("recipient", "address", "Số 12\nngõ 5", "recipient.address"),       # a line break in an address
            ("agency", "name", "UBND\u200bphường", "agency.name"),               # zero-width space
            ("agency", "name", "UBND\u2060phường", "agency.name"),               # word joiner
            ("agency", "address", "\ufeffSố 1", "agency.address"),              # BOM
            ("recipient", "name", "Nguyễn\u0007An", "recipient.name"),           # BEL
            ("recipient", "name", "Nguyễn\u0085An", "recipient.name"),           # C1 control
        ]
        for party, key, value, field in cases:
            with self.subTest(field=field, value=value.encode("unicode_escape")):
                d = self.next_dossier()
                d[party][key] = value
                self.assert_refused(422, "invalid_field", field, body=d)

    def test_unknown_fields_are_refused_by_name(self):
        d = self.next_dossier()
        st, doc, _ = self.sys.request("POST", "/v1/dossiers", d)
        self.assertEqual(st, 201, doc)
        waybill = doc["shipments"][0]["waybill"]
        agency = d["agency"]["code"]
        st, tokens_before, _ = self.sys.request("GET", "/v1/tokens")
        cases = [
            ("/v1/tokens", {"name": "clerk-x", "role": "clerk", "agency": agency}, "agency"),
            ("/v1/codes", {"prefix": "RR", "from": 20000000, "count": 10, "counts": 5}, "counts"),
            ("/v1/labels", {"waybills": [waybill], "formats": "pdf"}, "formats"),
            ("/v1/manifests", {"agency_code": agency, "all_ready": True, "date": "2025-11-24"}, "date"),
            ("/v1/scans", {"code": waybill, "event": "accepted", "office": "HN"}, "office"),
            ("/v1/shipments/%s/cancel" % waybill, {"reason": "citizen asked", "force": True}, "force"),
            ("/v1/purge", {"older_than_days": 3650, "dry_run": True, "all": True}, "all"),
        ]
        for path, body, field in cases:
            with self.subTest(path=path):
                self.assert_refused(400, "unknown_field", field, path=path, body=body)
        st, tokens_after, _ = self.sys.request("GET", "/v1/tokens")
        self.assertEqual(tokens_after, tokens_before, "no token was created")
        st, doc, _ = self.sys.request("POST", "/v1/shipments/%s/cancel" % waybill, {"reason": "citizen asked"})
        self.assertIn(st, (200, 202, 409), doc)


class DeliverTest(unittest.TestCase):
    def test_agency_name_the_carrier_takes_is_delivered(self):
        d = harness.make_dossier(7)
        d["agency"]["name"] = agency_name(100, 150)
        sys = harness.System(workers=1)
        try:
            sys.import_codes(count=100)
            st, doc, _ = sys.request("POST", "/v1/dossiers", d)
            self.assertEqual(st, 201, doc)
            self.assertEqual(sys.wait_all_status([d["dossier_code"]], "delivered", timeout=60), set())
            self.assertEqual(sys.sim_stats()["by_sale_order"][d["dossier_code"]]["orders"], 1,
                             "booked once at the simulator")
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])


def raw_request(port, data, timeout=10):
    """Send raw bytes to bccid and return the whole answer (bytes) until it closes or times out."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:") and len(body) >= int(line.split(b":")[1]):
                        return out
        return out
    finally:
        s.close()


class HttpEdgesTest(unittest.TestCase):
    """Item 4: slow clients cut, invalid UTF-8 paths answered, ambiguous lengths refused."""

    TIMEOUT = 2

    @classmethod
    def setUpClass(cls):
        cls.sys = harness.System(workers=0, with_sim=False,
                                 bccid_args=["--http_timeout", str(cls.TIMEOUT), "--http_per_ip_limit", "64"])
        cls.port = int(cls.sys.url.rsplit(":", 1)[1])

    @classmethod
    def tearDownClass(cls):
        findings = cls.sys.stop()
        assert findings == [], "sanitizer reports:\n" + "\n".join(findings)

    def test_slow_clients_are_cut_and_one_address_is_capped(self):
        socks = []
        try:
            for _ in range(80):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finished
                socks.append(s)
            start = time.time()
            closed_at = {}
            deadline = start + self.TIMEOUT + 6
            while len(closed_at) < len(socks) and time.time() < deadline:
                for i, s in enumerate(socks):
                    if i in closed_at:
                        continue
                    s.settimeout(0.01)
                    try:
                        if s.recv(1024) == b"":
                            closed_at[i] = time.time() - start
                    except socket.timeout:
                        pass
                    except OSError:
                        closed_at[i] = time.time() - start
            self.assertEqual(len(closed_at), 80, "every slow connection is closed within timeout + slack")
            early = [t for t in closed_at.values() if t < self.TIMEOUT * 0.5]
            self.assertGreaterEqual(len(early), 16, "connections beyond the per-address limit are refused at once")
            self.assertLess(max(closed_at.values()), self.TIMEOUT + 6)
        finally:
            for s in socks:
                s.close()
        # the server still answers: once it has counted this address's closed connections off
        # its per-address limit, which it does in its own loop, a moment after the sockets close
        st, give_up = None, time.time() + 5
        while st != 200 and time.time() < give_up:
            try:
                st, doc, _ = self.sys.request("GET", "/healthz")
            except (ConnectionError, OSError):
                time.sleep(0.1)
        self.assertEqual(st, 200, "the server still answers after the slow clients are gone")

    def test_invalid_utf8_in_the_path_gets_a_json_400(self):
        routes = [("GET", "/v1/dossiers/%FF"), ("GET", "/v1/dossiers/%FF/timeline"),
                  ("GET", "/v1/shipments/%FF/label"), ("POST", "/v1/shipments/%FF/cancel"),
                  ("GET", "/t/%FF?k=x"), ("GET", "/v1/manifests/%FF.pdf"), ("POST", "/v1/carriers/%FF/events"),
                  ("GET", "/%FF"), ("POST", "/v1/jobs/%FF/retry")]
        for method, path in routes:
            with self.subTest(path=path):
                req = ("%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\n"
                       "Connection: close\r\n\r\n" % (method, path, self.sys.admin_token)).encode()
                answer = raw_request(self.port, req)
                self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:200])
                body = json.loads(answer.partition(b"\r\n\r\n")[2].decode("utf-8"))
                self.assertEqual(body["error"]["code"], "invalid_path")
        time.sleep(0.3)
        with open(self.sys.bccid.errpath, "rb") as f:
            for line in f.read().splitlines():
                text = line.decode("utf-8")  # raises if a raw byte reached the log
                if text.startswith("{"):
                    json.loads(text)

    def test_request_ids_are_distinct_and_a_safe_one_is_kept(self):
        import re
        seen = set()
        for _ in range(300):
            answer = raw_request(self.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            head = answer.partition(b"\r\n\r\n")[0].decode("latin-1")
            rid = re.search(r"(?im)^X-Request-Id: *(\S+)", head)
            self.assertIsNotNone(rid, head)
            self.assertRegex(rid.group(1), r"^[A-Za-z0-9_-]{12}$")
            seen.add(rid.group(1))
        self.assertEqual(len(seen), 300, "every request gets its own id")
        answer = raw_request(self.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: case-42.a\r\n"
                                        b"Connection: close\r\n\r\n")
        self.assertIn(b"X-Request-Id: case-42.a", answer.partition(b"\r\n\r\n")[0])

    def test_two_different_content_lengths_are_refused(self):
        body = b'{"prefix": "RR", "from": 30000000, "count": 10}'
        req = (b"POST /v1/codes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + self.sys.admin_token.encode() +
               b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\nContent-Length: 5\r\n"
               b"Connection: close\r\n\r\n" % len(body) + body)
        answer = raw_request(self.port, req)
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:300])
        st, doc, _ = self.sys.request("GET", "/v1/codes")
        self.assertNotIn("RR300000", json.dumps(doc), "nothing was imported")


class TrickleTest(unittest.TestCase):
    """Item 4a: clients that trickle their request (headers or body, one byte a second, so never idle for
    http_timeout) are cut at http_request_deadline, while a normal client is served meanwhile."""

    DEADLINE, IDLE, COUNT, LIMIT = 3, 60, 50, 25  # every wait below is bounded by LIMIT seconds

    def test_trickling_connections_are_cut_at_the_request_deadline(self):
        sys = harness.System(workers=0, with_sim=False,
                             bccid_args=["--http_request_deadline", str(self.DEADLINE), "--http_timeout", str(self.IDLE)])
        port = int(sys.url.rsplit(":", 1)[1])
        socks, closed, answers = [], {}, []
        try:
            body_head = ("POST /v1/codes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                         "Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n{" % sys.admin_token).encode()
            for i in range(self.COUNT):
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                # half trickle their headers, half their body
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " if i % 2 else body_head)
                s.setblocking(False)
                socks.append(s)
            start = time.time()
            while len(closed) < self.COUNT and time.time() < start + self.LIMIT:
                for i, s in enumerate(socks):
                    if i in closed:
                        continue
                    try:
                        if s.recv(4096) == b"":
                            closed[i] = time.time() - start
                            continue
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed[i] = time.time() - start
                        continue
                    try:
                        s.send(b"a")  # one more byte: the connection is never idle
                    except BlockingIOError:
                        pass
                    except OSError:
                        closed[i] = time.time() - start
                st, doc, _ = sys.request("GET", "/healthz")
                answers.append(st)
                time.sleep(1)
        finally:
            for s in socks:
                s.close()
            findings = sys.stop()
        self.assertEqual(findings, [])
        self.assertEqual(len(closed), self.COUNT,
                         "every trickling connection is cut within %d s (the idle timeout is %d s)" %
                         (self.LIMIT, self.IDLE))
        self.assertTrue(answers and set(answers) == {200}, "a normal client is served meanwhile: %r" % answers)
        cuts = [line for line in log_lines(sys.bccid.stderr_text()) if "http_request_deadline" in line["msg"]]
        self.assertTrue(cuts, "the cut is logged, naming the key")


def s10(serial, prefix="RR"):
    """A valid S10 waybill for serial (check digit of design §1)."""
    digits = "%08d" % serial
    total = sum(int(d) * w for d, w in zip(digits, (8, 6, 4, 2, 3, 5, 9, 7)))
    check = 11 - total % 11
    check = 0 if check == 10 else 5 if check == 11 else check
    return "%s%s%dVN" % (prefix, digits, check)


class TrackingRateLimitTest(unittest.TestCase):
    """Item 4d: the tracking page's limits, behind a proxy and per waybill."""

    PER_ADDRESS, PER_WAYBILL = 60, 20

    def track(self, sys, waybill, xff=None):
        headers = {"X-Forwarded-For": xff} if xff else {}
        st, _, _ = sys.request("GET", "/t/%s?k=x" % waybill, headers=headers, token=None)
        return st

    def test_forwarded_for_only_from_trusted_proxies_and_a_per_waybill_limit(self):
        plain = harness.System(workers=0, with_sim=False)
        proxied = None
        try:
            # an untrusted peer's X-Forwarded-For is ignored: every request counts against 127.0.0.1
            answers = [self.track(plain, s10(1000 + i), "10.1.0.%d" % i) for i in range(self.PER_ADDRESS + 1)]
            self.assertEqual(answers[:self.PER_ADDRESS], [404] * self.PER_ADDRESS)
            self.assertEqual(answers[-1], 429, "a made-up header does not buy a new budget")

            proxied = harness.System(workers=0, with_sim=False, bccid_args=["--trusted_proxies", "127.0.0.1"])
            # a trusted proxy's X-Forwarded-For is the client: one client runs out, another does not
            answers = [self.track(proxied, s10(2000 + i), "203.0.113.7") for i in range(self.PER_ADDRESS + 1)]
            self.assertEqual(answers[-1], 429)
            self.assertEqual(self.track(proxied, s10(3000), "203.0.113.8"), 404, "another client behind the proxy")
            self.assertEqual(self.track(proxied, s10(3001), "198.51.100.1, 203.0.113.9"), 404,
                             "the right-most address is the one the proxy saw")
            # one waybill from many addresses: the per-waybill limit holds
            answers = [self.track(proxied, s10(4000), "192.0.2.%d" % i) for i in range(self.PER_WAYBILL + 1)]
            self.assertEqual(answers[:self.PER_WAYBILL], [404] * self.PER_WAYBILL)
            self.assertEqual(answers[-1], 429, "the per-waybill limit hits across addresses")
        finally:
            findings = plain.stop() + (proxied.stop() if proxied else [])
        self.assertEqual(findings, [])


# (program, option, bad value): every one must stop the program with exit code 2 naming the key
BAD_VALUES = [
    ("bccid", "log_level", "verbose"),
    ("bccid", "http_threads", "many"),
    ("bccid", "max_body", "-5"),
    ("bccid", "public_base_url", "notaurl"),
    ("bccid", "carrier", "dhl"),
    ("bccid", "http_listen", "nohost"),
    ("bccid", "jobs_endpoint", "udp://127.0.0.1:7000"),
    ("bccid", "case_system_url", "ftp://dvc.example/notify"),
    ("bccid", "max_batch", "0"),
    ("bccid", "commit_delay_us", "-1"),
    ("bccid", "scheduler_interval_ms", "1e3"),
    ("bccid", "insecure_plaintext_jobs", "maybe"),
    ("bccid", "http_timeout", "0"),
    ("bccid", "http_per_ip_limit", "lots"),
    ("bccid", "http_request_deadline", "0"),
    ("bccid", "trusted_proxies", "127.0.0.1,proxy.local"),
    ("bcci-worker", "log_level", "verbose"),
    ("bcci-worker", "concurrency", "0"),
    ("bcci-worker", "connect", "http://127.0.0.1:7000"),
    ("bcci-worker", "carrier.timeout_ms", "-1"),
    ("bcci-worker", "carrier.vnpost.url", "notaurl"),
    ("bcci-worker", "shutdown_grace_ms", "soon"),
    ("bcci-worker", "carrier.allow_insecure", "perhaps"),
    ("bcci-carrier-sim", "log_level", "verbose"),
    ("bcci-carrier-sim", "listen", "nohost"),
    ("bcci-carrier-sim", "clock_speed", "fast"),
    ("bcci-carrier-sim", "dialect", "dhl"),
    ("bcci-carrier-sim", "webhook_url", "notaurl"),
    ("bcci-carrier-sim", "seed", "-3"),
]


class ConfigurationTest(unittest.TestCase):
    """Item 3: every value of every program validated at start."""

    def test_bad_values_stop_every_program_naming_the_key(self):
        base = {"bccid": ["--http_listen", "127.0.0.1:0", "--state_dir", "var"],
                "bcci-worker": [], "bcci-carrier-sim": ["--listen", "127.0.0.1:0"]}
        for prog, key, value in BAD_VALUES:
            with self.subTest(prog=prog, key=key, value=value):
                rc, err = run_briefly(prog, base[prog] + ["--" + key, value])
                self.assertEqual(rc, 2, "%s --%s %s: got exit %s, want 2; stderr: %s" % (prog, key, value, rc, err))
                lines = [line for line in err.splitlines() if key in line]
                self.assertTrue(lines, "stderr names %s: %r" % (key, err))
                self.assertIn(value, lines[0], "the message quotes the value given")
                for marker in harness.SANITIZER_MARKERS:
                    self.assertNotIn(marker, err)

    def test_loopback_public_base_url_warns_about_qr_codes(self):
        sys = harness.System(workers=0, with_sim=False)  # the default public_base_url is loopback
        try:
            text = sys.bccid.stderr_text()
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])
        warnings = [line for line in log_lines(text) if line["level"] == "warn" and "public_base_url" in line["msg"]]
        self.assertEqual(len(warnings), 1, text)
        self.assertIn("QR", warnings[0]["msg"])


if __name__ == "__main__":
    unittest.main()
