"""The systemd units run unprivileged and confined (issue 5/6)."""
import configparser
import os
import shutil
import subprocess
import unittest

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


if __name__ == "__main__":
    unittest.main()
