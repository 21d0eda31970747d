#!/usr/bin/env python3
"""fixture - start bccid + simulator + worker with a few shipments for the browser tests.

Prints one JSON line {url, tracking, tracking_failed, clerk_token, waybills, ...}
once everything is ready, then waits until stdin closes (or a line "stop"),
stops every process it started and exits 1 when a sanitizer reported something.
Uses tests/integration/harness.py and build_scene() of test_public_pages.py.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import test_public_pages as pages  # noqa: E402


def main():
    system, dossiers, waybills = pages.build_scene(5)
    try:
        dead = pages.make_dead_job(system, 90)
        info = {
            "url": system.url,
            "state_dir": system.state,
            "tracking": pages.tracking_path(system, waybills[0]),
            "tracking_failed": pages.tracking_path(system, waybills[1]),
            "tracking_wrong": "/t/%s?k=AAAAAAAAAAAAAAAA" % waybills[0],
            "waybills": waybills,
            "ready": waybills[2:],
            "dead_waybill": dead,
            "problems": sorted([waybills[1], dead]),  # a dead book job leaves its shipment in "exception"
            "masked_name": "Nguyễn T. Á. T.",
            "private": [dossiers[0]["recipient"]["name"], dossiers[0]["recipient"]["phone"],
                        dossiers[0]["recipient"]["address"]],
            "clerk_token": system.token("clerk-browser", "clerk"),
        }
        print(json.dumps(info, ensure_ascii=False), flush=True)
        for line in sys.stdin:
            if line.strip() == "stop":
                break
    finally:
        findings = system.stop()
    if findings:
        print("sanitizer reports:\n" + "\n".join(findings), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
