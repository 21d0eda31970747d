#!/usr/bin/env python3
"""valgrind_scenario - a short integration scenario with bccid and a worker under memcheck.

Called by `make valgrind` with BCCI_BIN pointing at the build/rel programs
(valgrind and sanitizers never together). bccid and one bcci-worker run under
`valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
--suppressions=tests/valgrind.supp`; the carrier simulator runs plain. A few
dossiers are submitted (one replayed, one refused), delivered, and both
programs are stopped with SIGTERM: any memcheck error or definite leak makes
the program exit 99 and this script exit 1 with the report.
"""
import os
import stat
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "integration"))
import harness  # noqa: E402

REAL_BIN = harness.BIN
SUPP = os.path.join(HERE, "valgrind.supp")
# the build/rel programs link jemalloc: memcheck must replace its malloc, not only libc's
VALGRIND = ["valgrind", "-q", "--soname-synonyms=somalloc=libjemalloc.so*", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite", "--num-callers=30", "--suppressions=" + SUPP]
DOSSIERS = 5


def wrappers():
    """A directory whose bccid and bcci-worker run the real programs under valgrind."""
    d = tempfile.mkdtemp(prefix="bcci-vg-")
    for name in ("bccid", "bcci-worker", "bcci-carrier-sim"):
        path = os.path.join(d, name)
        real = os.path.join(REAL_BIN, name)
        prefix = " ".join(VALGRIND) + " " if name != "bcci-carrier-sim" else ""
        with open(path, "w") as f:
            f.write('#!/bin/sh\nexec %s"%s" "$@"\n' % (prefix, real))
        os.chmod(path, stat.S_IRWXU)
    return d


def main():
    harness.BIN = wrappers()
    t0 = time.time()
    communes = os.path.join(tempfile.mkdtemp(prefix="bcci-vg-"), "communes.conf")
    with open(communes, "w", encoding="utf-8") as f:
        f.write("00004 = Phường Ba Đình\n00008 = Phường Ngọc Hà\n")
    system = harness.System(workers=1, bccid_args=["--communes_file", communes])
    ok = False
    try:
        system.import_codes(count=100)
        dossiers = [harness.make_dossier(i, t) for i, t in zip(range(1, DOSSIERS + 1), harness.load_examples())]
        statuses = [st for st, _, _ in system.submit_many(dossiers, concurrency=2)]
        replay = system.request("POST", "/v1/dossiers", dossiers[0])[0]
        bad = dict(dossiers[1], cod_amount=-1)
        refused = system.request("POST", "/v1/dossiers", bad)[0]
        codes = [d["dossier_code"] for d in dossiers]
        pending = system.wait_all_status(codes, "delivered", timeout=180)
        for code in codes:
            st, tl, _ = system.timeline(code)
            assert st == 200 and tl["chain_valid"], (code, st)
        # labels in every format, with commune names, through an agency-bound clerk token
        agency = dossiers[0]["agency"]["code"]
        st, doc, _ = system.request("POST", "/v1/tokens", {"name": "vg-clerk", "role": "clerk", "agency_code": agency})
        clerk = doc.get("token", "") if st == 201 else ""
        waybill = system.dossier(codes[0])[1]["shipments"][0]["waybill"]
        labels = [system.request("GET", "/v1/shipments/%s/label?format=%s" % (waybill, fmt), token=clerk)[0]
                  for fmt in ("pdf", "png", "svg", "zpl", "zpl-font")]
        others = [d["dossier_code"] for d in dossiers if d["agency"]["code"] != agency]
        hidden = system.request("GET", "/v1/dossiers/%s" % others[0], token=clerk)[0] if others else 404
        print("valgrind scenario: submitted %s, replay %d, refused %d, not delivered %d, labels %s, "
              "another agency's dossier %d" % (statuses, replay, refused, len(pending), labels, hidden))
        ok = (statuses == [201] * DOSSIERS and replay == 200 and refused == 422 and not pending and
              labels == [200] * 5 and hidden == 404)
    finally:
        system.stop()
    failed = []
    for p in system.procs:
        if p.name in ("bccid", "worker"):
            rc = p.p.returncode
            print("  %s exit %s" % (p.name, rc))
            if rc != 0:
                failed.append(p)
    for p in failed:
        print("---- %s (exit %s) memcheck report:\n%s" % (p.name, p.p.returncode, p.stderr_tail(80)))
    print("valgrind scenario %s in %.0f s" % ("passed" if ok and not failed else "FAILED", time.time() - t0))
    return 0 if ok and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
