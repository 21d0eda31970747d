#!/usr/bin/env python3
"""pg_bench - intake and end to end on PostgreSQL, one and two bccid instances (make bench, section 8)

A throw-away PostgreSQL (tests/pg/pg_server.py: initdb, fsync on, synchronous_commit on) on
127.0.0.1, then, each on a fresh database:
  a. one bccid on PostgreSQL: wrk POSTing distinct dossiers to /v1/dossiers for --seconds;
  b. two bccid instances on one database: two wrk at once, half the connections each; the
     rate is the sum of both, p99 the worse of the two;
  c. end to end on one instance with --workers workers: --e2e-requests dossiers submitted
     with loadgen, timed until the simulator has booked every one.
Every process shares this machine's cores with the database server and the load generators.
The last line is "summary {json}" for run_bench.py, which sets these figures beside the
SQLite intake of the same run.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "pg"))

import run_bench as rb  # noqa: E402
import wrk_run  # noqa: E402
from pg_server import PgServer  # noqa: E402


def start_bccid(procs, name, bccid, state, uri, password_file, sim_url):
    os.makedirs(state, exist_ok=True)
    port = rb.free_port()
    jobs = f"ipc://{os.path.join(state, 'jobs.sock')}"
    p, _, err = procs.start(name, [bccid, "--http_listen", f"127.0.0.1:{port}", "--state_dir", state,
                                   "--jobs_endpoint", jobs, "--store", uri, "--store_password_file",
                                   password_file, "--carrier.vnpost.url", sim_url])
    base = f"http://127.0.0.1:{port}"
    rb.wait_healthy(p, base, err, name, timeout=60.0)
    return p, base, jobs


def admin_token(state):
    path = os.path.join(state, "admin.token")
    with open(path, "r", encoding="utf-8") as f:
        return f.read().strip()


def import_codes(base, token):
    status, text = rb.http("POST", base + "/v1/codes", {"prefix": "RR", "from": 10000000, "count": 1000000},
                           headers={"Authorization": "Bearer " + token}, timeout=30.0)
    if status not in (200, 201):
        raise rb.BenchError(f"POST /v1/codes answered {status}: {text[:300]}")


def wrk_intake(wrk, workdir, name, base, token, clients, seconds, first_date):
    template, dates, per_thread = rb.intake_script(workdir)
    # a distinct range of receipt dates per load generator, so two of them never send one code
    dates = [d.rsplit("-", 1)[0] + "-" + rb.receipt_date(first_date + i) for i, d in enumerate(dates)]
    script = wrk_run.write_script(os.path.join(workdir, name + ".lua"), template, dates, per_thread, "POST",
                                  ["Content-Type: application/json", "Authorization: Bearer " + token])
    return wrk_run.run(wrk, base + "/v1/dossiers", script, clients, seconds)


def line(r):
    return (f"{r['ok_rps']:,.0f}/s (2xx), p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
            f"non-2xx {r['non2xx']:,}, socket errors {r['socket_errors']:,}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--e2e-requests", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--wait", type=float, default=180.0)
    args = ap.parse_args()
    bin_dir = os.environ.get("BCCI_BIN", os.path.join(ROOT, "bin"))
    bench_dir = os.environ.get("BCCI_BENCH", os.path.join(ROOT, "build", "rel", "bench"))
    bccid = os.path.join(bin_dir, "bccid")
    sim = os.path.join(bin_dir, "bcci-carrier-sim")
    worker = os.path.join(bin_dir, "bcci-worker")
    loadgen = os.path.join(bench_dir, "loadgen")
    wrk = "wrk"
    workdir = tempfile.mkdtemp(prefix="bcci-pgbench-")
    procs = rb.Procs(workdir)
    summary = {}
    try:
        with PgServer() as pg:
            p_sim, out, err = procs.start("carrier-sim", [sim, "--listen", "127.0.0.1:0", "--clock_speed", "1000"])
            sim_url = rb.wait_listening(p_sim, out, err, "bcci-carrier-sim")

            # a. one instance
            uri = pg.create_db("bench_one")
            state = os.path.join(workdir, "one")
            p1, base1, jobs1 = start_bccid(procs, "bccid-one", bccid, state, uri, pg.password_file, sim_url)
            token = admin_token(state)
            import_codes(base1, token)
            r = wrk_intake(wrk, workdir, "one", base1, token, args.clients, args.seconds, 1)
            summary["pg_intake_one"] = r
            print(f"a. one bccid on PostgreSQL, wrk {args.clients} connections: {line(r)}")

            # c. end to end on that instance (its intake backlog first, as section 4 does)
            before = rb.sim_orders(sim_url)
            for i in range(args.workers):
                procs.start(f"worker{i + 1}", [worker, "--connect", jobs1, "--carrier.vnpost.url", sim_url])
            backlog = r["ok"]
            t0 = time.monotonic()
            got = rb.wait_orders(sim_url, before + backlog, args.wait)
            t = time.monotonic() - t0
            summary["pg_backlog"] = {"dossiers": got - before, "seconds": t, "rps": (got - before) / t if t else None}
            print(f"c. backlog of {backlog:,} dossiers booked through {args.workers} workers: {got - before:,} in "
                  f"{t:.2f} s = {rb.fmt_rate(summary['pg_backlog']['rps'])}")
            tmpl = rb.write_template(workdir, "e2e.json", 60)
            start_count = got
            t0 = time.monotonic()
            lg = subprocess.run([loadgen, "--url", base1 + "/v1/dossiers", "--method", "POST", "--body-template",
                                 tmpl, "--clients", str(args.clients), "--requests", str(args.e2e_requests),
                                 "--seq-start", "1", "--header", "Authorization: Bearer " + token],
                                capture_output=True, text=True, timeout=args.e2e_requests / 50.0 + 120,
                                start_new_session=True)
            submit = json.loads(lg.stdout.strip().splitlines()[-1]) if lg.stdout.strip() else None
            accepted = submit["ok"] if submit else 0
            got = rb.wait_orders(sim_url, start_count + accepted, max(args.wait - (time.monotonic() - t0), 1.0))
            t = time.monotonic() - t0
            summary["pg_e2e"] = {"accepted": accepted, "booked": got - start_count, "seconds": t,
                                 "rps": (got - start_count) / t if t else None}
            print(f"c. end to end: {got - start_count:,} of {accepted:,} accepted dossiers booked {t:.2f} s after "
                  f"the first submission = {rb.fmt_rate(summary['pg_e2e']['rps'])}")
            for name in [f"worker{i + 1}" for i in range(args.workers)] + ["bccid-one"]:
                for (nm, p, _, _) in procs.items:
                    if nm == name:
                        procs.stop(p)

            # b. two instances on one database
            uri = pg.create_db("bench_two")
            state_a, state_b = os.path.join(workdir, "a"), os.path.join(workdir, "b")
            pa, base_a, _ = start_bccid(procs, "bccid-a", bccid, state_a, uri, pg.password_file, sim_url)
            pb, base_b, _ = start_bccid(procs, "bccid-b", bccid, state_b, uri, pg.password_file, sim_url)
            token = admin_token(state_a)
            import_codes(base_a, token)
            results = {}

            def run(name, base, first_date):
                results[name] = wrk_intake(wrk, workdir, name, base, token, max(args.clients // 2, 1),
                                           args.seconds, first_date)

            threads = [threading.Thread(target=run, args=("a", base_a, 100)),
                       threading.Thread(target=run, args=("b", base_b, 200))]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            both = {"ok_rps": results["a"]["ok_rps"] + results["b"]["ok_rps"],
                    "p99_ms": max(results["a"]["p99_ms"], results["b"]["p99_ms"]),
                    "non2xx": results["a"]["non2xx"] + results["b"]["non2xx"]}
            summary["pg_intake_two"] = both
            print(f"b. two bccid instances on one PostgreSQL database, {args.clients // 2} connections each: "
                  f"{both['ok_rps']:,.0f}/s together (a {results['a']['ok_rps']:,.0f}/s, "
                  f"b {results['b']['ok_rps']:,.0f}/s), worse p99 {both['p99_ms']:.2f} ms, "
                  f"non-2xx {both['non2xx']:,}")
            for p in (pa, pb):
                if p.poll() is not None:
                    print(f"   (a bccid exited with status {p.returncode} during the run)")
            procs.stop_all()
    except (rb.BenchError, RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"not measured: {e}")
    finally:
        procs.stop_all()
    print("summary " + json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sys.exit(main())
