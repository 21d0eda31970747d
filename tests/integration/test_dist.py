"""What dist/ ships: the systemd units run unprivileged and confined (issue 5/6); the
Prometheus alert rules pass promtool's check and unit tests, each with a severity, a
summary and a runbook anchor that exists in docs/operations.md; every metric the alert
rules and the Grafana dashboard use is served by a running bccid's GET /metrics."""
import configparser
import json
import os
import re
import shutil
import subprocess
import unittest
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REQUIRED = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "User": "bcci"}


class UnitFilesTest(unittest.TestCase):
    def test_units_are_hardened(self):
        for name in ("bccid.service", "bcci-worker@.service"):
            path = os.path.join(ROOT, "dist", name)
            cp = configparser.ConfigParser(strict=False, interpolation=None)
            cp.optionxform = str
            cp.read(path)
            svc = cp["Service"]
            for key, want in REQUIRED.items():
                self.assertEqual(svc.get(key), want, "%s: %s" % (name, key))
            self.assertEqual(svc.get("ReadWritePaths"), "/var/lib/bcci", "%s: one writable state dir" % name)
            if shutil.which("systemd-analyze"):
                p = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
                self.assertNotIn("Unknown key", p.stderr + p.stdout, p.stderr)


PROM = os.path.join(ROOT, "dist", "prometheus")
RULES = os.path.join(PROM, "bcci-alerts.yml")
DASHBOARD = os.path.join(ROOT, "dist", "grafana", "bcci-dashboard.json")
OPERATIONS = os.path.join(ROOT, "docs", "operations.md")
# metric names in PromQL: bcci_* and Prometheus' own up
METRIC = re.compile(r"\b(bcci_[a-z0-9_]+|up)\b(?!\s*\()")


def alert_rules():
    """[(name, expr, labels, annotations)] read without PyYAML: the file's fixed layout."""
    rules, cur, section = [], None, None
    with open(RULES, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^      - alert: (\S+)", line)
            if m:
                cur = {"name": m.group(1), "expr": "", "labels": {}, "annotations": {}}
                rules.append(cur)
                continue
            if cur is None:
                continue
            m = re.match(r"^        expr: (.*)$", line)
            if m:
                cur["expr"] = m.group(1)
                continue
            m = re.match(r"^        (labels|annotations):\s*$", line)
            if m:
                section = m.group(1)
                continue
            m = re.match(r"^          ([a-z_]+): (.*)$", line)
            if m and section:
                cur[section][m.group(1)] = m.group(2).strip().strip("'\"")
    return rules


def markdown_anchors(path):
    """GitHub-style anchors of the headings of a Markdown file."""
    out = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^#+\s+(.*?)\s*$", line)
            if m:
                text = re.sub(r"[^\w\- ]", "", m.group(1).lower())
                out.add(text.replace(" ", "-"))
    return out


class AlertRulesTest(unittest.TestCase):
    def promtool(self, *args):
        if not shutil.which("promtool"):
            self.skipTest("promtool is needed (apt-get install prometheus)")
        p = subprocess.run(["promtool"] + list(args), capture_output=True, text=True, timeout=120, cwd=PROM)
        self.assertEqual(p.returncode, 0, "promtool %s:\n%s%s" % (" ".join(args), p.stdout, p.stderr))

    def test_promtool_check_rules(self):
        self.promtool("check", "rules", "bcci-alerts.yml")

    def test_promtool_test_rules(self):
        self.promtool("test", "rules", "bcci-alerts.test.yml")

    def test_every_alert_has_severity_summary_and_runbook(self):
        rules = alert_rules()
        self.assertGreaterEqual(len(rules), 8, "got %d alert rules" % len(rules))
        anchors = markdown_anchors(OPERATIONS)
        with open(os.path.join(PROM, "bcci-alerts.test.yml"), encoding="utf-8") as f:
            tests = f.read()
        for r in rules:
            self.assertIn(r["labels"].get("severity"), ("critical", "warning"), r["name"])
            self.assertTrue(r["annotations"].get("summary"), "%s: no summary" % r["name"])
            url = r["annotations"].get("runbook_url", "")
            self.assertTrue(url.startswith("docs/operations.md#"), "%s: runbook_url %r" % (r["name"], url))
            self.assertIn(url.split("#", 1)[1], anchors, "%s: docs/operations.md has no heading for %s" % (r["name"], url))
            self.assertIn("alertname: " + r["name"] + "\n", tests, "%s has no promtool test case" % r["name"])


class MetricsUsedExistTest(unittest.TestCase):
    def test_dashboard_and_alerts_use_served_metrics(self):
        import harness
        used = {}
        for r in alert_rules():
            for name in METRIC.findall(r["expr"]):
                used.setdefault(name, []).append("alert " + r["name"])
        with open(DASHBOARD, encoding="utf-8") as f:
            dash = json.load(f)
        self.assertGreater(len(dash["panels"]), 8)
        ids = [p["id"] for p in dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids must be unique: %s" % ids)
        variables = {v["name"] for v in dash["templating"]["list"]}
        for panel in dash["panels"]:
            g = panel["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, "panel %r is wider than the grid" % panel["title"])
            self.assertEqual(panel["datasource"]["uid"], "${datasource}", panel["title"])
            for t in panel["targets"]:
                for var in re.findall(r"\$(\w+)", t["expr"]):
                    self.assertIn(var, variables, "panel %r uses $%s, which the dashboard does not define"
                                  % (panel["title"], var))
        for panel in dash["panels"]:
            self.assertTrue(panel.get("targets"), "panel %r has no query" % panel["title"])
            for t in panel["targets"]:
                names = METRIC.findall(t["expr"])
                self.assertTrue(names, "panel %r: no metric in %r" % (panel["title"], t["expr"]))
                for name in names:
                    used.setdefault(name, []).append("panel " + panel["title"])
        sys = harness.System(workers=1, with_sim=False)
        try:
            with urllib.request.urlopen(sys.url + "/metrics", timeout=10) as r:
                text = r.read().decode("utf-8")
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])
        served = set(re.findall(r"^# TYPE (\S+) ", text, re.M)) | {"up"}  # up: Prometheus' own, per target
        for name in re.findall(r"^# TYPE (\S+) histogram$", text, re.M):
            served |= {name + "_bucket", name + "_sum", name + "_count"}
        missing = ["%s (used by %s)" % (n, ", ".join(sorted(set(w)))) for n, w in sorted(used.items()) if n not in served]
        self.assertEqual(missing, [], "not served by GET /metrics: %s" % missing)


if __name__ == "__main__":
    unittest.main()
