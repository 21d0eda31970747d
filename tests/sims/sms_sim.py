#!/usr/bin/env python3
"""sms_sim - a stand-in for an SMS-brandname provider's HTTP JSON API, for tests

Speaks what queues/sms.c sends:
  POST /api/v1/sms/send   Authorization: Bearer KEY
       {"brandname", "phone": "84xxxxxxxxx", "message", "unicode", "request_id"?, "callback_url"?}
  → 200 {"status": "accepted", "id": "SMS000001"}
  → 401 {"error": {"code": "unauthorized"}}              wrong or missing key
  → 400 {"error": {"code": "invalid_phone"}}             not 84 + a mobile number, or a number the
                                                         network does not know (ending in 000000)
  → 400 {"error": {"code": "invalid_message"}}           missing brand name or text
  → the injected status (e.g. 500, 429 with Retry-After) while faults are armed
A request_id seen before is answered with the first answer's id and not sent again.
Each accepted message is appended to --messages FILE (JSON lines) and kept for
GET /_sms/messages. POST /_sms/faults {"status": 500, "count": 2, "retry_after": 3}
arms faults; GET /_sms/stats counts requests. When the request carries a
callback_url (or --callback is given) a delivery report
{"id", "request_id", "status": "DELIVERED", "delivered_at"} is POSTed to it.

Prints "listening on http://127.0.0.1:PORT" once ready; stops on SIGTERM.
"""
import argparse
import json
import re
import signal
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PHONE = re.compile(r"^84[35789][0-9]{8}$")


class State:
    def __init__(self, api_key, messages_path, callback):
        self.lock = threading.Lock()
        self.api_key = api_key
        self.messages_path = messages_path
        self.callback = callback
        self.messages = []
        self.by_request_id = {}
        self.faults = {"status": 0, "count": 0, "retry_after": None}
        self.stats = {"requests": 0, "accepted": 0, "duplicates": 0, "refused": 0, "faults": 0}
        self.seq = 0


def send_report(url, report):
    time.sleep(0.1)
    req = urllib.request.Request(url, data=json.dumps(report).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=5).read()
    except Exception as e:  # the receiver may be gone at the end of a test
        print("sms_sim: delivery report to %s failed: %s" % (url, e), file=sys.stderr, flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj, headers=None):
        body = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        st = self.server.state
        with st.lock:
            if self.path == "/_sms/messages":
                return self.answer(200, st.messages)
            if self.path == "/_sms/stats":
                return self.answer(200, st.stats)
        self.answer(404, {"error": {"code": "not_found"}})

    def do_POST(self):
        st = self.server.state
        raw = self.body()
        if self.path == "/_sms/faults":
            spec = json.loads(raw or b"{}")
            with st.lock:
                st.faults = {"status": int(spec.get("status", 500)), "count": int(spec.get("count", 1)),
                             "retry_after": spec.get("retry_after")}
            return self.answer(200, st.faults)
        if self.path != "/api/v1/sms/send":
            return self.answer(404, {"error": {"code": "not_found"}})
        with st.lock:
            st.stats["requests"] += 1
            if st.faults["count"] > 0:
                st.faults["count"] -= 1
                st.stats["faults"] += 1
                hdrs = {}
                if st.faults["retry_after"] is not None:
                    hdrs["Retry-After"] = str(st.faults["retry_after"])
                return self.answer(st.faults["status"], {"error": {"code": "injected"}}, hdrs)
            if st.api_key is not None and self.headers.get("Authorization") != "Bearer " + st.api_key:
                st.stats["refused"] += 1
                return self.answer(401, {"error": {"code": "unauthorized"}})
            try:
                req = json.loads(raw)
            except ValueError:
                st.stats["refused"] += 1
                return self.answer(400, {"error": {"code": "invalid_json"}})
            phone = req.get("phone")
            if not isinstance(phone, str) or not PHONE.match(phone) or phone.endswith("000000"):
                st.stats["refused"] += 1
                return self.answer(400, {"error": {"code": "invalid_phone"}})
            if not req.get("brandname") or not req.get("message"):
                st.stats["refused"] += 1
                return self.answer(400, {"error": {"code": "invalid_message"}})
            rid = req.get("request_id")
            if rid and rid in st.by_request_id:
                st.stats["duplicates"] += 1
                return self.answer(200, {"status": "accepted", "id": st.by_request_id[rid], "duplicate": True})
            st.seq += 1
            mid = "SMS%06d" % st.seq
            rec = {"id": mid, "request_id": rid, "brandname": req.get("brandname"), "phone": phone,
                   "message": req.get("message"), "unicode": req.get("unicode"),
                   "x_request_id": self.headers.get("X-Request-Id"), "received_at": time.time()}
            st.messages.append(rec)
            if rid:
                st.by_request_id[rid] = mid
            st.stats["accepted"] += 1
            if st.messages_path:
                with open(st.messages_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            callback = req.get("callback_url") or st.callback
        if callback:
            report = {"id": mid, "request_id": rid, "status": "DELIVERED",
                      "delivered_at": time.strftime("%Y%m%d%H%M%S", time.gmtime())}
            threading.Thread(target=send_report, args=(callback, report), daemon=True).start()
        return self.answer(200, {"status": "accepted", "id": mid})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--api-key", default=None, help="the bearer key to require (default: accept any)")
    ap.add_argument("--messages", default=None, help="append accepted messages to this JSONL file")
    ap.add_argument("--callback", default=None, help="delivery-report URL when a request names none")
    args = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args.api_key, args.messages, args.callback)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown, daemon=True).start())
    print("listening on http://127.0.0.1:%d" % srv.server_address[1], flush=True)
    srv.serve_forever()
    srv.server_close()


if __name__ == "__main__":
    main()
