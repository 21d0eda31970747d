"""
casesys - a small real HTTP receiver standing in for the case-management system.

It verifies X-BCCI-Signature (HMAC-SHA256 of "<t>.<body>" under the shared
secret, 5-minute window), records every notification it accepted, and can be
told to fail (answer 500) or to be down (not listening) for a while.
"""
import hashlib
import hmac
import http.server
import json
import threading
import time


class Receiver:
    def __init__(self, secret):
        self.secret = secret
        self.accepted = []          # notifications answered 2xx, in arrival order
        self.attempts = 0
        self.bad_signatures = 0
        self.fail_until = 0.0       # answer 500 until this time
        self.lock = threading.Lock()
        self.server = None
        self.port = None
        self.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/dvc/notify" % self.port

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.attempts += 1
                    if not receiver.verify(self.headers.get("X-BCCI-Signature", ""), body):
                        receiver.bad_signatures += 1
                        self.send_response(401)
                        self.end_headers()
                        return
                    if time.time() < receiver.fail_until:
                        self.send_response(500)
                        self.end_headers()
                        return
                    receiver.accepted.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"error_code": 0, "message": "OK"}')

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port or 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def verify(self, header, body):
        try:
            parts = dict(p.split("=", 1) for p in header.split(","))
            t = int(parts["t"])
        except (ValueError, KeyError):
            return False
        if abs(time.time() - t) > 300:
            return False
        want = hmac.new(self.secret, b"%d." % t + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(want, parts.get("v1", ""))

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def by_dossier(self):
        out = {}
        with self.lock:
            for n in self.accepted:
                out.setdefault(n["MaHoSo"], []).append(n)
        return out
