"""
test_openapi - docs/openapi.yaml describes exactly the routes bccid serves.

Both lists are read at test time: the (method, path) pairs of openapi.yaml
({param} → '*', {id}.pdf → '*.pdf') against GET /v1/routes of a running
bccid, and each operation's x-roles against the route's roles. The document
is also linted with the pinned npm linter (tests/openapi/run.sh).

The contract's examples are checked too: every request and response example
(the `webhooks` notification included) against its schema; every (status,
error code) the C sources send is documented; and each operation's
`x-replay` entries (a request example or an inline body, path and query
values, the token to use, the status documented for it) are replayed in
order against a running bccid, each answer's status compared, and JSON
answers checked against the schema of that status.
"""
import base64
import glob
import json
import os
import re
import shutil
import subprocess
import unittest
import urllib.parse

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


# --- examples, error codes and replay (need PyYAML and jsonschema: Debian python3-yaml, python3-jsonschema)

ERROR_CALL = re.compile(r'(?:api_error_set|http_fail)\(\s*[^,()]+,\s*(\d{3}),\s*"([a-z_]+)"', re.S)
# the order that builds the state the later examples need: codes, then a dossier, then its shipment
REPLAY_ORDER = ["importCodes", "submitDossier", "getDossier", "getTimeline", "getShipment", "codesStatus", "getLabel",
                "printLabels", "createManifest", "getManifestPdf", "recordScan", "carrierEvents", "cancelShipment"]


def load_doc():
    try:
        import yaml
    except ImportError:
        return None
    with open(SPEC, encoding="utf-8") as f:
        return yaml.safe_load(f)


def validator(doc, schema):
    """A JSON Schema 2020-12 validator (OpenAPI 3.1) whose #/components/... refs resolve in doc."""
    import jsonschema
    root = dict(schema)
    root["components"] = doc["components"]
    return jsonschema.Draft202012Validator(root)


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op
    for name, item in (doc.get("webhooks") or {}).items():
        for method, op in item.items():
            if method in METHODS:
                yield "webhook " + name, method, op


def media_examples(doc):
    """(where, schema, value) for every example of a JSON request or response body."""
    for path, method, op in operations(doc):
        bodies = []
        rb = op.get("requestBody", {}).get("content", {})
        bodies += [("%s %s request" % (method, path), rb.get("application/json"))]
        for st, r in op.get("responses", {}).items():
            bodies += [("%s %s %s" % (method, path, st), r.get("content", {}).get("application/json"))]
        for where, media in bodies:
            if not media:
                continue
            if "example" in media:
                yield where, media["schema"], media["example"]
            for name, ex in (media.get("examples") or {}).items():
                yield "%s example %s" % (where, name), media["schema"], ex["value"]


