#!/usr/bin/env python3
"""campaign - run libFuzzer targets for a budget of CPU time each, then report and merge.

    python3 tests/fuzz/campaign.py [--cpu-seconds 3600] [--jobs 2] [--work DIR]
                                   [--merge] [TARGET ...]

`make fuzz-campaign` calls it after `make fuzz-smoke` has linked every target into
build/fuzz/bin/ and replayed the regression inputs.

Why CPU time and not wall time: on a machine shared with builds and tests a fuzzer
gets a fraction of a core, so `-max_total_time=3600` is far less than an hour of
fuzzing. Each run here counts its process's own user + system time (/proc/PID/stat)
and is interrupted with SIGINT once it has used --cpu-seconds (libFuzzer then prints
its final statistics and exits with 72). --jobs targets run at once, at nice 19, so
the machine stays usable.

Each target starts from tests/fuzz/corpus/TARGET/ plus what an earlier campaign left
in WORK/corpus/TARGET/ and grows the latter (WORK defaults to build/fuzz/campaign; a
tmpfs is faster, the config target writes every input to a file under WORK/tmp). A
crash leaves its input in WORK/artifacts/TARGET/ and fails the campaign. --merge
then adds to tests/fuzz/corpus/TARGET/ the inputs that grow its coverage
(`-merge=1`).

`-timeout` is large on purpose: a run paused with SIGSTOP (to free the machine for a
benchmark) would otherwise report its current input as a hang.

Output: one Markdown table row per target (CPU seconds, executions, exec/s per CPU
second, coverage, features, corpus size, crashes), the rows docs/fuzzing.md keeps.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
INTERRUPTED_EXIT = 72  # libFuzzer's -interrupted_exitcode default
POLL_SECONDS = 5.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """User + system CPU seconds of a live process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "r", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / TICKS


class Run:
    def __init__(self, name, args):
        self.name = name
        self.binary = os.path.join(args.build, "bin", f"{name}_fuzz")
        self.corpus = os.path.join(args.work, "corpus", name)
        self.artifacts = os.path.join(args.work, "artifacts", name) + "/"
        self.log_path = os.path.join(args.work, f"{name}.log")
        self.seeds = os.path.join(HERE, "corpus", name)
        self.budget = args.cpu_seconds
        self.proc = None
        self.cpu = 0.0
        self.rc = None

    def start(self, env):
        os.makedirs(self.corpus, exist_ok=True)
        os.makedirs(self.artifacts, exist_ok=True)
        argv = ["nice", "-n", "19", self.binary, "-max_total_time=1000000", "-max_len=8192", "-timeout=1500",
                "-report_slow_units=60", "-rss_limit_mb=2048", "-print_final_stats=1",
                f"-artifact_prefix={self.artifacts}", self.corpus]
        if os.path.isdir(self.seeds):
            argv.append(self.seeds)
        self.log = open(self.log_path, "w", encoding="utf-8")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def poll(self):
        """True while the run goes on. The child is reaped here with wait4 so that its CPU time
        is the exact total the kernel accounted, not the last reading from /proc."""
        pid, status, usage = os.wait4(self.proc.pid, os.WNOHANG)
        if pid:
            self.rc = self.proc.returncode = os.waitstatus_to_exitcode(status)
            self.cpu = usage.ru_utime + usage.ru_stime
            self.log.close()
            return False
        used = cpu_seconds(self.proc.pid)
        if used is not None:
            self.cpu = used
            if used >= self.budget:
                self.proc.send_signal(signal.SIGINT)
        return True

    def figures(self):
        """The row of docs/fuzzing.md's table, from the log."""
        with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
            text = f.read()
        execs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", text)
        progress = re.findall(r"^#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", text, re.M)
        cov, ft, corp = (progress[-1][1:] if progress else ("?", "?", "?"))
        n = int(execs[-1]) if execs else (int(progress[-1][0]) if progress else 0)
        crashed = self.rc != INTERRUPTED_EXIT
        rate = n / self.cpu if self.cpu else 0
        return (f"| `{self.name}` | {self.cpu:,.0f} | {n:,} | {rate:,.0f} | {cov} | {ft} | {corp} | "
                f"{'CRASH, see ' + self.artifacts if crashed else 0} |")


def merge(run, env):
    """Add to the committed seeds the campaign's inputs that grow their coverage."""
    os.makedirs(run.seeds, exist_ok=True)
    before = len(os.listdir(run.seeds))
    r = subprocess.run([run.binary, "-merge=1", "-max_len=8192", "-timeout=60", "-rss_limit_mb=2048",
                        run.seeds, run.corpus], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       text=True)
    if r.returncode != 0:
        print(f"merge of {run.name} failed:\n{r.stderr[-2000:]}", file=sys.stderr)
        return False
    print(f"   merged {run.name}: {before} -> {len(os.listdir(run.seeds))} files in {run.seeds}")
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("targets", nargs="*", help="targets (default: every tests/fuzz/*_fuzz.c)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "fuzz"), help="where make fuzz-smoke linked them")
    ap.add_argument("--work", default=None, help="corpora, logs and artifacts (default BUILD/campaign)")
    ap.add_argument("--cpu-seconds", type=float, default=3600.0, help="CPU seconds per target (default 3600)")
    ap.add_argument("--jobs", type=int, default=2, help="targets at once (default 2)")
    ap.add_argument("--merge", action="store_true", help="merge the grown corpora into tests/fuzz/corpus/")
    args = ap.parse_args()
    args.work = os.path.abspath(args.work or os.path.join(args.build, "campaign"))
    names = args.targets or sorted(f[:-len("_fuzz.c")] for f in os.listdir(HERE) if f.endswith("_fuzz.c"))
    runs = [Run(n, args) for n in names]
    for r in runs:
        if not os.access(r.binary, os.X_OK):
            print(f"campaign: {r.binary} is missing; run make fuzz-smoke first (it links every target)",
                  file=sys.stderr)
            return 2
    env = dict(os.environ)
    env["LSAN_OPTIONS"] = f"suppressions={os.path.join(ROOT, 'tests', 'lsan.supp')}:print_suppressions=0"
    env["TMPDIR"] = os.path.join(args.work, "tmp")
    os.makedirs(env["TMPDIR"], exist_ok=True)

    waiting, running, done = list(runs), [], []
    print(f"campaign: {len(runs)} target(s), {args.cpu_seconds:.0f} CPU s each, {args.jobs} at once, in {args.work}")
    try:
        while waiting or running:
            while waiting and len(running) < args.jobs:
                r = waiting.pop(0)
                r.start(env)
                running.append(r)
            time.sleep(POLL_SECONDS)
            for r in list(running):
                if not r.poll():
                    running.remove(r)
                    done.append(r)
                    print(f"   {r.name}: {r.cpu:,.0f} CPU s, exit {r.rc}", flush=True)
    except KeyboardInterrupt:
        for r in running:
            r.proc.send_signal(signal.SIGINT)
        for r in running:
            r.proc.wait()
        print("campaign: interrupted; the corpora grown so far stay in " + args.work, file=sys.stderr)
        return 130
    print("\n| target | CPU seconds | executions | exec/s (CPU) | coverage (edges) | features | corpus | crashes |")
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        print(r.figures())
    failed = [r for r in runs if r.rc != INTERRUPTED_EXIT]
    if failed:
        for r in failed:
            print(f"FAIL: {r.name} ended with status {r.rc}; log {r.log_path}, input in {r.artifacts}",
                  file=sys.stderr)
        return 1
    if args.merge and not all(merge(r, env) for r in runs):
        return 1
    shutil.rmtree(env["TMPDIR"], ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
