#!/usr/bin/env python3
"""fixture - start bccid + simulator + worker with a few shipments for the browser tests.

Prints one JSON line {url, tracking, tracking_failed, clerk_token, waybills, ...}
once everything is ready, then waits until stdin closes (or a line "stop"),
stops every process it started and exits 1 when a sanitizer reported something.
Uses tests/integration/harness.py and build_scene() of test_public_pages.py.

The scene: waybills[0] out for delivery, [1] (agency B) and [8] failed deliveries,
[2..7] (agency A) and two more of agency B ready to hand over, three dead bookings
(one to retry alone, two for "retry all" at 390 px); the line "dead" on stdin makes one
more (answered with {"dead_waybill": …}).
"""
import json
import os
import sqlite3
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import harness  # noqa: E402
import test_public_pages as pages  # noqa: E402


def make_dead_jobs(system, seqs):
    """Dossiers whose book jobs are dead, as make_dead_job of test_public_pages.py makes one,
    with the workers stopped and started once for all of them. Returns their waybills."""
    for w in system.workers:
        w.stop()
    system.workers = []
    codes = []
    for seq in seqs:
        d = harness.make_dossier(seq, harness.load_examples()[0])
        st, doc, _ = system.request("POST", "/v1/dossiers", d)
        assert st == 201, (st, doc)
        codes.append(d["dossier_code"])
    con = sqlite3.connect(os.path.join(system.state, "bcci.db"), timeout=30)
    try:
        with con:
            for code in codes:
                n = con.execute("UPDATE jobs SET state = 'dead', attempts = 25, last_error = ?"
                                " WHERE kind = 'book' AND state = 'ready' AND shipment_id ="
                                " (SELECT s.id FROM shipments s JOIN dossiers x ON x.id = s.dossier_id"
                                " WHERE x.code = ?)",
                                ("Bưu điện từ chối đơn (HTTP 400): thiếu thông tin người nhận", code)).rowcount
                assert n == 1, "want the booking of %s ready to mark dead, found %d" % (code, n)
    finally:
        con.close()
    system.start_worker()
    return [pages.doc_waybill(system, code) for code in codes]


def main():
    system, dossiers, waybills = pages.build_scene(9)
    try:
        pages.carrier_events(system, waybills[8], [
            (7, pages.vn_time(1), "Bưu cục đã nhận", ""),
            (15, pages.vn_time(2), "Phát không thành công", "Không liên lạc được với người nhận"),
        ])
        dead = make_dead_jobs(system, (90, 92, 93))
        other = [harness.make_dossier(seq, harness.load_examples()[1]) for seq in (94, 95)]
        extra = []
        for d in other:
            st, doc, _ = system.request("POST", "/v1/dossiers", d)
            assert st == 201, (st, doc)
            extra.append(doc["shipments"][0]["waybill"])
        pending = system.wait_all_status([d["dossier_code"] for d in other], "booked", timeout=60)
        assert not pending, "not booked within 60 s: %s" % sorted(pending)
        info = {
            "url": system.url,
            "state_dir": system.state,
            "tracking": pages.tracking_path(system, waybills[0]),
            "tracking_failed": pages.tracking_path(system, waybills[1]),
            "tracking_wrong": "/t/%s?k=AAAAAAAAAAAAAAAA" % waybills[0],
            "waybills": waybills,
            "ready": waybills[2:8] + extra,
            "other_agency_ready": extra,
            "failed": [waybills[1], waybills[8]],
            "dead_waybills": dead,
            # a dead book job leaves its shipment in "exception"
            "problems": sorted([waybills[1], waybills[8]] + dead),
            "masked_name": "Nguyễn T. Á. T.",
            "private": [dossiers[0]["recipient"]["name"], dossiers[0]["recipient"]["phone"],
                        dossiers[0]["recipient"]["address"]],
            "failed_phone": dossiers[1]["recipient"]["phone"],
            "failed_name": dossiers[1]["recipient"]["name"],
            "desk": {"name": dossiers[8]["agency"]["name"], "address": dossiers[8]["agency"]["address"]},
            "agency_a": dossiers[2]["agency"]["code"],
            "agency_b": dossiers[1]["agency"]["code"],
            "clerk_token": system.token("clerk-browser", "clerk"),
            "tracking_paths": {w: pages.tracking_path(system, w) for w in waybills + dead + extra},
        }
        print(json.dumps(info, ensure_ascii=False), flush=True)
        seq = 96
        for line in sys.stdin:
            if line.strip() == "stop":
                break
            if line.strip() == "dead":  # one more dead booking, for a later "retry all"
                seq += 1
                print(json.dumps({"dead_waybill": make_dead_jobs(system, [seq])[0]}), flush=True)
    finally:
        findings = system.stop()
    if findings:
        print("sanitizer reports:\n" + "\n".join(findings), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
