"""Nothing lost, nothing twice: crash, fault and overload tests (issue: fault tests).

Every test breaks something on purpose (SIGKILL, SIGSTOP, carrier faults, a
full or read-only disk, a foreign write lock, SIGTERM under load, a large
backlog behind a slow carrier) and then proves that every dossier the gateway
acknowledged is present exactly once, that nothing is half-written, that the
carrier holds exactly one order per dossier and that every timeline hash
chain verifies.

Size: BCCI_FAULTS_FULL=1 (make test-faults) runs the full-size scenarios;
otherwise a reduced size that takes seconds per test (make test). Every wait
is bounded; every process is stopped in tearDown.
"""
import concurrent.futures
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import harness

FULL = os.environ.get("BCCI_FAULTS_FULL") == "1"
SEED = int(os.environ.get("BCCI_FAULTS_SEED") or time.time())

# reduced / full sizes
SIZE = {
    "kill_clients": 100 if FULL else 24,
    "kill_dossiers": 3000 if FULL else 150,
    "kill_count": 5 if FULL else 2,
    "worker_kill_dossiers": 1000 if FULL else 80,
    "worker_kill_rounds": 10 if FULL else 3,
    "worker_stop_rounds": 3 if FULL else 1,
    "carrier_dossiers": 1000 if FULL else 60,
    "outage_seconds": 60 if FULL else 10,
    "refused_seconds": 60 if FULL else 0,
    "outage_dossiers": 200 if FULL else 30,
    "backlog": 100000 if FULL else 5000,
    "drain_dossiers": 300 if FULL else 60,
}
# engine defaults (gateway/engine/engine.c): first cooldown 2 s, threshold 5 failures
BREAKER_COOLDOWN_S = 2.0
WORKER_CREDIT = 8  # bcci-worker --concurrency default


def say(msg):
    print("  [faults] " + msg, flush=True)


def vm_hwm_kb(pid):
    """Peak resident set size of a process (VmHWM, kB), 0 when unknown."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def snapshot_db(sys_):
    """A private copy of the database (with its WAL) that SQLite can recover and read
    while bccid is dead or busy; returns (connection, directory to remove)."""
    tmp = tempfile.mkdtemp(prefix="bcci-snap-")
    for suffix in ("", "-wal"):
        src = os.path.join(sys_.state, "bcci.db" + suffix)
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(tmp, "bcci.db" + suffix))
    return sqlite3.connect(os.path.join(tmp, "bcci.db"), timeout=10), tmp


def integrity(path):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def store_integrity(sys_):
    """SQLite's integrity check of the file; PostgreSQL keeps its own pages whole (WAL), so "ok" """
    if harness.STORE != "sqlite":
        return "ok"
    return integrity(os.path.join(sys_.state, "bcci.db"))


def db_parts(sys_):
    """(code -> parts, integrity verdict) while bccid is dead or busy: from a private copy of the
    SQLite file, or straight from PostgreSQL (a SIGKILLed client leaves nothing half-committed)"""
    if harness.STORE != "sqlite":
        return {row[0]: tuple(row[1:]) for row in sys_.db_query(PARTS_SQL)}, "ok"
    con, tmp = snapshot_db(sys_)
    try:
        return dossier_parts(con), con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)


PARTS_SQL = """
SELECT d.code,
       (SELECT COUNT(*) FROM submissions s WHERE s.dossier_id = d.id),
       (SELECT COUNT(*) FROM shipments sh WHERE sh.dossier_id = d.id),
       (SELECT COUNT(*) FROM timeline t WHERE t.dossier_id = d.id AND t.seq = 1),
       (SELECT COUNT(*) FROM jobs j JOIN shipments sh ON j.shipment_id = sh.id
         WHERE sh.dossier_id = d.id AND j.kind = 'book')
  FROM dossiers d"""


def dossier_parts(con):
    """code -> (submissions, shipments, first timeline events, book jobs)."""
    return {row[0]: tuple(row[1:]) for row in con.execute(PARTS_SQL)}


def wait_db(sys_, sql, want, timeout, args=()):
    """Poll a read-only query until its single value equals want; returns the last value."""
    deadline = time.time() + timeout
    got = None
    while time.time() < deadline:
        try:
            got = sys_.db_query(sql, args)[0][0]
        except (sqlite3.Error, RuntimeError):  # RuntimeError: psql on PostgreSQL
            got = None
        if got == want:
            return got
        time.sleep(0.3)
    return got


def delivered_count(sys_):
    return sys_.db_query("SELECT COUNT(*) FROM shipments WHERE status = 'delivered'")[0][0]


