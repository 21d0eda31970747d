"""
make run - start the whole system on embedded defaults and show the return flow.

Starts bcci-carrier-sim, bccid and two bcci-worker processes with their state in
./var, imports a demo S10 range, submits the dossiers under examples/, waits
until the simulator has delivered every one, prints each timeline, then keeps
running with the URLs printed. Ctrl-C stops every process it started.
"""
import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


TOKEN = {"value": None}


def call(method, url, body=None):
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if TOKEN["value"]:
        req.add_header("Authorization", "Bearer " + TOKEN["value"])
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait_up(url, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="bin")
    ap.add_argument("--state", default="var")
    ap.add_argument("--http", default="127.0.0.1:8080")
    ap.add_argument("--sim", default="127.0.0.1:9090")
    ap.add_argument("--no-wait", action="store_true", help="exit after printing the timelines")
    args = ap.parse_args()

    os.makedirs(args.state, mode=0o700, exist_ok=True)
    base = "http://" + args.http
    sim_base = "http://" + args.sim
    logs = {name: open(os.path.join(args.state, name + ".log"), "ab") for name in ("sim", "bccid", "worker1", "worker2")}
    procs = []

    def start(name, argv):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=logs[name], start_new_session=True)
        procs.append((name, p))
        return p

    def stop_all(*_):
        for name, p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for name, p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        print("\nstopped: " + ", ".join(name for name, _ in procs))
        sys.exit(0)

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    try:
        start("bccid", [os.path.join(args.bin, "bccid"), "--http_listen", args.http, "--state_dir", args.state,
                        "--public_base_url", base])
        if not wait_up(base + "/healthz"):
            print("bccid did not start; see %s/bccid.log" % args.state)
            stop_all()
        with open(os.path.join(args.state, "admin.token")) as f:
            TOKEN["value"] = f.read().strip()
        # the simulator authenticates its webhooks with a carrier token of its own
        st, doc = call("POST", base + "/v1/tokens", {"name": "vnpost-sim-%d" % int(time.time()), "role": "carrier"})
        if st != 201:
            print("cannot create the simulator's token: %s %s" % (st, doc))
            stop_all()
        start("sim", [os.path.join(args.bin, "bcci-carrier-sim"), "--listen", args.sim, "--webhook_url",
                      base + "/v1/carriers/vnpost/events", "--webhook_token", doc["token"],
                      "--clock_speed", "1800", "--step_seconds", "1800"])
        if not wait_up(sim_base + "/healthz"):
            print("the carrier simulator did not start; see %s/sim.log" % args.state)
            stop_all()
        for i in (1, 2):
            start("worker%d" % i, [os.path.join(args.bin, "bcci-worker"), "--connect",
                                   "ipc://%s/jobs.sock" % args.state, "--carrier.vnpost.url", sim_base])

        st, doc = call("GET", base + "/v1/codes")
        if st == 200 and doc.get("left", 0) < 100:
            # demo numbers: right after the last imported range, so nothing is ever reused
            start_serial = max([r["last"] + 1 for r in doc.get("ranges", []) if r["prefix"] == "RR"] + [10000000])
            st, doc = call("POST", base + "/v1/codes", {"prefix": "RR", "from": start_serial, "count": 1000})
            print("imported demo S10 range: %s .. %s" % (doc.get("first"), doc.get("last")) if st == 201
                  else "code import: %s %s" % (st, doc))

        codes = []
        for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.json"))):
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
            st, doc = call("POST", base + "/v1/dossiers", d)
            waybill = doc["shipments"][0]["waybill"] if st in (200, 201) else "-"
            print("%-3s %-30s %s  %s" % (st, d["dossier_code"], waybill, os.path.basename(path)))
            if st in (200, 201):
                codes.append(d["dossier_code"])

        print("\nwaiting for the simulator to deliver %d dossiers…" % len(codes))
        deadline = time.time() + 120
        pending = set(codes)
        while pending and time.time() < deadline:
            for c in list(pending):
                st, doc = call("GET", base + "/v1/dossiers/" + c)
                if st == 200 and doc["status"] in ("delivered", "returned", "exception", "cancelled"):
                    pending.discard(c)
            time.sleep(0.5)

        for c in codes:
            st, tl = call("GET", base + "/v1/dossiers/%s/timeline" % c)
            print("\n== %s  (hash chain %s)" % (c, "hợp lệ" if tl.get("chain_valid") else "HỎNG"))
            for e in tl["events"]:
                print("   %s  %-18s %-4s %s" % (e["time"][:19].replace("T", " "), e.get("status", "-"),
                                             e.get("upu", ""), e["text"]))
        if pending:
            print("\nnot delivered in time: %s" % ", ".join(sorted(pending)))

        print("\nbccid            %s   (e.g. %s/v1/dossiers/%s/timeline)" % (base, base, codes[0] if codes else ""))
        print("carrier simulator %s/_sim/stats" % sim_base)
        print("state and logs    %s/   (admin token: %s/admin.token)" % (args.state, args.state))
        if args.no_wait:
            stop_all()
        print("running; Ctrl-C stops every process")
        while True:
            for name, p in procs:
                if p.poll() is not None:
                    print("%s exited with %s; see %s/%s.log" % (name, p.returncode, args.state, name))
                    stop_all()
            time.sleep(1)
    except Exception:
        stop_all()
        raise


if __name__ == "__main__":
    main()
