"""
test_openapi - docs/openapi.yaml describes exactly the routes bccid serves.

Both lists are read at test time: the (method, path) pairs of openapi.yaml
({param} → '*', {id}.pdf → '*.pdf') against GET /v1/routes of a running
bccid, and each operation's x-roles against the route's roles. The document
is also linted with the pinned npm linter (tests/openapi/run.sh).
"""
import os
import re
import subprocess
import unittest

import harness

SPEC = os.path.join(harness.ROOT, "docs", "openapi.yaml")
RUN_SH = os.path.join(harness.ROOT, "tests", "openapi", "run.sh")
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def load_spec():
    """{(METHOD, pattern): roles} from openapi.yaml (PyYAML when present, else the fixed layout)."""
    try:
        import yaml
    except ImportError:
        yaml = None
    out = {}
    if yaml:
        with open(SPEC, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method in METHODS:
                    out[(method.upper(), pattern(path))] = sorted(op.get("x-roles", []))
        return out
    # fallback: two-space path keys, four-space method keys, six-space x-roles lines
    path = method = None
    with open(SPEC, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^  (/\S*):\s*$", line)
            if m:
                path = m.group(1)
                continue
            m = re.match(r"^    (%s):\s*$" % "|".join(METHODS), line)
            if m and path:
                method = m.group(1).upper()
                out[(method, pattern(path))] = []
                continue
            m = re.match(r"^      x-roles: \[(.*)\]\s*$", line)
            if m and path and method:
                out[(method, pattern(path))] = sorted(r.strip() for r in m.group(1).split(",") if r.strip())
            if re.match(r"^\S", line):
                path = method = None
    return out


def pattern(path):
    return re.sub(r"\{[^}/]+\}", "*", path)


class OpenApiTest(unittest.TestCase):
    def test_lint(self):
        p = subprocess.run(["sh", RUN_SH], capture_output=True, timeout=600)
        out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
        if p.returncode == 77:
            self.skipTest("the OpenAPI linter cannot be installed here: " + out.strip().splitlines()[-1])
        self.assertEqual(p.returncode, 0, "tests/openapi/run.sh: exit %d\n%s" % (p.returncode, out[-4000:]))

    def test_spec_matches_served_routes(self):
        spec = load_spec()
        self.assertGreater(len(spec), 10, "got %d operations from openapi.yaml" % len(spec))
        sys = harness.System(workers=0, with_sim=False)
        try:
            st, doc, _ = sys.request("GET", "/v1/routes")
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])
        self.assertEqual(st, 200, "GET /v1/routes: got %s %r" % (st, doc))
        served = {(r["method"], r["path"]): sorted(r["roles"]) for r in doc["routes"]}
        missing = sorted(set(served) - set(spec))
        extra = sorted(set(spec) - set(served))
        self.assertEqual(missing, [], "served by bccid but not in docs/openapi.yaml: %s" % missing)
        self.assertEqual(extra, [], "in docs/openapi.yaml but not served by bccid: %s" % extra)
        wrong = ["%s %s: got x-roles %s, want %s" % (m, p, spec[(m, p)], roles)
                 for (m, p), roles in sorted(served.items()) if spec[(m, p)] != roles]
        self.assertEqual(wrong, [], "\n".join(wrong))


if __name__ == "__main__":
    unittest.main()