def submit_fast(sys_, dossiers, concurrency=16, timeout=60):
    """POST many dossiers over kept-alive connections (one per thread) with pre-encoded
    bodies; returns {status: count}. Faster than harness.submit_many for big backlogs."""
    import http.client
    from urllib.parse import urlparse

    u = urlparse(sys_.url)
    bodies = [json.dumps(d, ensure_ascii=False).encode("utf-8") for d in dossiers]
    headers = {"Authorization": "Bearer " + sys_.admin_token, "Content-Type": "application/json"}
    counts = {}
    lock = threading.Lock()

    def run(mine):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
        local = {}
        try:
            for body in mine:
                for attempt in range(3):
                    try:
                        conn.request("POST", "/v1/dossiers", body=body, headers=headers)
                        r = conn.getresponse()
                        r.read()
                        local[r.status] = local.get(r.status, 0) + 1
                        break
                    except (OSError, http.client.HTTPException):
                        conn.close()
                        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
                        if attempt == 2:
                            local[None] = local.get(None, 0) + 1
        finally:
            conn.close()
        with lock:
            for k, v in local.items():
                counts[k] = counts.get(k, 0) + v

    threads = [threading.Thread(target=run, args=(bodies[i::concurrency],)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout * 10)
    return counts


def sim_post_faults(sys_, spec):
    req = urllib.request.Request(sys_.sim_url + "/_sim/faults", data=spec.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def sim_requests(stats):
    return sum(stats["requests"].values())


def restart_sim_same_port(sys_, faults=""):
    """Start a fresh simulator on the port of the old one (the workers keep their URL)."""
    port = sys_.sim_url.rsplit(":", 1)[1]
    args = [os.path.join(harness.BIN, "bcci-carrier-sim"), "--listen", "127.0.0.1:" + port,
            "--webhook_url", sys_.url + "/v1/carriers/vnpost/events", "--webhook_token", sys_.carrier_token,
            "--clock_speed", "3600", "--step_seconds", "600"]
    if faults:
        args += ["--faults", faults]
    deadline = time.time() + 20
    while True:
        p = harness.Proc("sim", args, sys_.dir)
        try:
            p.read_first_line(timeout=10)
            break
        except RuntimeError:
            p.kill()
            if time.time() > deadline:
                raise
            time.sleep(0.5)  # the old socket may linger for a moment
    sys_.sim = p
    sys_.procs.append(p)
    return p


class FaultTest(unittest.TestCase):
    """Common checks; each test creates self.sys."""
    sys = None
    allow_sanitizer_silence = ()

    def tearDown(self):
        if self.sys:
            findings = self.sys.stop()
            self.sys = None
            self.assertEqual(findings, [], "sanitizer reports:\n" + "\n".join(findings))

    def assert_exactly_once_at_carrier(self, codes, total=None):
        stats = self.sys.sim_stats()
        dup = lost = 0
        for code in codes:
            entry = stats["by_sale_order"].get(code)
            if entry is None:
                lost += 1
            elif entry["orders"] != 1:
                dup += 1
        self.assertEqual((dup, lost), (0, 0), "carrier: %d dossiers booked more than once, %d never booked"
                         % (dup, lost))
        want = len(codes) if total is None else total
        self.assertEqual(stats["orders_total"], want, "simulator holds %d orders, want %d"
                         % (stats["orders_total"], want))
        return stats

    def assert_chains(self, codes):
        bad = []
        for code in codes:
            st, tl, _ = self.sys.timeline(code)
            if st != 200 or not tl.get("chain_valid"):
                bad.append((code, st, tl.get("chain_error") if isinstance(tl, dict) else tl))
        self.assertEqual(bad, [], "timelines that do not verify: %s" % bad[:3])

    def assert_delivered(self, codes, timeout):
        want = len(codes)
        got = wait_db(self.sys, "SELECT COUNT(*) FROM shipments WHERE status = 'delivered'", want, timeout)
        if got != want:
            pending = self.sys.wait_all_status(codes, "delivered", timeout=1)
            self.fail("delivered %s of %d; e.g. not delivered: %s" % (got, want, sorted(pending)[:5]))

    def assert_nothing_leased(self, settle=0):
        """No job leased (after at most settle seconds: a retry of a booking whose first
        attempt died with its worker may still be in flight when the shipment is delivered)."""
        if settle:
            wait_db(self.sys, "SELECT COUNT(*) FROM jobs WHERE state = 'leased'", 0, timeout=settle)
        st, doc, _ = self.sys.request("GET", "/v1/jobs?state=leased")
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["jobs"], [], "jobs left leased: %s" % doc["jobs"][:3])


# ------------------------------------------------------------------ killed gateway

class GatewayKillTest(FaultTest):
    def test_bccid_sigkilled_under_concurrent_clients(self):
        rnd = random.Random(SEED)
        n, nclients, nkills = SIZE["kill_dossiers"], SIZE["kill_clients"], SIZE["kill_count"]
        self.sys = harness.System(workers=2)
        self.sys.import_codes(count=n + 1000)
        dossiers = [harness.make_dossier(i, t) for i, t in zip(range(1, n + 1), harness.load_examples() * (n // 12 + 1))]
        acked = {}            # code -> first 2xx status
        no_answer = set()     # codes that, at least once, got no answer (connection error, timeout, 503)
        unexpected = []       # any other answer is a defect
        lock = threading.Lock()
        stop_at = time.time() + (600 if FULL else 90)
        todo = list(dossiers)
        rnd.shuffle(todo)

        def client(mine):
            for d in mine:
                while time.time() < stop_at:
                    try:
                        st, _, _ = self.sys.request("POST", "/v1/dossiers", d, timeout=15)
                    except Exception:  # noqa: BLE001 - a killed server gives many kinds of errors
                        st = None
                    with lock:
                        if st in (200, 201):
                            acked.setdefault(d["dossier_code"], st)
                            break
                        if st not in (None, 503):
                            unexpected.append((d["dossier_code"], st))
                            break
                        no_answer.add(d["dossier_code"])
                    time.sleep(0.2)

        threads = [threading.Thread(target=client, args=(todo[i::nclients],), daemon=True) for i in range(nclients)]
        for t in threads:
            t.start()
        kills = 0
        for k in range(nkills):
            # kill at a random moment while clients are still submitting: after a random
            # share of the dossiers was acknowledged, then a random few milliseconds more
            target = int(n * (k + rnd.uniform(0.3, 0.9)) / (nkills + 1))
            deadline = time.time() + 60
            while len(acked) < target and time.time() < deadline:
                time.sleep(0.005)
            time.sleep(rnd.uniform(0, 0.05))
            with lock:
                acked_before = dict(acked)
            self.sys.bccid.kill()
            kills += 1
            # bccid is dead: the database must hold whole dossiers only
            parts, verdict = db_parts(self.sys)
            self.assertEqual(verdict, "ok")
            half = {c: p for c, p in parts.items() if p != (1, 1, 1, 1)}
            self.assertEqual(half, {}, "half-written dossiers after SIGKILL: %s" % list(half.items())[:3])
            missing = [c for c in acked_before if c not in parts]
            self.assertEqual(missing, [], "acknowledged (201) but lost after SIGKILL: %s" % missing[:5])
            say("kill %d: %d dossiers on disk, all whole; %d acknowledged before the kill, none lost; "
                "%d of %d still to submit" % (kills, len(parts), len(acked_before), n - len(acked_before), n))
            self.sys.restart_bccid(kill=True)
        for t in threads:
            t.join(max(1, stop_at - time.time()))
        self.assertEqual(unexpected, [], "answers other than 200/201/503 during kills")
        self.assertEqual(len(acked), n, "clients got an answer for %d of %d dossiers" % (len(acked), n))
        codes = [d["dossier_code"] for d in dossiers]
        parts, _ = db_parts(self.sys)
        self.assertEqual(sorted(parts), sorted(codes), "the database holds exactly the submitted dossiers")
        self.assertEqual({c for c, p in parts.items() if p != (1, 1, 1, 1)}, set())
        self.assert_delivered(codes, timeout=600 if FULL else 90)
        stats = self.assert_exactly_once_at_carrier(codes)
        self.assert_chains(codes)
        say("gateway kill: %d clients, %d dossiers, %d SIGKILLs (seed %d), %d requests without answer "
            "(retried), %d replays answered 200, carrier orders %d, create calls %d, duplicates 0, lost 0"
            % (nclients, n, kills, SEED, len(no_answer), list(acked.values()).count(200), stats["orders_total"],
               stats["create_calls"], ))


# ------------------------------------------------------------------ killed and partitioned workers

class WorkerFaultTest(FaultTest):
    def test_workers_sigkilled_in_a_loop(self):
        rnd = random.Random(SEED + 1)
        n = SIZE["worker_kill_dossiers"]
        self.sys = harness.System(workers=3, sim_faults="slow=0.3")
        self.sys.import_codes(count=n + 100)
        dossiers = [harness.make_dossier(i) for i in range(1, n + 1)]
        results = self.sys.submit_many(dossiers, concurrency=16)
        self.assertEqual([s for s, _, _ in results].count(201), n)
        kills = 0
        for _ in range(SIZE["worker_kill_rounds"]):
            live = [w for w in self.sys.workers if w.alive()]
            victim = rnd.choice(live)
            victim.signal(signal.SIGKILL)
            victim.p.wait(5)
            kills += 1
            self.sys.start_worker()
            time.sleep(rnd.uniform(0.3, 1.2))
        codes = [d["dossier_code"] for d in dossiers]
        self.assert_delivered(codes, timeout=600 if FULL else 90)
        stats = self.assert_exactly_once_at_carrier(codes)
        self.assert_nothing_leased(settle=30)
        say("worker kills: %d dossiers, %d SIGKILLs, %d CreateOrder calls, %d orders, duplicates 0, lost 0"
            % (n, kills, stats["create_calls"], stats["orders_total"]))

    def test_worker_stopped_past_its_lease_over_tcp(self):
        n = SIZE["worker_kill_dossiers"] // 2
        self.sys = harness.System(workers=2, sim_faults="slow=0.5", tcp=True)
        self.sys.import_codes(count=n + 100)
        dossiers = [harness.make_dossier(i) for i in range(1, n + 1)]
        self.sys.submit_many(dossiers)
        stops = 0
        for r in range(SIZE["worker_stop_rounds"]):
            time.sleep(0.5)
            stalled = self.sys.workers[r % 2]
            stalled.signal(signal.SIGSTOP)
            time.sleep(4.5)  # > 3 missed heartbeats: its leases go to the other worker
            stalled.signal(signal.SIGCONT)
            stops += 1
        codes = [d["dossier_code"] for d in dossiers]
        self.assert_delivered(codes, timeout=600 if FULL else 90)
        stats = self.assert_exactly_once_at_carrier(codes)
        self.assert_chains(codes)
        say("worker SIGSTOP over %s: %d dossiers, %d stops of 4.5 s, %d CreateOrder calls, %d orders, "
            "duplicates 0, lost 0" % (self.sys.jobs_endpoint, n, stops, stats["create_calls"],
                                      stats["orders_total"]))


# ------------------------------------------------------------------ misbehaving carrier

MIXED = "http500=0.15,http429=0.1,timeout=0.03,malformed=0.1,slow=0.05,dup_webhook=0.3,reorder_webhook=0.3"
MIXED2 = "http500=0.3,http429=0.15,malformed=0.15,dup_webhook=0.5,reorder_webhook=0.5"
WEBHOOK_FAULTS = "dup_webhook=0.3,reorder_webhook=0.3"


class CarrierFaultTest(FaultTest):
    def test_mixed_faults_deliver_exactly_once(self):
        n = SIZE["carrier_dossiers"]
        self.sys = harness.System(workers=2, sim_faults=MIXED, sim_args=("--seed", str(SEED)))
        self.sys.import_codes(count=n + 100)
        dossiers = [harness.make_dossier(i, t) for i, t in zip(range(1, n + 1), harness.load_examples() * (n // 12 + 1))]
        half = n // 2
        res = self.sys.submit_many(dossiers[:half])
        self.assertEqual(sim_post_faults(self.sys, MIXED2), 200)  # change the mix at runtime
        res += self.sys.submit_many(dossiers[half:])
        self.assertEqual([s for s, _, _ in res].count(201), n)
        time.sleep(1)
        self.assertEqual(sim_post_faults(self.sys, MIXED), 200)
        # A carrier failing about half of its bookings keeps the breaker open by chance: each
        # failed probe doubles the wait, up to 60 s (breaker.h), which is the breaker doing its
        # job. So once the faults have hit the bookings (at least n of them), only the webhook
        # faults stay, and delivery is awaited beyond the longest wait for a probe.
        deadline = time.time() + 40
        while self.sys.sim_stats()["faults_injected"] < n and time.time() < deadline:
            time.sleep(0.2)
        self.assertGreaterEqual(self.sys.sim_stats()["faults_injected"], n)
        self.assertEqual(sim_post_faults(self.sys, WEBHOOK_FAULTS), 200)
        codes = [d["dossier_code"] for d in dossiers]
        self.assert_delivered(codes, timeout=900 if FULL else 60 + 100)
        stats = self.assert_exactly_once_at_carrier(codes)
        self.assert_chains(codes)
        dups = self.sys.db_query("SELECT COUNT(*) FROM (SELECT dossier_id FROM timeline WHERE source = 'carrier'"
                                 " AND status = 'delivered' GROUP BY dossier_id HAVING COUNT(*) > 1) AS twice")[0][0]
        self.assertEqual(dups, 0, "%d dossiers have a duplicated 'delivered' event on their timeline" % dups)
        say("carrier faults (%s, then %s, then %s): %d dossiers, %d faults injected, %d API requests, %d CreateOrder "
            "calls, %d webhooks sent, orders %d, duplicates 0, lost 0"
            % (MIXED, MIXED2, WEBHOOK_FAULTS, n, stats["faults_injected"], sim_requests(stats), stats["create_calls"],
               stats["webhooks_sent"], stats["orders_total"]))

    def test_breaker_bounds_traffic_to_a_dead_carrier(self):
        outage = SIZE["outage_seconds"]
        m = SIZE["outage_dossiers"]
        self.sys = harness.System(workers=2)
        self.sys.import_codes(count=3 * m + 100)
        warm = [harness.make_dossier(i) for i in range(1, 6)]
        self.assertEqual([s for s, _, _ in self.sys.submit_many(warm)].count(201), 5)
        self.assert_delivered([d["dossier_code"] for d in warm], timeout=60)

        # carrier down: every request answers 500
        self.assertEqual(sim_post_faults(self.sys, "http500=1"), 200)
        before = sim_requests(self.sys.sim_stats())
        t0 = time.time()
        down = [harness.make_dossier(i) for i in range(100, 100 + m)]
        self.assertEqual([s for s, _, _ in self.sys.submit_many(down)].count(201), m,
                         "intake keeps accepting while the carrier is down")
        time.sleep(max(0.0, outage - (time.time() - t0)))
        seen = sim_requests(self.sys.sim_stats()) - before
        # before the breaker opens: at most the workers' credit plus the threshold;
        # then one half-open probe (a token call and a booking) per cooldown, which doubles
        bound = 2 * WORKER_CREDIT + 5 + 2 * int(outage / BREAKER_COOLDOWN_S + 1)
        without = m * 2
        say("carrier http500=1 for %d s: %d dossiers waiting, the simulator saw %d requests (bound %d; "
            "a client without a breaker would send >= %d)" % (outage, m, seen, bound, without))
        self.assertLessEqual(seen, bound, "the circuit breaker did not bound traffic to a dead carrier")
        st, metrics, _ = self.sys.request("GET", "/v1/jobs?state=ready")
        self.assertEqual(st, 200)

        # traffic resumes by itself when the carrier recovers
        self.assertEqual(sim_post_faults(self.sys, ""), 200)
        t1 = time.time()
        resumed = None
        while time.time() - t1 < 4 * outage + 30:
            if self.sys.sim_stats()["orders_total"] > len(warm):
                resumed = time.time() - t1
                break
            time.sleep(0.2)
        self.assertIsNotNone(resumed, "traffic did not resume after the carrier recovered")
        say("carrier recovered: the first booking went through %.1f s after the faults were cleared "
            "(the next half-open probe)" % resumed)
        codes = [d["dossier_code"] for d in warm + down]
        if FULL or refused_after():
            self.assert_delivered(codes, timeout=180)
            self.assert_exactly_once_at_carrier(codes)
            say("carrier recovered: %d dossiers delivered %.1f s after the faults were cleared"
                % (len(codes), time.time() - t1))

        refused = SIZE["refused_seconds"]
        if refused:
            # connection refused: the simulator is gone
            before_attempts = self.sys.db_query("SELECT COALESCE(SUM(attempts), 0) FROM jobs")[0][0]
            old_stats = self.sys.sim_stats()
            self.sys.sim.stop()
            gone = [harness.make_dossier(i) for i in range(1000, 1000 + m)]
            self.assertEqual([s for s, _, _ in self.sys.submit_many(gone)].count(201), m)
            time.sleep(refused)
            attempts = self.sys.db_query("SELECT COALESCE(SUM(attempts), 0) FROM jobs")[0][0] - before_attempts
            bound = 2 * WORKER_CREDIT + 5 + int(refused / BREAKER_COOLDOWN_S + 1)
            say("carrier refused connections for %d s: %d job attempts (bound %d)" % (refused, attempts, bound))
            self.assertLessEqual(attempts, bound)
            restart_sim_same_port(self.sys)
            gcodes = [d["dossier_code"] for d in gone]
            # a fresh simulator numbers its orders from 1 again, so its webhooks name
            # originalIds of the old one: check the bookings, not the deliveries
            left = wait_db(self.sys, "SELECT COUNT(*) FROM jobs WHERE kind = 'book' AND state != 'done'", 0,
                           timeout=150)
            self.assertEqual(left, 0, "%s bookings still pending after the carrier came back" % left)
            # the new simulator knows only the dossiers booked after it started
            self.assert_exactly_once_at_carrier(gcodes)
            self.assertEqual(old_stats["orders_total"], len(codes))


# ------------------------------------------------------------------ storage faults

def refused_after():
    return SIZE["refused_seconds"] > 0


def can_mount():
    return os.geteuid() == 0 and shutil.which("mount") is not None


@harness.sqlite_only
class StorageFaultTest(FaultTest):
    mounted = None

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            if self.mounted:
                subprocess.run(["umount", "-l", self.mounted], capture_output=True)
                self.mounted = None

    def mount_tmpfs(self, path, size):
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs (%s); disk-full test skipped" % r.stderr.strip())
        self.mounted = path

    def system_on_tmpfs(self, size):
        if not can_mount():
            self.skipTest("not root: cannot mount a small tmpfs for the state directory")
        # the state directory must be mounted before bccid creates its database
        base = tempfile.mkdtemp(prefix="bcci-it-tmpfs-")
        state = os.path.join(base, "var")
        self.mount_tmpfs(state, size)
        orig = harness.tempfile.mkdtemp
        harness.tempfile.mkdtemp = lambda prefix="": base
        try:
            self.sys = harness.System(workers=0, with_sim=False)
        finally:
            harness.tempfile.mkdtemp = orig
        self.assertEqual(self.sys.state, state)

    def test_sqlite_busy_answers_503_and_recovers(self):
        self.sys = harness.System(workers=0, with_sim=False)
        self.sys.import_codes(count=100)
        self.assertEqual(self.sys.request("POST", "/v1/dossiers", harness.make_dossier(1))[0], 201)
        db = os.path.join(self.sys.state, "bcci.db")
        holder = sqlite3.connect(db, timeout=1, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        hold_s = 7.0  # longer than bccid's busy timeout (5 s)
        t0 = time.time()
        answers = []
        try:
            with concurrent.futures.ThreadPoolExecutor(4) as ex:
                futs = [ex.submit(lambda d: self.sys.request("POST", "/v1/dossiers", d, timeout=30),
                                  harness.make_dossier(i)) for i in range(2, 6)]
                # reads never wait for the writer (WAL)
                st, _, _ = self.sys.dossier(harness.make_dossier(1)["dossier_code"])
                self.assertEqual(st, 200, "a read during a foreign write lock")
                for f in futs:
                    answers.append(f.result(timeout=60))
        finally:
            time.sleep(max(0.0, hold_s - (time.time() - t0)))
            holder.execute("ROLLBACK")
            holder.close()
        statuses = [a[0] for a in answers]
        for st, doc, hdrs in answers:
            self.assertIn(st, (201, 503), "got %s %s while the database was locked, want 503 or 201" % (st, doc))
            if st == 503:
                self.assertEqual(doc["error"]["code"], "storage_unavailable", doc)
                self.assertIn("Retry-After", hdrs, "a 503 says when to retry")
        self.assertIn(503, statuses, "a write lock held %.0f s (> busy timeout) must give 503" % hold_s)
        self.assertEqual(integrity(db), "ok")
        # the refused ones were not recorded; a retry now succeeds
        for i, st in zip(range(2, 6), statuses):
            code = harness.make_dossier(i)["dossier_code"]
            present = self.sys.db_query("SELECT COUNT(*) FROM dossiers WHERE code = ?", (code,))[0][0]
            self.assertEqual(present, 1 if st == 201 else 0, "dossier %s after answer %s" % (code, st))
            st2, doc2, _ = self.sys.request("POST", "/v1/dossiers", harness.make_dossier(i))
            self.assertEqual(st2, 200 if st == 201 else 201, doc2)
        self.assertTrue(self.sys.bccid.alive())
        say("SQLITE_BUSY: foreign write lock for %.0f s; answers %s; integrity ok; retries succeeded"
            % (hold_s, statuses))

    def test_disk_full_answers_503_and_recovers(self):
        self.system_on_tmpfs("8m")
        self.sys.import_codes(count=20000)
        filler = os.path.join(self.sys.state, "filler")
        # fill the disk, leaving a little room
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError:
                pass
        os.truncate(filler, max(0, os.path.getsize(filler) - 512 * 1024))
        accepted, refused, other = 0, 0, []
        seq = 1
        deadline = time.time() + 60
        while time.time() < deadline and refused < 5:
            st, doc, hdrs = self.sys.request("POST", "/v1/dossiers", harness.make_dossier(seq), timeout=30)
            seq += 1
            if st == 201:
                accepted += 1
            elif st == 503:
                refused += 1
                self.assertIn("Retry-After", hdrs)
            else:
                other.append((st, doc))
        self.assertEqual(other, [], "disk full must give 503, got %s" % other[:3])
        self.assertGreater(refused, 0, "the disk never filled up (%d accepted)" % accepted)
        self.assertTrue(self.sys.bccid.alive(), "bccid died on a full disk:\n" + self.sys.bccid.stderr_tail())
        # a failing commit makes health say so (a batch whose dossier failed alone still commits)
        st, doc, _ = self.sys.request("GET", "/healthz", token=None)
        self.assertIn((st, doc.get("storage")), ((200, "ok"), (503, "failing")), "health on a full disk: %s %s"
                      % (st, doc))
        self.assertEqual(integrity(os.path.join(self.sys.state, "bcci.db")), "ok")
        # every acknowledged dossier is there, whole
        con = sqlite3.connect("file:%s/bcci.db?mode=ro" % self.sys.state, uri=True, timeout=10)
        try:
            parts = dossier_parts(con)
        finally:
            con.close()
        self.assertEqual(len(parts), accepted, "acknowledged %d, on disk %d" % (accepted, len(parts)))
        self.assertEqual({c for c, p in parts.items() if p != (1, 1, 1, 1)}, set())
        os.unlink(filler)
        t0 = time.time()
        st = None
        while time.time() - t0 < 20:
            st, doc, _ = self.sys.request("POST", "/v1/dossiers", harness.make_dossier(seq))
            if st == 201:
                break
            time.sleep(0.5)
        self.assertEqual(st, 201, "writes resume once space is freed")
        st, doc, _ = self.sys.request("GET", "/healthz", token=None)
        self.assertEqual((st, doc.get("storage")), (200, "ok"), "health once space is freed: %s %s" % (st, doc))
        self.assertEqual(integrity(os.path.join(self.sys.state, "bcci.db")), "ok")
        say("disk full (8 MiB tmpfs): %d accepted, then %d answered 503 with Retry-After; integrity ok; "
            "writes resumed %.1f s after space was freed" % (accepted, refused, time.time() - t0))

    def test_read_only_database(self):
        self.sys = harness.System(workers=0, with_sim=False) if not can_mount() else None
        if self.sys is None:
            self.system_on_tmpfs("64m")
        self.sys.import_codes(count=100)
        self.assertEqual(self.sys.request("POST", "/v1/dossiers", harness.make_dossier(1))[0], 201)
        self.sys.bccid.stop()
        state = self.sys.state
        if self.mounted:
            r = subprocess.run(["mount", "-o", "remount,ro", state], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            how = "state dir remounted read-only"
        else:
            os.chmod(os.path.join(state, "bcci.db"), 0o400)
            os.chmod(state, 0o500)
            how = "state dir and database chmod read-only"
        try:
            args = [os.path.join(harness.BIN, "bccid"), "--http_listen", "127.0.0.1:0", "--state_dir", state]
            p = subprocess.run(args, cwd=self.sys.dir, capture_output=True, text=True, timeout=30)
            self.assertNotEqual(p.returncode, 0, "bccid started on a read-only database")
            self.assertNotIn(p.returncode, (-6, -11, 134, 139), "bccid crashed: %s" % p.stderr[-2000:])
            reason = [ln for ln in p.stderr.splitlines() if ln.startswith("{") and '"level":"error"' in ln]
            self.assertTrue(reason, "a one-line reason on stderr, got: %s" % p.stderr[-500:])
            for m in harness.SANITIZER_MARKERS:
                self.assertNotIn(m, p.stderr)
        finally:
            if self.mounted:
                subprocess.run(["mount", "-o", "remount,rw", state], capture_output=True)
            else:
                os.chmod(state, 0o700)
                os.chmod(os.path.join(state, "bcci.db"), 0o600)
        self.assertEqual(integrity(os.path.join(state, "bcci.db")), "ok")
        self.sys.restart_bccid()
        self.assertEqual(self.sys.dossier(harness.make_dossier(1)["dossier_code"])[0], 200)
        self.assertEqual(self.sys.request("POST", "/v1/dossiers", harness.make_dossier(2))[0], 201)
        say("read-only database (%s): bccid refused to start with '%s' (exit %d); integrity ok; "
            "restarted read-write with its data" % (how, reason[0][:100], p.returncode))


# ------------------------------------------------------------------ graceful stop

class GracefulStopTest(FaultTest):
    def test_sigterm_drains_within_bound(self):
        n = SIZE["drain_dossiers"]
        self.sys = harness.System(workers=2, sim_faults="slow=0.5")
        self.sys.import_codes(count=n + 100)
        dossiers = [harness.make_dossier(i) for i in range(1, n + 1)]
        self.assertEqual([s for s, _, _ in self.sys.submit_many(dossiers)].count(201), n)
        # late clients keep knocking during the stop: they get 503 or no connection, never 500
        late = [harness.make_dossier(i) for i in range(5000, 5020)]
        answers = []

        def knock():
            for d in late:
                try:
                    answers.append(self.sys.request("POST", "/v1/dossiers", d, timeout=10)[0])
                except Exception:  # noqa: BLE001
                    answers.append(None)
                time.sleep(0.05)

        time.sleep(1.0)
        leased = self.sys.db_query("SELECT COUNT(*) FROM jobs WHERE state = 'leased'")[0][0]
        knocker = threading.Thread(target=knock, daemon=True)
        knocker.start()
        t0 = time.time()
        self.sys.bccid.signal(signal.SIGTERM)
        try:
            rc = self.sys.bccid.p.wait(15)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.time() - t0
        knocker.join(15)
        self.assertIsNotNone(rc, "bccid did not exit within 15 s of SIGTERM")
        self.assertEqual(rc, 0, "bccid exit status after SIGTERM:\n" + self.sys.bccid.stderr_tail())
        self.assertLess(took, 10.0, "SIGTERM took %.1f s" % took)
        self.assertNotIn(500, answers, "a request during the stop got 500")
        left = self.sys.db_query("SELECT COUNT(*) FROM jobs WHERE state = 'leased'")[0][0]
        self.assertEqual(left, 0, "jobs left leased by a clean stop")
        self.assertEqual(store_integrity(self.sys), "ok")
        # restart with the workers stopped: nothing may be leased
        for w in self.sys.workers:
            w.stop()
        self.sys.restart_bccid()
        self.assert_nothing_leased()
        for _ in range(2):
            self.sys.start_worker()
        acked = [d for d, a in zip(late, answers) if a in (200, 201)]
        codes = [d["dossier_code"] for d in dossiers + acked]
        self.assert_delivered(codes, timeout=300 if FULL else 90)
        self.assert_exactly_once_at_carrier(codes)
        say("SIGTERM with %d jobs leased and %d late clients: exit %d after %.1f s, answers during stop %s, "
            "0 leased after restart, %d dossiers delivered once" % (leased, len(late), rc, took,
                                                                   sorted(set(map(str, answers))), len(codes)))


    @harness.sqlite_only
    def test_sigterm_while_requests_wait_for_the_writer(self):
        """Requests suspended in the engine queue at SIGTERM get an answer; bccid exits cleanly."""
        self.sys = harness.System(workers=0, with_sim=False)
        self.sys.import_codes(count=100)
        db = os.path.join(self.sys.state, "bcci.db")
        holder = sqlite3.connect(db, timeout=1, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # the writer waits: the requests below stay suspended
        answers = []
        try:
            with concurrent.futures.ThreadPoolExecutor(4) as ex:
                futs = [ex.submit(lambda d: self.sys.request("POST", "/v1/dossiers", d, timeout=30),
                                  harness.make_dossier(i)) for i in range(1, 5)]
                time.sleep(1.0)
                t0 = time.time()
                self.sys.bccid.signal(signal.SIGTERM)
                time.sleep(1.0)
                holder.execute("ROLLBACK")
                for f in futs:
                    try:
                        answers.append(f.result(timeout=30)[0])
                    except Exception:  # noqa: BLE001
                        answers.append(None)
        finally:
            holder.close()
        try:
            rc = self.sys.bccid.p.wait(15)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.time() - t0
        self.assertEqual(rc, 0, "bccid exit status after SIGTERM with suspended requests: %s\n%s"
                         % (rc, self.sys.bccid.stderr_tail(3)))
        self.assertLess(took, 10.0)
        for st in answers:
            self.assertIn(st, (201, 503), "a request waiting at SIGTERM got %s" % st)
        self.assertEqual(integrity(db), "ok")
        say("SIGTERM with 4 requests waiting for the writer: exit %s after %.1f s, answers %s"
            % (rc, took, answers))


# ------------------------------------------------------------------ overload

class OverloadTest(FaultTest):
    def test_backlog_behind_a_slow_carrier(self):
        n = SIZE["backlog"]
        self.sys = harness.System(workers=2, sim_faults="slow=1")
        self.sys.import_codes(count=n + 100)
        worker = self.sys.workers[0]
        t0 = time.time()
        max_leased = 0
        statuses = {}
        batch = 1000
        template = harness.load_examples()[0]
        for start in range(1, n + 1, batch):
            chunk = [harness.make_dossier(i, template) for i in range(start, min(n, start + batch - 1) + 1)]
            for st, c in submit_fast(self.sys, chunk, concurrency=16).items():
                statuses[st] = statuses.get(st, 0) + c
            st, doc, _ = self.sys.request("GET", "/v1/jobs?state=leased")
            max_leased = max(max_leased, sum(k.get("leased", 0) for k in doc["counts"].values()))
        intake_s = time.time() - t0
        self.assertEqual(statuses, {201: n}, "intake must accept every dossier durably: %s" % statuses)
        on_disk = self.sys.db_query("SELECT COUNT(*) FROM jobs WHERE kind = 'book'")[0][0]
        self.assertEqual(on_disk, n)
        booked = self.sys.db_query("SELECT COUNT(*) FROM jobs WHERE kind = 'book' AND state = 'done'")[0][0]
        # pacing: at most the workers' credit is ever out at once
        self.assertLessEqual(max_leased, 2 * WORKER_CREDIT, "dispatch was not paced: %d leased" % max_leased)
        hwm_bccid = vm_hwm_kb(self.sys.bccid.p.pid)
        hwm_worker = vm_hwm_kb(worker.p.pid)
        say("overload: %d dossiers accepted in %.1f s (%.0f/s) with the carrier at 2 s per call; "
            "%d booked meanwhile, at most %d leased at once; peak RSS bccid %d MiB, worker %d MiB"
            % (n, intake_s, n / intake_s, booked, max_leased, hwm_bccid // 1024, hwm_worker // 1024))
        # memory stays bounded: the backlog lives in SQLite, not in RAM (generous for ASan)
        self.assertLess(hwm_bccid, (1536 if FULL else 768) * 1024, "bccid peak RSS %d kB" % hwm_bccid)
        self.assertLess(hwm_worker, 512 * 1024, "worker peak RSS %d kB" % hwm_worker)
        # the carrier recovers: the backlog of bookings drains
        self.assertEqual(sim_post_faults(self.sys, ""), 200)
        t1 = time.time()
        left = wait_db(self.sys, "SELECT COUNT(*) FROM jobs WHERE kind = 'book' AND state != 'done'", 0,
                       timeout=1800 if FULL else 120)
        self.assertEqual(left, 0, "%s bookings still pending" % left)
        drain_s = time.time() - t1
        stats = self.sys.sim_stats()
        self.assertEqual(stats["orders_total"], n)
        dup = [c for c, e in stats["by_sale_order"].items() if e["orders"] != 1]
        self.assertEqual(dup, [], "booked twice: %s" % dup[:5])
        say("overload: backlog of %d bookings drained in %.1f s (%.0f/s) after recovery; peak RSS bccid %d MiB, "
            "worker %d MiB; orders %d, duplicates 0, lost 0"
            % (n, drain_s, n / max(drain_s, 0.001), vm_hwm_kb(self.sys.bccid.p.pid) // 1024,
               vm_hwm_kb(worker.p.pid) // 1024, stats["orders_total"]))


if __name__ == "__main__":
    unittest.main()
