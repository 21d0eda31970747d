"""proc_threads - where a process's threads spend a time window, read from Linux's /proc.

For each thread, /proc/PID/task/TID/schedstat holds the nanoseconds it ran on a CPU and the
nanoseconds it waited runnable for one; over a window the rest is time it was blocked (I/O,
a lock, a condition, an idle poll). /proc/PID/stat holds the process's user and system CPU
time. bench/run_bench.py prints both for bccid during intake, so a figure below a goal comes
with the reason: a single writer waiting for a CPU is a different problem from one waiting
for fsync or one with nothing to do.
"""
import os
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid):
    """(user seconds, system seconds) of process pid, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "r", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) / TICK, int(fields[12]) / TICK  # utime, stime (fields 14 and 15)


def thread_times(pid):
    """{tid: (name, ns on a CPU, ns waiting for one)} of process pid's threads."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/comm", "r", encoding="utf-8", errors="replace") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat", "r", encoding="ascii") as f:
                run_ns, wait_ns = (int(v) for v in f.read().split()[:2])
        except (OSError, ValueError):
            continue
        out[tid] = (name, run_ns, wait_ns)
    return out


class ThreadWindow:
    """Samples pid's threads from `after` seconds after start() for `length` seconds."""

    def __init__(self, pid, after, length):
        self.pid, self.after, self.length = pid, after, length
        self.rows = []
        self._t = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._t.start()
        return self

    def _run(self):
        time.sleep(self.after)
        a, t0 = thread_times(self.pid), time.monotonic()
        time.sleep(self.length)
        b, t1 = thread_times(self.pid), time.monotonic()
        wall_ns = (t1 - t0) * 1e9
        for tid, (name, run_b, wait_b) in b.items():
            if tid not in a:
                continue
            run_ns, wait_ns = run_b - a[tid][1], wait_b - a[tid][2]
            if run_ns < wall_ns * 0.01:
                continue  # idle threads (the main thread, ZeroMQ's) say nothing here
            self.rows.append({"thread": name, "tid": int(tid), "on_cpu": run_ns / wall_ns,
                              "waiting_for_cpu": wait_ns / wall_ns,
                              "blocked": max(0.0, 1 - (run_ns + wait_ns) / wall_ns)})
        self.rows.sort(key=lambda r: -r["on_cpu"])

    def result(self, timeout=None):
        self._t.join(timeout)
        return self.rows
