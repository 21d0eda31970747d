"""
harness - start the real processes of bcci-gateway for integration tests.

Every test gets a fresh temporary state directory, a bccid on a free loopback
port, the carrier simulator speaking HTTP, and real bcci-worker processes on
ZeroMQ. Every wait is bounded; stop() terminates everything it started and
fails the test if a process reported a sanitizer error.

BCCI_TEST_STORE=postgresql gives each System's bccid a fresh database on the
test PostgreSQL (tests/pg/pg_server.py: the one named by BCCI_TEST_PG_URI, or
one started for this process) instead of STATE_DIR/bcci.db; db_counts and
db_query then read it through psql. Tests that open the SQLite file themselves
are marked @sqlite_only.
"""
import concurrent.futures
import glob
import itertools
import json
import os
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STORE = os.environ.get("BCCI_TEST_STORE") or "sqlite"
BIN = os.path.abspath(os.environ.get("BCCI_BIN") or os.path.join(ROOT, "build", "san", "bin"))
EXAMPLES = os.path.join(ROOT, "examples")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def sqlite_only(test):
    """for a test that opens the SQLite file itself (copies, locks, integrity checks)"""
    return unittest.skipIf(STORE != "sqlite", "reads the SQLite file itself")(test)


_pg = None
_pg_count = 0
_pg_lock = threading.Lock()


def pg_server():
    """the test PostgreSQL: the one the environment names, or one started now (stopped at exit)"""
    global _pg
    with _pg_lock:
        if _pg is None:
            import atexit
            import sys
            sys.path.insert(0, os.path.join(ROOT, "tests", "pg"))
            import pg_server as pgs
            _pg = pgs.PgServer.from_env()
            if _pg is None:
                _pg = pgs.PgServer().start()
                atexit.register(_pg.stop)
        return _pg


def pg_new_database():
    """(server, name) of a fresh database for one System"""
    global _pg_count
    pg = pg_server()
    with _pg_lock:
        _pg_count += 1
        name = "it_%d_%d" % (os.getpid(), _pg_count)
    pg.create_db(name)
    return pg, name


def _sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _bind(sql, args):
    """sqlite's ? placeholders filled with quoted literals, for psql"""
    if not args:
        return sql
    parts = sql.split("?")
    if len(parts) != len(args) + 1:
        raise ValueError("%d placeholders for %d arguments in %s" % (len(parts) - 1, len(args), sql))
    out = parts[0]
    for v, rest in zip(args, parts[1:]):
        out += _sql_literal(v) + rest
    return out


def load_examples():
    out = []
    for path in sorted(glob.glob(os.path.join(EXAMPLES, "*.json"))):
        with open(path, encoding="utf-8") as f:
            out.append(json.load(f))
    return out


def make_dossier(seq, template=None, prefix_date="251124"):
    """A valid dossier with a unique code derived from an example."""
    d = json.loads(json.dumps(template or load_examples()[0]))
    agency = d["agency"]["code"]
    # the daily sequence has at most 5 digits: beyond 99,999 dossiers move to an earlier day
    day = int(prefix_date[4:]) - seq // 100000
    d["dossier_code"] = "%s-%s%02d-%05d" % (agency, prefix_date[:4], day, seq % 100000)
    return d