class OpenApiExamplesTest(unittest.TestCase):
    def setUp(self):
        self.doc = load_doc()
        if self.doc is None:
            self.skipTest("PyYAML is needed (apt-get install python3-yaml)")
        try:
            import jsonschema  # noqa: F401
        except ImportError:
            self.skipTest("jsonschema is needed (apt-get install python3-jsonschema)")

    def test_version_and_webhook(self):
        self.assertTrue(self.doc["openapi"].startswith("3.1"), "webhooks need OpenAPI 3.1, got %s" % self.doc["openapi"])
        note = self.doc["webhooks"]["caseSystemNotification"]["post"]
        props = note["requestBody"]["content"]["application/json"]
        schema = self.doc["components"]["schemas"]["CaseNotification"]
        for field in ("MaHoSo", "TrangThaiHoSo", "NoiDungXuLy", "ThoiDiemXuLy", "waybill", "status", "upu"):
            self.assertIn(field, schema["properties"], "CaseNotification lacks %s" % field)
        self.assertIn("examples", props)
        for needle in ("X-BCCI-Signature", "HMAC-SHA256", "24 hours", "```python", "```js"):
            self.assertIn(needle, note["description"], "the notification's description lacks %r" % needle)

    def test_every_example_matches_its_schema(self):
        seen = 0
        bad = []
        for where, schema, value in media_examples(self.doc):
            seen += 1
            for e in validator(self.doc, schema).iter_errors(value):
                bad.append("%s: %s at %s" % (where, e.message, "/".join(map(str, e.absolute_path))))
        self.assertGreater(seen, 60, "got %d examples" % seen)
        self.assertEqual(bad, [], "\n".join(bad))

    def test_every_operation_has_examples(self):
        missing = []
        for path, method, op in operations(self.doc):
            if path.startswith("webhook"):
                continue
            if not op.get("x-replay"):
                missing.append("%s %s: no x-replay" % (method, path))
            if not op.get("x-codeSamples"):
                missing.append("%s %s: no curl example (x-codeSamples)" % (method, path))
            rb = op.get("requestBody", {}).get("content", {}).get("application/json")
            if rb is not None and not rb.get("examples"):
                missing.append("%s %s: no request example" % (method, path))
            for st, r in op["responses"].items():
                media = r.get("content", {}).get("application/json")
                if media is not None and not (media.get("examples") or "example" in media) and st != "200":
                    missing.append("%s %s %s: no response example" % (method, path, st))
        self.assertEqual(missing, [], "\n".join(missing))

    def test_every_error_code_of_the_server_is_documented(self):
        sent = set()
        for src in glob.glob(os.path.join(harness.ROOT, "gateway", "**", "*.c"), recursive=True) + \
                glob.glob(os.path.join(harness.ROOT, "domain", "*.c")):
            with open(src, encoding="utf-8") as f:
                for status, code in ERROR_CALL.findall(f.read()):
                    if status != "500" or code != "internal":
                        sent.add((status, code))
        documented = set()
        for _, _, op in operations(self.doc):
            for st, r in op.get("responses", {}).items():
                media = r.get("content", {}).get("application/json") or {}
                for ex in (media.get("examples") or {}).values():
                    err = ex["value"].get("error") if isinstance(ex["value"], dict) else None
                    if err:
                        documented.add((st, err["code"]))
        for ex in self.doc.get("x-common-errors", {}).get("examples", {}).values():
            documented.add((str(ex["x-status"]), ex["value"]["error"]["code"]))
        self.assertGreater(len(sent), 30, "got %d (status, code) pairs from the C sources" % len(sent))
        missing = sorted(sent - documented)
        self.assertEqual(missing, [], "sent by bccid but not documented: %s" % missing)

    def test_replay_request_examples(self):
        ops = {op["operationId"]: (path, method, op) for path, method, op in operations(self.doc)
               if not path.startswith("webhook")}
        order = REPLAY_ORDER + sorted(set(ops) - set(REPLAY_ORDER))
        # every request example is replayed at least once
        unreplayed = []
        for oid, (path, method, op) in ops.items():
            examples = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("examples", {})
            used = {e.get("example") for e in op.get("x-replay", [])}
            unreplayed += ["%s example %s" % (oid, n) for n in examples if n not in used]
        self.assertEqual(unreplayed, [], "request examples not replayed: %s" % unreplayed)
        sys = harness.System(workers=0, with_sim=False)
        failures = []
        try:
            for oid in order:
                path, method, op = ops[oid]
                media = op.get("requestBody", {}).get("content", {}).get("application/json", {})
                for n, entry in enumerate(op.get("x-replay", [])):
                    url = path
                    for k, v in (entry.get("params") or {}).items():
                        url = url.replace("{%s}" % k, urllib.parse.quote(str(v), safe=""))
                    if entry.get("query"):
                        url += "?" + urllib.parse.urlencode(entry["query"])
                    body = entry.get("body")
                    if entry.get("example"):
                        body = media["examples"][entry["example"]]["value"]
                    token = {"none": None, "bad": "bcci_not-a-token"}.get(entry.get("token"), True)
                    st, doc, _ = sys.request(method.upper(), url, body, token=token)
                    where = "%s x-replay[%d] (%s %s)" % (oid, n, method.upper(), url)
                    want = entry["status"]
                    if str(want) not in op["responses"]:
                        failures.append("%s: status %s is not documented" % (where, want))
                    if st != want:
                        failures.append("%s: got %s %r, want %s" % (where, st, doc if not isinstance(doc, bytes)
                                                                    else doc[:120], want))
                        continue
                    schema = op["responses"][str(want)].get("content", {}).get("application/json", {}).get("schema")
                    if schema and not isinstance(doc, bytes):
                        for e in validator(self.doc, schema).iter_errors(doc):
                            failures.append("%s: the answer does not match its schema: %s at %s" %
                                            (where, e.message, "/".join(map(str, e.absolute_path))))
        finally:
            findings = sys.stop()
        self.assertEqual(findings, [])
        self.assertEqual(failures, [], "\n".join(failures))

    def test_webhook_describes_the_notifications_bccid_sends(self):
        """Real notifications (booked, delivered) match CaseNotification, and the description's
        Python and Node.js verifiers, run as written, accept their signatures."""
        import http.server
        import threading
        import time
        note = self.doc["webhooks"]["caseSystemNotification"]["post"]
        blocks = re.findall(r"```(python|js)\n(.*?)```", note["description"], re.S)
        code = {lang: text for lang, text in blocks}
        self.assertEqual(sorted(code), ["js", "python"])
        secret = b"openapi-webhook-secret"
        got = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                got.append((self.headers.get("X-BCCI-Signature", ""), body))
                self.send_response(200)
                self.end_headers()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        sys = harness.System(workers=0, bccid_args=["--case_system_url",
                                                    "http://127.0.0.1:%d/dvc" % server.server_address[1]],
                             case_secret=secret)
        try:
            sys.worker_args = ["--case_system.secret_file", sys.case_secret_file]
            sys.start_worker()
            sys.import_codes()
            d = harness.make_dossier(7)
            st, doc, _ = sys.request("POST", "/v1/dossiers", d)
            self.assertEqual(st, 201, doc)
            deadline = time.time() + 90
            while time.time() < deadline and len(got) < 2:
                time.sleep(0.3)
        finally:
            findings = sys.stop()
            server.shutdown()
            server.server_close()
        self.assertEqual(findings, [])
        self.assertGreaterEqual(len(got), 2, "got %d notifications, want booked and delivered" % len(got))
        schema = validator(self.doc, {"$ref": "#/components/schemas/CaseNotification"})
        scope = {}
        exec(code["python"], scope)  # the documented verifier, as the case system would paste it
        for header, body in got:
            note_doc = json.loads(body)
            errors = ["%s at %s" % (e.message, "/".join(map(str, e.absolute_path))) for e in schema.iter_errors(note_doc)]
            self.assertEqual(errors, [], "notification %s" % body[:200])
            self.assertTrue(scope["verify"](secret, header, body), "the Python verifier refused %r" % header)
            self.assertFalse(scope["verify"](b"another secret", header, body))
        self.assertEqual([json.loads(b)["status"] for _, b in got[:2]], ["booked", "delivered"])
        if not shutil.which("node"):
            return
        header, body = got[-1]
        js = code["js"] + """
const [secret, header, body] = process.argv.slice(1); // node -e: no script path in argv
console.log(verify(Buffer.from(secret), header, Buffer.from(body, "base64")) ? "valid" : "invalid");
"""
        for key, want in ((secret, "valid"), (b"another secret", "invalid")):
            p = subprocess.run(["node", "-e", js, "--", key.decode(), header, base64.b64encode(body).decode()],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.stdout.strip(), want, "the Node.js verifier: %s%s" % (p.stdout, p.stderr))


if __name__ == "__main__":
    unittest.main()
