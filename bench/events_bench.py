#!/usr/bin/env python3
"""events_bench - carrier events applied per second, and case-system notifications delivered per second.

Run by `make bench` (BCCI_BIN = the programs). Uses the integration harness to start a real bccid:
  1. submit N dossiers, then POST VNPost webhooks of 100 events each from 4 client threads;
     every shipment gets 4 events (accepted, in transit, out for delivery, delivered) -> events/s
     applied (each POST is one engine batch, so events are written in batches)
  2. with a case-system receiver (Python, in this process) and 2 workers: the notifications the
     events queued (booked is not involved: no worker booked; delivered = DVC 10) -> notifications/s
Prints one line per figure and a JSON summary line.
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "integration"))
import casesys  # noqa: E402
import harness  # noqa: E402

STATUSES = [("6", "Đã nhận hàng"), ("10", "Đang vận chuyển"), ("12", "Đang phát"), ("14", "Phát thành công")]


def post_batches(url, token, bodies, clients=4):
    host, port = url.split("//")[1].split(":")
    port = int(port)

    def worker(chunk):
        conn = http.client.HTTPConnection(host, port, timeout=60)
        ok = 0
        for body in chunk:
            conn.request("POST", "/v1/carriers/vnpost/events", body=body,
                         headers={"Content-Type": "application/json", "Authorization": "Bearer " + token})
            r = conn.getresponse()
            r.read()
            ok += r.status == 200
        conn.close()
        return ok

    chunks = [bodies[i::clients] for i in range(clients)]
    with concurrent.futures.ThreadPoolExecutor(clients) as ex:
        return sum(ex.map(worker, chunks))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dossiers", type=int, default=5000)
    args = ap.parse_args()
    receiver = casesys.Receiver(b"bench-secret")
    sys_ = harness.System(workers=0, with_sim=False, bccid_args=["--case_system_url", receiver.url],
                          case_secret=b"bench-secret")
    try:
        sys_.import_codes(count=args.dossiers + 10)
        token = sys_.token("bench-carrier", "carrier")
        dossiers = [harness.make_dossier(i) for i in range(1, args.dossiers + 1)]
        results = sys_.submit_many(dossiers, concurrency=16)
        waybills = [doc["shipments"][0]["waybill"] for st, doc, _ in results if st == 201]
        t0 = time.time() - 3600
        events = []
        for k, (code, name) in enumerate(STATUSES):
            for i, w in enumerate(waybills):
                when = time.strftime("%d/%m/%Y %H:%M:%S", time.gmtime(t0 + k * 60 + 7 * 3600))
                events.append({"originalId": "VNPB" + w, "itemCode": w, "status": code, "statusDate": when,
                               "statusName": name, "reason": "", "eventId": "b%d-%s" % (k, w)})
        bodies = [json.dumps(events[i:i + 100], ensure_ascii=False).encode() for i in range(0, len(events), 100)]
        start = time.time()
        ok = post_batches(sys_.url, token, bodies)
        elapsed = time.time() - start
        rate = len(events) / elapsed
        print("carrier events applied: %d events in %d POSTs of 100 in %.2f s = %.0f events/s (%d POSTs ok)"
              % (len(events), len(bodies), elapsed, rate, ok))

        # the delivered events queued one notification per shipment; two workers deliver them
        sys_.worker_args = ["--case_system.secret_file", sys_.case_secret_file]
        start = time.time()
        sys_.start_worker()
        sys_.start_worker()
        deadline = time.time() + 300
        while time.time() < deadline and len(receiver.accepted) < len(waybills):
            time.sleep(0.05)
        n_elapsed = time.time() - start
        n_rate = len(receiver.accepted) / n_elapsed
        print("notifications delivered: %d in %.2f s = %.0f notifications/s (2 workers; signed POSTs to a "
              "Python receiver, which is likely the limit)" % (len(receiver.accepted), n_elapsed, n_rate))
        print("summary " + json.dumps({"events_per_s": round(rate), "events": len(events),
                                       "notifications_per_s": round(n_rate),
                                       "notifications": len(receiver.accepted)}))
    finally:
        sys_.stop()
        receiver.stop()


if __name__ == "__main__":
    main()