class Proc:
    _serial = itertools.count(1)

    def __init__(self, name, argv, cwd, env=None):
        self.name = name
        self.argv = argv
        # a name of its own: two processes of one name started in the same millisecond (a fixture's worker
        # and a test's) shared one file, and the test read the other's lines
        self.errpath = os.path.join(cwd, "%s.%d.%d.err" % (name, int(time.time() * 1000) % 10000000,
                                                          next(Proc._serial)))
        self.err = open(self.errpath, "xb")
        self.p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=self.err,
                                  env=env or os.environ.copy(), start_new_session=True)
        self.first_line = None

    def read_first_line(self, timeout=20):
        """The line a program prints once it listens (bounded wait)."""
        result = {}

        def reader():
            result["line"] = self.p.stdout.readline().decode("utf-8", "replace").strip()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        if "line" not in result or not result["line"]:
            raise RuntimeError("%s did not start: %s" % (self.name, self.stderr_tail()))
        self.first_line = result["line"]
        # keep draining stdout so the child never blocks on a full pipe
        threading.Thread(target=self._drain, daemon=True).start()
        return self.first_line

    def _drain(self):
        try:
            for _ in self.p.stdout:
                pass
        except (ValueError, OSError):
            pass

    def stderr_text(self):
        self.err.flush()
        with open(self.errpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr_tail(self, n=15):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.alive():
            os.killpg(self.p.pid, sig)

    def stop(self, timeout=15):
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.p.wait(5)
        return self.p.returncode

    def kill(self):
        if self.alive():
            self.signal(signal.SIGKILL)
            self.p.wait(5)

    def sanitizer_errors(self):
        text = self.stderr_text()
        return [m for m in SANITIZER_MARKERS if m in text]


class System:
    """bccid + simulator + workers in one temporary directory."""

    def __init__(self, workers=2, clock_speed=3600, step_seconds=600, sim_faults="", bccid_args=(),
                 worker_args=(), sim_args=(), with_sim=True, tcp=False, sim_webhooks=True, pg_database=None,
                 case_secret=None, same_secrets_as=None):
        self.dir = tempfile.mkdtemp(prefix="bcci-it-")
        # case_secret (bytes): the case-system signing secret, in a 0600 file given to bccid (which needs one
        # with case_system_url); self.case_secret_file is that file, for the workers that should sign
        self.case_secret_file = None
        if case_secret is not None:
            self.case_secret_file = os.path.join(self.dir, "case_system.secret")
            with open(self.case_secret_file, "wb") as f:
                f.write(case_secret + b"\n")
            os.chmod(self.case_secret_file, 0o600)
            bccid_args = list(bccid_args) + ["--case_system.secret_file", self.case_secret_file]
        self.state = os.path.join(self.dir, "var")
        if same_secrets_as:
            # another instance on the same database: every instance has the same server secret
            # (it keys the timeline chain, tracking links and manifest codes) and the administrator's
            # token, which bccid writes only when it creates the first administrator
            os.makedirs(self.state, mode=0o700)
            for name in ("secret", "admin.token"):
                with open(os.path.join(same_secrets_as.state, name), "rb") as src:
                    data = src.read()
                with open(os.path.join(self.state, name), "wb") as dst:
                    dst.write(data)
                os.chmod(os.path.join(self.state, name), 0o600)
        self.procs = []
        self.workers = []
        self.bccid = None
        self.sim = None
        self.bccid_args = list(bccid_args)
        self.worker_args = list(worker_args)
        self.tcp = tcp
        self.jobs_endpoint = None
        self.store_args = []
        self.pg = self.pg_db = None
        try:
            if pg_database or STORE == "postgresql":
                # pg_database: (server, name) of a database the test made on a server of its own
                self.pg, self.pg_db = pg_database or pg_new_database()
                self.store_args = ["--store", self.pg.uri(self.pg_db), "--store_password_file", self.pg.password_file]
            self.start_bccid()
            if with_sim:
                self.start_sim(clock_speed, step_seconds, sim_faults, sim_args, webhooks=sim_webhooks)
            for _ in range(workers):
                self.start_worker()
        except BaseException:
            # a test whose setUp fails gets no tearDown: never leave processes behind
            self.stop()
            raise

    # ---------------------------------------------------------------- processes
    def start_bccid(self):
        args = [os.path.join(BIN, "bccid"), "--http_listen", "127.0.0.1:0", "--state_dir", self.state]
        if self.tcp:
            if not self.jobs_endpoint:
                import socket
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
                s.close()
                self.jobs_endpoint = "tcp://127.0.0.1:%d" % port
            args += ["--jobs_endpoint", self.jobs_endpoint] + self.plaintext_opt_out(self.bccid_args)
        p = Proc("bccid", args + self.store_args + self.bccid_args, self.dir)
        line = p.read_first_line()
        # {"ts":…,"level":"info","prog":"bccid","msg":"listening","http":"http://127.0.0.1:PORT","jobs":ENDPOINT}
        try:
            doc = json.loads(line)
        except ValueError:
            raise RuntimeError("bccid's first line is not JSON: %r" % line)
        assert doc.get("msg") == "listening", doc
        self.url = doc["http"]
        self.jobs_endpoint = doc["jobs"]
        self.bccid = p
        self.procs.append(p)
        self.wait_http(self.url + "/healthz")
        with open(os.path.join(self.state, "admin.token")) as f:
            self.admin_token = f.read().strip()
        return p

    def token(self, name, role):
        """A new API token for (name, role), created by the admin."""
        st, doc, _ = self.request("POST", "/v1/tokens", {"name": name, "role": role})
        assert st == 201, (st, doc)
        return doc["token"]

    def start_sim(self, clock_speed, step_seconds, faults, extra, webhooks=True):
        if not getattr(self, "carrier_token", None):
            self.carrier_token = self.token("vnpost-webhooks", "carrier")
        args = [os.path.join(BIN, "bcci-carrier-sim"), "--listen", "127.0.0.1:0",
                "--clock_speed", str(clock_speed), "--step_seconds", str(step_seconds)]
        if webhooks:
            args += ["--webhook_url", self.url + "/v1/carriers/vnpost/events", "--webhook_token", self.carrier_token,
                     "--viettel_webhook_url", self.url + "/v1/carriers/viettel/events"]
        if faults:
            args += ["--faults", faults]
        p = Proc("sim", args + list(extra), self.dir)
        line = p.read_first_line()
        self.sim_url = line.split()[-1]
        self.sim = p
        self.procs.append(p)
        return p

    def plaintext_opt_out(self, args, key="--curve_secret_file"):
        """tcp:// jobs without CURVE must be opted out of in so many words (design §8): a tcp
        system whose arguments carry no CURVE key says so here."""
        if self.tcp and key not in args:
            return ["--insecure_plaintext_jobs", "yes"]
        return []

    def start_worker(self, extra=()):
        args = [os.path.join(BIN, "bcci-worker"), "--connect", self.jobs_endpoint,
                "--carrier.vnpost.url", getattr(self, "sim_url", "http://127.0.0.1:9")] + self.worker_args + list(extra)
        args += self.plaintext_opt_out(args, "--curve_server_key")
        p = Proc("worker", args, self.dir)
        self.workers.append(p)
        self.procs.append(p)
        return p

    def restart_bccid(self, kill=False):
        if kill:
            self.bccid.kill()
        else:
            self.bccid.stop()
        # reuse the same port so the simulator's webhook URL stays valid
        port = self.url.rsplit(":", 1)[1]
        p = Proc("bccid", [os.path.join(BIN, "bccid"), "--http_listen", "127.0.0.1:" + port,
                           "--state_dir", self.state] +
                 (["--jobs_endpoint", self.jobs_endpoint] if self.tcp else []) +
                 self.plaintext_opt_out(self.bccid_args) + self.store_args + self.bccid_args, self.dir)
        deadline = time.time() + 20
        p.read_first_line()
        self.bccid = p
        self.procs.append(p)
        self.wait_http(self.url + "/healthz", deadline - time.time())
        return p

    def stop(self):
        """Stop everything; returns sanitizer findings per process."""
        findings = []
        for p in reversed(self.procs):
            p.stop()
        for p in self.procs:
            for m in p.sanitizer_errors():
                findings.append("%s: %s\n%s" % (p.name, m, p.stderr_tail(40)))
        return findings

    # ---------------------------------------------------------------- HTTP
    def wait_http(self, url, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError("%s did not answer within %ss" % (url, timeout))

    def request(self, method, path, body=None, content_type="application/json", headers=None, raw=None,
                base=None, timeout=30, token=True):
        """Returns (status, parsed JSON or raw bytes, headers). token: True = the admin token,
        a string = that token, None = no Authorization header."""
        data = raw
        headers = dict(headers or {})
        if base is None and token and "Authorization" not in headers:
            headers["Authorization"] = "Bearer " + (self.admin_token if token is True else token)
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request((base or self.url) + path, data=data, method=method)
        if data is not None and content_type:
            req.add_header("Content-Type", content_type)
        for k, v in headers.items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                payload = r.read()
                status, hdrs = r.status, dict(r.headers)
        except urllib.error.HTTPError as e:
            payload = e.read()
            status, hdrs = e.code, dict(e.headers)
        try:
            return status, json.loads(payload.decode("utf-8")), hdrs
        except (ValueError, UnicodeDecodeError):
            return status, payload, hdrs

    def import_codes(self, prefix="RR", start=10000000, count=100000):
        st, doc, _ = self.request("POST", "/v1/codes", {"prefix": prefix, "from": start, "count": count})
        assert st == 201, (st, doc)
        return doc

    def submit_many(self, dossiers, concurrency=16):
        with concurrent.futures.ThreadPoolExecutor(concurrency) as ex:
            return list(ex.map(lambda d: self.request("POST", "/v1/dossiers", d), dossiers))

    def sim_stats(self):
        st, doc, _ = self.request("GET", "/_sim/stats", base=self.sim_url)
        assert st == 200, (st, doc)
        return doc

    def dossier(self, code):
        return self.request("GET", "/v1/dossiers/" + code)

    def timeline(self, code):
        return self.request("GET", "/v1/dossiers/" + code + "/timeline")

    def wait_all_status(self, codes, status, timeout=90):
        """Poll until every dossier's shipment has status; returns the ones that did not."""
        pending = set(codes)
        deadline = time.time() + timeout
        while pending and time.time() < deadline:
            for code in list(pending):
                st, doc, _ = self.dossier(code)
                if st == 200 and doc["shipments"] and doc["shipments"][-1]["status"] == status:
                    pending.discard(code)
            if pending:
                time.sleep(0.3)
        return pending

    # ---------------------------------------------------------------- database
    def db_counts(self):
        """Row counts of every table and the code pool cursor, read-only."""
        if self.pg:
            tables = [r[0] for r in self.db_query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
            counts = " UNION ALL ".join("SELECT '%s', COUNT(*) FROM \"%s\"" % (t, t) for t in tables)
            out = {name: n for name, n in self.db_query(counts)}
            out["code_next"] = self.db_query("SELECT COALESCE(SUM(next), 0) FROM code_ranges")[0][0]
            return out
        con = sqlite3.connect("file:%s/bcci.db?mode=ro" % self.state, uri=True, timeout=10)
        try:
            out = {}
            for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                out[name] = con.execute('SELECT COUNT(*) FROM "%s"' % name).fetchone()[0]
            out["code_next"] = con.execute("SELECT COALESCE(SUM(next), 0) FROM code_ranges").fetchone()[0]
            return out
        finally:
            con.close()

    def db_exec(self, sql, args=()):
        """a write from outside bccid (an operator, or someone with access to the database)"""
        if self.pg:
            self.pg.psql(self.pg_db, _bind(sql, args))
            return
        con = sqlite3.connect(os.path.join(self.state, "bcci.db"), timeout=10)
        try:
            con.execute(sql, args)
            con.commit()
        finally:
            con.close()

    def db_query(self, sql, args=()):
        if self.pg:
            # one JSON document keeps the columns' types (numbers stay numbers, NULL is None)
            doc = self.pg.psql(self.pg_db, "SELECT COALESCE(json_agg(row_to_json(q)), '[]') FROM (%s) q"
                               % _bind(sql.rstrip().rstrip(";"), args))
            return [tuple(v for _, v in row) for row in json.loads(doc, object_pairs_hook=list)]
        con = sqlite3.connect("file:%s/bcci.db?mode=ro" % self.state, uri=True, timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()
