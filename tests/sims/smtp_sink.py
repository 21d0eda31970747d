#!/usr/bin/env python3
"""smtp_sink - a real SMTP server for tests (aiosmtpd, Debian's python3-aiosmtpd)

Accepts every message on 127.0.0.1 and writes it as DIR/NNNN.eml (the bytes
received, CRLF line ends as sent) with DIR/NNNN.json beside it holding the
envelope {"mail_from", "rcpt_tos"}. A recipient whose local part starts with
"reject" is refused with 550 (mailbox unavailable); one starting with "busy"
with 451 (try again later), so a client's permanent and transient failures
can be tested.

Prints "listening on smtp://127.0.0.1:PORT" once ready; stops on SIGTERM.
"""
import argparse
import json
import os
import signal
import socket
import sys
import threading

try:
    from aiosmtpd.controller import Controller
except ImportError:
    # Debian installs python3-aiosmtpd for the system interpreter; a PATH that
    # puts another python3 first (pyenv, a venv) does not see it
    system = "/usr/bin/python3"
    if os.path.realpath(sys.executable) != os.path.realpath(system) and os.access(system, os.X_OK):
        os.execv(system, [system] + sys.argv)
    print("smtp_sink: aiosmtpd is missing: apt-get install python3-aiosmtpd", file=sys.stderr, flush=True)
    sys.exit(3)


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.lock = threading.Lock()
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("busy"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            base = os.path.join(self.directory, "%04d" % self.n)
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos}, f)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".json.tmp", base + ".json")
        os.rename(base + ".eml.tmp", base + ".eml")  # last: a reader that sees .eml sees both
        return "250 2.0.0 queued as %04d" % self.n


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="where to write NNNN.eml and NNNN.json")
    ap.add_argument("--port", type=int, default=0, help="0: pick a free one")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    port = args.port or free_port()
    ctl = Controller(Sink(args.dir), hostname="127.0.0.1", port=port)
    ctl.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print("listening on smtp://127.0.0.1:%d" % port, flush=True)
    done.wait()
    ctl.stop()


if __name__ == "__main__":
    main()
