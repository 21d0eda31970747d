"""
test_metrics - GET /metrics: Prometheus text format 0.0.4, checked by promtool.

promtool comes from the Debian package `prometheus`; when it is missing the
test tries to install it (as root, with apt-get) and skips with a clear
message only when that is impossible.
"""
import json
import os
import re
import shutil
import subprocess
import time
import unittest
import urllib.parse

import harness

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+]+|NaN|\+Inf|-Inf)$')


def promtool():
    path = shutil.which("promtool")
    if path or os.geteuid() != 0 or not shutil.which("apt-get"):
        return path
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "prometheus"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    return shutil.which("promtool")


def parse(text):
    """{(name, labels): value} and {name: type} of an exposition."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples, types


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # one worker without a carrier behind it: book jobs come back as retries
        cls.sys = harness.System(workers=1, with_sim=False)
        cls.sys.import_codes("RR", 10000000, 5000)

    @classmethod
    def tearDownClass(cls):
        findings = cls.sys.stop()
        if findings:
            raise AssertionError("sanitizer findings:\n" + "\n".join(findings))

    def scrape(self):
        st, body, hdrs = self.sys.request("GET", "/metrics", token=None)
        self.assertEqual(st, 200, "got %s %r, want 200 without a token" % (st, body))
        ctype = {k.lower(): v for k, v in hdrs.items()}["content-type"]
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), "got Content-Type %r" % ctype)
        return body.decode("utf-8") if isinstance(body, bytes) else json.dumps(body)

    def test_counts_follow_the_system(self):
        dossiers = [harness.make_dossier(i) for i in range(1, 6)]
        results = self.sys.submit_many(dossiers, concurrency=5)
        self.assertEqual([r[0] for r in results], [201] * 5)
        self.assertEqual(self.sys.request("POST", "/v1/dossiers", dossiers[0])[0], 200)
        # wait until the worker reported at least one result (the carrier is unreachable: retry)
        deadline = time.time() + 30
        while True:
            samples, types = parse(self.scrape())
            if samples[("bcci_job_results_total", '{result="retry"}')] >= 1 or time.time() > deadline:
                break
            time.sleep(0.3)
        want = {
            ("bcci_up", ""): 1,
            ("bcci_dossiers_total", '{outcome="accepted"}'): 5,
            ("bcci_dossiers_total", '{outcome="replayed"}'): 1,
            ("bcci_codes_left", ""): 4995,
            ("bcci_dossiers_stored", ""): 5,
            ("bcci_workers_connected", ""): 1,
            ("bcci_sla_breaches", ""): 0,
            ("bcci_notifications", '{state="dead"}'): 0,
        }
        for key, value in want.items():
            self.assertIn(key, samples, "metric %s%s missing" % key)
            self.assertEqual(samples[key], value, "%s%s: got %s, want %s" % (key[0], key[1], samples[key], value))
        self.assertGreaterEqual(samples[("bcci_job_results_total", '{result="retry"}')], 1)
        self.assertGreaterEqual(samples[("bcci_commits_total", "")], 2)
        self.assertGreaterEqual(samples[("bcci_ops_committed_total", "")], 6)
        jobs = sum(v for (n, l), v in samples.items() if n == "bcci_jobs" and 'kind="book"' in l)
        self.assertEqual(jobs, 5, "got %s book jobs, want 5" % jobs)
        self.assertIn(("bcci_carrier_breaker_open", '{carrier="vnpost"}'), samples)
        for name, typ in types.items():
            if typ == "counter":
                self.assertTrue(name.endswith("_total"), "counter %s must end in _total" % name)

    def test_promtool_accepts_the_exposition(self):
        tool = promtool()
        if not tool:
            self.skipTest("promtool is missing and could not be installed (Debian package: prometheus)")
        text = self.scrape()
        p = subprocess.run([tool, "check", "metrics"], input=text.encode("utf-8"), capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, "promtool check metrics: exit %d\n%s%s" %
                         (p.returncode, p.stdout.decode(), p.stderr.decode()))

    def test_bad_token_is_refused_even_on_a_public_route(self):
        st, doc, _ = self.sys.request("GET", "/metrics", token="bcci_not_a_token")
        self.assertEqual(st, 401, "got %s, want 401 for a wrong token" % st)


class RequestMetricsTest(unittest.TestCase):
    """HTTP request counters by route pattern and the group-commit batch size, on a gateway of their own."""

    @classmethod
    def setUpClass(cls):
        cls.sys = harness.System(workers=1, with_sim=False)
        cls.sys.import_codes("RR", 10000000, 5000)

    @classmethod
    def tearDownClass(cls):
        findings = cls.sys.stop()
        if findings:
            raise AssertionError("sanitizer findings:\n" + "\n".join(findings))

    scrape = MetricsTest.scrape

    def test_http_requests_are_counted_by_route_pattern(self):
        before, _ = parse(self.scrape())
        dossiers = [harness.make_dossier(i) for i in range(101, 104)]
        self.assertEqual([r[0] for r in self.sys.submit_many(dossiers, concurrency=3)], [201] * 3)
        self.assertEqual(self.sys.request("POST", "/v1/dossiers", dossiers[0])[0], 200)
        for d in dossiers[:2]:
            self.assertEqual(self.sys.request("GET", "/v1/dossiers/%s" % urllib.parse.quote(d["dossier_code"]))[0], 200)
        self.assertEqual(self.sys.request("GET", "/v1/no/such/route")[0], 404)

        def delta(name, labels):
            return after.get((name, labels), 0) - before.get((name, labels), 0)

        # a request is counted when libmicrohttpd reports it completed, which can come a moment
        # after the client has read its answer: scrape until the last one shows (at most 5 s)
        give_up = time.time() + 5
        while True:
            after, types = parse(self.scrape())
            if delta("bcci_http_requests_total", '{route="unmatched",method="any",code="404"}') >= 1 or \
                    time.time() > give_up:
                break
            time.sleep(0.1)

        post = '{route="/v1/dossiers",method="POST",code="%s"}'
        self.assertEqual(delta("bcci_http_requests_total", post % "201"), 3)
        self.assertEqual(delta("bcci_http_requests_total", post % "200"), 1)
        self.assertEqual(delta("bcci_http_requests_total", '{route="/v1/dossiers/*",method="GET",code="200"}'), 2)
        self.assertEqual(delta("bcci_http_requests_total", '{route="unmatched",method="any",code="404"}'), 1)
        # the raw path never becomes a label
        for (name, labels) in after:
            if name.startswith("bcci_http_"):
                self.assertNotIn(dossiers[0]["dossier_code"], labels)
                self.assertNotIn("/v1/no/such", labels)
        self.assertEqual(types.get("bcci_http_request_duration_seconds"), "histogram")
        lab = '{route="/v1/dossiers",method="POST"}'
        self.assertEqual(delta("bcci_http_request_duration_seconds_count", lab), 4)
        self.assertEqual(delta("bcci_http_request_duration_seconds_bucket",
                               '{route="/v1/dossiers",method="POST",le="+Inf"}'), 4)
        self.assertGreater(after[("bcci_http_request_duration_seconds_sum", lab)], 0)

    def test_batch_size_mean_counts_group_commits(self):
        dossiers = [harness.make_dossier(i) for i in range(201, 241)]
        self.assertEqual([r[0] for r in self.sys.submit_many(dossiers, concurrency=16)], [201] * 40)
        time.sleep(3)  # maintenance-only transactions meanwhile must not pull the mean down
        samples, _ = parse(self.scrape())
        mean = samples[("bcci_group_commit_batch_size_mean", "")]
        self.assertGreaterEqual(mean, 1.0, "batch size mean %s below 1: commits without operations counted" % mean)
        self.assertLessEqual(mean, 2000)
        ops, commits = samples[("bcci_ops_committed_total", "")], samples[("bcci_commits_total", "")]
        self.assertAlmostEqual(mean, ops / commits, places=2)


if __name__ == "__main__":
    unittest.main()
