"""Run integration test modules (tests/integration/test_*.py) with unittest.

Arguments pick what runs: file patterns (test_*.py, the default) and dotted names
(test_lifecycle.LegsTest), any number of each.

BCCI_TEST_JOBS=N (or --jobs N) runs the test classes in N processes at once: the tests spend
most of their time waiting for the programs they start (about 15% of two cores with one
process), so a few at once shorten the run without crowding the machine. Every System has
its own directory, kernel-chosen ports and its own PostgreSQL database, so classes do not
meet. Each class's output is printed whole when it ends; the run fails if any class fails."""
import concurrent.futures
import os
import subprocess
import sys
import time
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)

# classes known to take longest start first, so the last one to finish is a short one
SLOW_FIRST = ("test_faults", "test_ha", "test_lifecycle", "test_edges", "test_multi_instance",
              "test_pg_outage", "test_worker_faults", "test_cod", "test_citizen", "test_cli")


def load(args):
    suite = unittest.TestSuite()
    for arg in args or ["test_*.py"]:
        if arg.endswith(".py"):
            suite.addTests(unittest.defaultTestLoader.discover(here, pattern=arg))
        else:
            suite.addTests(unittest.defaultTestLoader.loadTestsFromName(arg))
    return suite


def tests_of(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from tests_of(t)
        else:
            yield t


def class_ids(args):
    """module.Class for every class the arguments select (a dotted test name stays whole)"""
    ids = []
    for arg in args or ["test_*.py"]:
        if not arg.endswith(".py") and arg.count(".") >= 2:
            ids.append(arg)
            continue
        for t in tests_of(load([arg])):
            if isinstance(t, unittest.loader._FailedTest):
                raise SystemExit("cannot load %s: %s" % (arg, t))
            cid = "%s.%s" % (type(t).__module__, type(t).__name__)
            if cid not in ids:
                ids.append(cid)

    def rank(cid):
        mod = cid.split(".")[0]
        return SLOW_FIRST.index(mod) if mod in SLOW_FIRST else len(SLOW_FIRST)
    return sorted(ids, key=rank)


def run_parallel(args, jobs):
    ids = class_ids(args)
    started = time.time()
    failed = []

    def one(cid):
        t0 = time.time()
        p = subprocess.run([sys.executable, os.path.abspath(__file__), cid], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=dict(os.environ, BCCI_TEST_JOBS="1"))
        return cid, p.returncode, p.stdout.decode("utf-8", "replace"), time.time() - t0

    print("running %d test classes, %d at a time" % (len(ids), jobs), flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for cid, rc, out, secs in (f.result() for f in
                                   concurrent.futures.as_completed([pool.submit(one, c) for c in ids])):
            print("==== %s: %s in %.0f s" % (cid, "ok" if rc == 0 else "FAILED", secs))
            sys.stdout.write(out)
            sys.stdout.flush()
            if rc != 0:
                failed.append(cid)
    print("\n%d test classes in %.0f s; %s" % (len(ids), time.time() - started,
                                               "all passed" if not failed else "FAILED: " + " ".join(failed)))
    return 0 if not failed else 1


def main(argv):
    jobs = int(os.environ.get("BCCI_TEST_JOBS", "1") or "1")
    if argv[:1] == ["--jobs"]:
        jobs, argv = int(argv[1]), argv[2:]
    if jobs > 1:
        return run_parallel(argv, jobs)
    result = unittest.TextTestRunner(verbosity=2).run(load(argv))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
