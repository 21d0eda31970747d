#!/usr/bin/env python3
"""label_http_bench - latency of one label over HTTP, print recorded and rendered.

Starts bccid (from BCCI_BIN, default build/rel/bin) in a fresh temporary
directory with no workers, imports an S10 range, submits a few dossiers, then
sends --requests GET /v1/shipments/{waybill}/label?format=pdf from --clients
keep-alive clients (each GET is a durable write through the engine — the
print count and the label_printed event — followed by rendering on the HTTP
thread), and the same for format=png. Prints one line per format and a final
JSON line {"pdf": {...}, "png": {...}}.

Python 3 standard library only; every wait is bounded; bccid is stopped at the end.
"""
import argparse
import concurrent.futures
import glob
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def percentile(sorted_ms, p):
    if not sorted_ms:
        return 0.0
    k = min(len(sorted_ms) - 1, max(0, int(round(p / 100.0 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[k]


class Bccid:
    def __init__(self, bin_dir, workdir):
        self.state = os.path.join(workdir, "var")
        self.err = open(os.path.join(workdir, "bccid.err"), "wb")
        self.p = subprocess.Popen([os.path.join(bin_dir, "bccid"), "--http_listen", "127.0.0.1:0", "--state_dir",
                                   self.state], stdout=subprocess.PIPE, stderr=self.err, start_new_session=True)
        line = {}
        t = threading.Thread(target=lambda: line.setdefault("l", self.p.stdout.readline().decode()), daemon=True)
        t.start()
        t.join(20)
        if not line.get("l"):
            self.stop()
            raise RuntimeError("bccid did not start; see %s" % self.err.name)
        threading.Thread(target=lambda: [None for _ in self.p.stdout], daemon=True).start()
        # bccid's first stdout line is JSON: {"msg": "listening", "http": "http://HOST:PORT", …}
        self.url = json.loads(line["l"])["http"]
        u = urllib.parse.urlparse(self.url)
        self.host, self.port = u.hostname, u.port
        deadline = time.time() + 20
        while not os.path.exists(os.path.join(self.state, "admin.token")) and time.time() < deadline:
            time.sleep(0.05)
        with open(os.path.join(self.state, "admin.token")) as f:
            self.token = f.read().strip()

    def request(self, conn, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        payload = r.read()
        return r.status, payload

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
        self.err.close()


def run_format(b, waybills, fmt, requests, clients):
    lat = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(requests))

    def client(ci):
        conn = http.client.HTTPConnection(b.host, b.port, timeout=30)
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                wb = waybills[(ci + i) % len(waybills)]
                t0 = time.perf_counter()
                st, payload = b.request(conn, "GET", "/v1/shipments/%s/label?format=%s" % (wb, fmt))
                ms = (time.perf_counter() - t0) * 1000.0
                with lock:
                    if st == 200 and payload[:4] in (b"%PDF", b"\x89PNG"):
                        lat.append(ms)
                    else:
                        errors[0] += 1
        finally:
            conn.close()

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as ex:
        list(ex.map(client, range(clients)))
    secs = time.perf_counter() - t0
    lat.sort()
    return {"requests": requests, "ok": len(lat), "errors": errors[0], "clients": clients,
            "seconds": round(secs, 3), "rps": round(len(lat) / secs, 1) if secs > 0 else 0.0,
            "p50_ms": round(percentile(lat, 50), 2), "p99_ms": round(percentile(lat, 99), 2),
            "max_ms": round(lat[-1], 2) if lat else 0.0}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--shipments", type=int, default=8)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    bin_dir = os.path.abspath(os.environ.get("BCCI_BIN") or os.path.join(ROOT, "build", "rel", "bin"))
    workdir = tempfile.mkdtemp(prefix="bcci-label-bench-")
    b = None
    try:
        b = Bccid(bin_dir, workdir)
        conn = http.client.HTTPConnection(b.host, b.port, timeout=30)
        st, _ = b.request(conn, "POST", "/v1/codes", {"prefix": "RR", "from": 10000000, "count": 1000})
        if st != 201:
            raise RuntimeError("importing codes: HTTP %d" % st)
        with open(sorted(glob.glob(os.path.join(ROOT, "examples", "*.json")))[0], encoding="utf-8") as f:
            template = json.load(f)
        waybills = []
        for i in range(args.shipments):
            d = json.loads(json.dumps(template))
            d["dossier_code"] = "%s-251124-%05d" % (d["agency"]["code"], 90000 + i)
            st, payload = b.request(conn, "POST", "/v1/dossiers", d)
            if st != 201:
                raise RuntimeError("submitting a dossier: HTTP %d %s" % (st, payload[:200]))
            waybills.append(json.loads(payload)["shipments"][0]["waybill"])
        conn.close()
        out = {}
        for fmt in ("pdf", "png"):
            run_format(b, waybills, fmt, min(20, args.requests), args.clients)  # warm-up
            r = run_format(b, waybills, fmt, args.requests, args.clients)
            out[fmt] = r
            print("label over HTTP %-3s: %d GETs at %d clients: p50 %.2f ms, p99 %.2f ms, %.1f labels/s, %d errors"
                  % (fmt, r["requests"], r["clients"], r["p50_ms"], r["p99_ms"], r["rps"], r["errors"]))
        print(json.dumps(out, sort_keys=True))
        return 0 if all(v["errors"] == 0 for v in out.values()) else 1
    finally:
        if b:
            b.stop()
        if args.keep:
            print("kept %s" % workdir, file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
