"""
test_ops - `make run`'s demo driver (tests/run_demo.py) as an operator meets it.

A port already in use stops the demo before it starts anything, with a non-zero
exit and a message naming the port; a program that cannot start, or dies while
the demo runs, stops everything with a non-zero exit and the program's last log
lines; a normal run prints a tracking link that opens and a clerk token that
bccid accepts, and Ctrl-C ends it with exit 0. Every wait is bounded and every
process the demo started is gone afterwards.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

import harness

DEMO = os.path.join(harness.ROOT, "tests", "run_demo.py")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def pids_with(needle):
    """Processes whose command line holds needle (a port only this test uses)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:
            continue
        if needle in cmd and "run_demo.py" not in cmd:
            out.append(int(pid))
    return out


class DemoTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="bcci-demo-")
        self.http, self.sim = free_port(), free_port()
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # nothing the demo started may outlive it
        for pid in pids_with("127.0.0.1:%d" % self.http) + pids_with("127.0.0.1:%d" % self.sim):
            os.kill(pid, signal.SIGKILL)
            self.fail("process %d outlived the demo" % pid)

    def argv(self, bindir=harness.BIN, *extra):
        return [sys.executable, DEMO, "--bin", bindir, "--state", os.path.join(self.dir, "var"),
                "--http-port", str(self.http), "--sim-port", str(self.sim)] + list(extra)

    def run_demo(self, argv, timeout=120):
        p = subprocess.run(argv, cwd=self.dir, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def test_taken_port_is_an_error_naming_it(self):
        for which in ("http", "sim"):
            port = getattr(self, which)
            holder = socket.socket()
            holder.bind(("127.0.0.1", port))
            holder.listen(1)
            try:
                start = time.time()
                rc, out, err = self.run_demo(self.argv(harness.BIN, "--no-wait"), timeout=60)
            finally:
                holder.close()
            self.assertNotEqual(rc, 0, "port %d taken: got exit 0\n%s%s" % (port, out, err))
            self.assertIn("port %d" % port, err, "got stderr %r" % err)
            self.assertIn("%s_PORT" % ("HTTP" if which == "http" else "SIM"), err)
            self.assertLess(time.time() - start, 30)
            self.assertEqual(pids_with("127.0.0.1:%d" % self.http), [], "the demo left processes behind")

    def test_a_program_that_cannot_start_is_an_error(self):
        # a bin directory whose bccid fails the way a real one does when its database is locked
        bindir = os.path.join(self.dir, "bin")
        os.makedirs(bindir)
        for name in ("bcci", "bcci-worker", "bcci-carrier-sim"):
            os.symlink(os.path.join(harness.BIN, name), os.path.join(bindir, name))
        with open(os.path.join(bindir, "bccid"), "w") as f:
            f.write("#!/bin/sh\necho 'bccid: the database is locked by another bccid' >&2\nexit 1\n")
        os.chmod(os.path.join(bindir, "bccid"), 0o755)
        rc, out, err = self.run_demo(self.argv(bindir, "--no-wait"), timeout=60)
        self.assertEqual(rc, 1, "got exit %d\n%s%s" % (rc, out, err))
        self.assertIn("bccid did not start on 127.0.0.1:%d (exit status 1)" % self.http, err)
        self.assertIn("locked by another bccid", err)

    def test_run_prints_links_and_stops_when_a_program_dies(self):
        self.proc = subprocess.Popen(self.argv(), cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        lines, ready = [], threading.Event()

        def read():
            for raw in self.proc.stdout:
                lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                if lines[-1].startswith("running;"):
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        self.assertTrue(ready.wait(180), "the demo did not come up:\n" + "\n".join(lines[-20:]))
        fields = {l.split(None, 2)[0] + " " + l.split(None, 2)[1]: l.split(None, 2)[2]
                  for l in lines if len(l.split(None, 2)) == 3}
        link = fields["tracking page"].split()[0]
        self.assertRegex(link, r"^http://127\.0\.0\.1:%d/t/[A-Z]{2}\d{9}VN\?k=" % self.http)
        with urllib.request.urlopen(link, timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertIn("text/html", r.headers["Content-Type"])
        self.assertTrue(fields["clerk page"].startswith("http://127.0.0.1:%d/clerk" % self.http))
        req = urllib.request.Request("http://127.0.0.1:%d/v1/clerk/shipments?state=ready" % self.http,
                                     headers={"Authorization": "Bearer " + fields["clerk token"].strip()})
        with urllib.request.urlopen(req, timeout=10) as r:
            self.assertEqual(r.status, 200, "the printed clerk token must work")
        # the carrier simulator dies: the demo stops everything and says so
        sims = pids_with("127.0.0.1:%d" % self.sim)
        sims = [p for p in sims if "bcci-carrier-sim" in open("/proc/%d/cmdline" % p, "rb").read().decode()]
        self.assertEqual(len(sims), 1, "want the one simulator, got %s" % sims)
        os.kill(sims[0], signal.SIGKILL)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.fail("the demo kept running after the simulator died")
        err = self.proc.stderr.read().decode("utf-8", "replace")
        self.assertEqual(self.proc.returncode, 1, err)
        self.assertIn("sim stopped unexpectedly (exit status -9)", err)

    def test_ctrl_c_exits_zero(self):
        self.proc = subprocess.Popen(self.argv(), cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        deadline = time.time() + 180
        seen = b""
        while b"running;" not in seen and time.time() < deadline and self.proc.poll() is None:
            seen += self.proc.stdout.readline()
        self.assertIn(b"running;", seen)
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=60)
        self.assertEqual(self.proc.returncode, 0, err.decode())
        self.assertIn(b"stopped: bccid, sim, worker1, worker2", out)


if __name__ == "__main__":
    unittest.main()
