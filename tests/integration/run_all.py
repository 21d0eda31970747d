"""Run integration test modules (tests/integration/test_*.py) with unittest.

Arguments pick what runs: file patterns (test_*.py, the default) and dotted names
(test_lifecycle.LegsTest), any number of each."""
import os
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
suite = unittest.TestSuite()
for arg in sys.argv[1:] or ["test_*.py"]:
    if arg.endswith(".py"):
        suite.addTests(unittest.defaultTestLoader.discover(here, pattern=arg))
    else:
        suite.addTests(unittest.defaultTestLoader.loadTestsFromName(arg))
result = unittest.TextTestRunner(verbosity=2).run(suite)
sys.exit(0 if result.wasSuccessful() else 1)
