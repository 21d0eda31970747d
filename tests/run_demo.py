"""
make run - start the whole system on embedded defaults and show the return flow.

Starts bcci-carrier-sim, bccid and two bcci-worker processes with their state in
./var, imports a demo S10 range, submits the dossiers under examples/, waits
until the simulator has delivered every one, prints each timeline, a citizen's
tracking link and the clerk page with a clerk token, then keeps running. Ctrl-C
stops every process it started (exit 0). A port already in use, or a process
that dies, stops everything with a non-zero exit and the reason.

    python3 tests/run_demo.py --bin bin --http-port 8080 --sim-port 9090
"""
import argparse
import base64
import glob
import hashlib
import hmac
import json
import os
import signal
import socket
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


def wait_up(url, proc, timeout=20):
    """True once url answers; False when proc exits first or timeout passes."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    return False


def port_taken(hostport):
    """The reason hostport cannot be listened on, or None when it is free."""
    host, _, port = hostport.rpartition(":")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # no SO_REUSEADDR: a port another process listens on must fail here, as it would for bccid
        s.bind((host or "127.0.0.1", int(port)))
        return None
    except OSError as e:
        return e.strerror or str(e)
    finally:
        s.close()


def log_tail(path, n=5):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").strip().splitlines()
        return "\n".join("    " + line for line in lines[-n:])
    except OSError:
        return ""


def tracking_link(base, state, waybill):
    """The citizen's link of the label's QR: k = base64url(HMAC-SHA256(server secret, waybill))[:16]
    (labels/label.c); the demo runs beside bccid, so it reads the secret from the state dir."""
    with open(os.path.join(state, "secret"), "rb") as f:
        mac = hmac.new(f.read(), waybill.encode(), hashlib.sha256).digest()
    return "%s/t/%s?k=%s" % (base, waybill, base64.urlsafe_b64encode(mac).decode().rstrip("=")[:16])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="bin")
    ap.add_argument("--state", default="var")
    ap.add_argument("--http", default="127.0.0.1:8080", help="bccid's http_listen (HOST:PORT)")
    ap.add_argument("--sim", default="127.0.0.1:9090", help="the carrier simulator's listen (HOST:PORT)")
    ap.add_argument("--http-port", type=int, help="bccid's port on 127.0.0.1 (overrides --http)")
    ap.add_argument("--sim-port", type=int, help="the simulator's port on 127.0.0.1 (overrides --sim)")
    ap.add_argument("--no-wait", action="store_true", help="exit after printing the timelines")
    args = ap.parse_args()
    if args.http_port is not None:
        args.http = "127.0.0.1:%d" % args.http_port
    if args.sim_port is not None:
        args.sim = "127.0.0.1:%d" % args.sim_port
    for what, hostport, var in (("bccid", args.http, "HTTP_PORT"), ("the carrier simulator", args.sim, "SIM_PORT")):
        why = port_taken(hostport)
        if why:
            port = hostport.rpartition(":")[2]
            print("run_demo: port %s (%s, %s) cannot be used: %s; stop what listens there or choose another "
                  "port: make run %s=…" % (port, what, hostport, why, var), file=sys.stderr)
            sys.exit(1)

    os.makedirs(args.state, mode=0o700, exist_ok=True)
    base = "http://" + args.http
    sim_base = "http://" + args.sim
    logs = {name: open(os.path.join(args.state, name + ".log"), "ab") for name in ("sim", "bccid", "worker1", "worker2")}
    procs = []

    def start(name, argv):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=logs[name], start_new_session=True)
        procs.append((name, p))
        return p

    def stop_all(code=0, reason=None):
        """Stop every process started; exit with code (0 after Ctrl-C or --no-wait)."""
        for name, p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for name, p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if reason:
            print("run_demo: " + reason, file=sys.stderr)
        print("\nstopped: " + ", ".join(name for name, _ in procs))
        sys.exit(code)

    def failed(name, what):
        """A process did not start or died: stop everything, exit 1 with its last log lines."""
        path = os.path.join(args.state, name + ".log")
        p = dict(procs).get(name)
        status = "" if p is None or p.poll() is None else " (exit status %s)" % p.returncode
        stop_all(1, "%s %s%s; the end of %s:\n%s" % (name, what, status, path, log_tail(path)))

    signal.signal(signal.SIGINT, lambda *_: stop_all(0))
    signal.signal(signal.SIGTERM, lambda *_: stop_all(0))
    try:
        bccid = start("bccid", [os.path.join(args.bin, "bccid"), "--http_listen", args.http, "--state_dir",
                                args.state, "--public_base_url", base])
        if not wait_up(base + "/healthz", bccid):
            failed("bccid", "did not start on %s" % args.http)
        with open(os.path.join(args.state, "admin.token")) as f:
            TOKEN["value"] = f.read().strip()
        # the simulator authenticates its webhooks with a carrier token of its own
        st, doc = call("POST", base + "/v1/tokens", {"name": "vnpost-sim-%d" % int(time.time()), "role": "carrier"})
        if st != 201:
            stop_all(1, "cannot create the simulator's token: %s %s" % (st, doc))
        sim = start("sim", [os.path.join(args.bin, "bcci-carrier-sim"), "--listen", args.sim, "--webhook_url",
                            base + "/v1/carriers/vnpost/events", "--webhook_token", doc["token"],
                            "--clock_speed", "1800", "--step_seconds", "1800"])
        if not wait_up(sim_base + "/healthz", sim):
            failed("sim", "did not start on %s" % args.sim)
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

        time.sleep(0.5)
        for name, p in procs:
            if p.poll() is not None:
                failed(name, "exited at start")

        codes, waybills = [], []
        for path in sorted(glob.glob(os.path.join(ROOT, "examples", "*.json"))):
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
            st, doc = call("POST", base + "/v1/dossiers", d)
            waybill = doc["shipments"][0]["waybill"] if st in (200, 201) else "-"
            print("%-3s %-30s %s  %s" % (st, d["dossier_code"], waybill, os.path.basename(path)))
            if st in (200, 201):
                codes.append(d["dossier_code"])
                waybills.append(waybill)

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

        clerk_token = None
        env = dict(os.environ, BCCI_URL=base, BCCI_TOKEN=TOKEN["value"])
        p = subprocess.run([os.path.join(args.bin, "bcci"), "token", "create", "--role", "clerk", "--name",
                            "demo-clerk-%d" % int(time.time())], env=env, capture_output=True, text=True, timeout=30)
        if p.returncode == 0:
            clerk_token = p.stdout.strip()
        else:
            print("could not create a clerk token: %s" % p.stderr.strip())

        print("\nbccid            %s   (e.g. %s/v1/dossiers/%s/timeline)" % (base, base, codes[0] if codes else ""))
        if waybills:
            link = tracking_link(base, args.state, waybills[0])
            print("tracking page     %s   (what the citizen's QR opens)" % link)
        print("clerk page        %s/clerk   (sign in with the clerk token below)" % base)
        if clerk_token:
            print("clerk token       %s" % clerk_token)
        print("carrier simulator %s/_sim/stats" % sim_base)
        print("state and logs    %s/   (admin token: %s/admin.token)" % (args.state, args.state))
        sys.stdout.flush()
        if args.no_wait:
            stop_all(0)
        print("running; Ctrl-C stops every process", flush=True)
        while True:
            for name, p in procs:
                if p.poll() is not None:
                    failed(name, "stopped unexpectedly")
            time.sleep(1)
    except SystemExit:
        raise
    except Exception as e:
        stop_all(1, "%s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
