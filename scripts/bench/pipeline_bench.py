#!/usr/bin/env python3
"""Order pipeline on the local stack: create-order -> `shipping` latency (p50/p95), sustained orders
per second, how much of it the emulator's Step Functions takes, and an oversell check at the end.

Needs a running local stack (`bash scripts/local.sh`); reads .local/stack.json.
Usage: python3 scripts/bench/pipeline_bench.py [--orders 200] [--concurrency 8] [--stock 150] [--products 1]
                                              [--poll-ms 50] [--wait-pending 0]

Orders still pending after 120 s are counted as such; with --wait-pending SECS the bench then waits
that long for the reconciler to decide them (start the runner with a short schedule for that:
`shop-local --reset --cleanup-every 15 --reconcile-after 60`).
"""
import argparse
import json
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import boto3

from local_api import ROOT, approved_product, call, pct, sign_up


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--stock", type=int, default=150)
    ap.add_argument("--wait-pending", type=float, default=0)
    # Each waiting customer reads its order this often: the reads load the emulator too.
    ap.add_argument("--poll-ms", type=float, default=50)
    # 1: every order takes the same product (hot: transactions conflict and back off, as on
    # DynamoDB); N: customer i orders product i % N, each with --stock units.
    ap.add_argument("--products", type=int, default=1)
    a = ap.parse_args()
    stack = json.loads((ROOT / ".local/stack.json").read_text())
    base = stack["apiUrl"]
    admin = sign_up(base, "pipe", admin=True)[2]["IdToken"]
    pids = [approved_product(base, admin, f"Pipe{n}", a.stock) for n in range(a.products)]
    buyers = [sign_up(base, "pipe")[2]["IdToken"] for _ in range(a.concurrency)]

    def order(i):
        tok = buyers[i % len(buyers)]
        t0 = time.perf_counter()
        s, b = call(base, "POST", "/order/create-order", {"id": pids[i % len(buyers) % len(pids)], "quantity": 1}, tok)
        accepted = time.perf_counter() - t0
        if s != 201:
            return ("", f"HTTP {s} {(b or {}).get('code', '')}".strip(), 0.0, accepted, None)
        oid = b["orderId"]
        while True:
            _, o = call(base, "GET", f"/order/orders/{oid}", None, tok)
            if o and o.get("status") not in (None, "pending"):
                return oid, o["status"], time.perf_counter() - t0, accepted, time.perf_counter()
            if time.perf_counter() - t0 > 120:
                return oid, "pending", time.perf_counter() - t0, accepted, None
            time.sleep(a.poll_ms / 1000)

    started = time.perf_counter()
    with ThreadPoolExecutor(a.concurrency) as pool:
        everything = list(pool.map(order, range(a.orders)))
    refused = Counter(r[1] for r in everything if not r[0])
    results = [r for r in everything if r[0]]
    decided_at = [r[4] for r in results if r[4] is not None]
    throughput = len(decided_at) / (max(decided_at) - started) if decided_at else 0.0
    stuck = [r[0] for r in results if r[1] == "pending"]
    user_tokens = {r[0]: buyers[i % len(buyers)] for i, r in enumerate(everything) if r[0]}
    late = Counter()
    deadline = time.perf_counter() + a.wait_pending
    while stuck and time.perf_counter() < deadline:
        time.sleep(2)
        for oid in list(stuck):
            _, o = call(base, "GET", f"/order/orders/{oid}", None, user_tokens[oid])
            if o and o.get("status") not in (None, "pending"):
                late[o["status"]] += 1
                stuck.remove(oid)
    sfn = boto3.client("stepfunctions", endpoint_url=stack["emulatorEndpoint"], region_name=stack["region"],
                       aws_access_key_id="bench", aws_secret_access_key="bench")
    ids = {r[0] for r in results}
    exec_durations, exec_status, redriven = [], Counter(), 0
    paginator = sfn.get_paginator("list_executions")
    for page in paginator.paginate(stateMachineArn=stack["workflows"]["order-processing"]):
        for e in page["executions"]:
            if e["name"].rsplit("-r", 1)[0] in ids and e["name"] not in ids:
                redriven += 1
            if e["name"] in ids:
                exec_status[e["status"]] += 1
                if e.get("stopDate"):
                    exec_durations.append((e["stopDate"] - e["startDate"]).total_seconds())
    shipped = [r for r in results if r[1] == "shipping"]
    _, listed = call(base, "GET", "/product/approve-products?category=Bench&limit=100")
    left = [next((p["quantity"] for p in listed["products"] if p["id"] == pid), None) for pid in pids]
    stock = None if None in left else sum(left)
    initial = a.stock * len(pids)
    shipped_total = len(shipped) + late["shipping"]
    lat = [r[2] for r in shipped]
    acc = [r[3] for r in results]
    print("| measure | value |")
    print("|---|---:|")
    print(f"| orders placed / accepted (201) | {a.orders} / {len(results)} |")
    if refused:
        print(f"| not accepted | {', '.join(f'{n} x {k}' for k, n in sorted(refused.items()))} |")
    outcomes = Counter(r[1] for r in results)
    print(f"| accepted orders by final status | {', '.join(f'{k} {n}' for k, n in sorted(outcomes.items()))} |")
    print(f"| create-order response p50 / p95 ms | {statistics.median(acc) * 1000:.0f} / {pct(acc, 95) * 1000:.0f} |")
    if lat:
        print(f"| create-order -> shipping p50 / p95 ms | {statistics.median(lat) * 1000:.0f} / {pct(lat, 95) * 1000:.0f} |")
    if exec_durations:
        print(f"| emulator's workflow execution p50 ms | {statistics.median(exec_durations) * 1000:.0f} |")
    print(f"| executions by status (first execution of each order) | {', '.join(f'{k} {n}' for k, n in sorted(exec_status.items()))} |")
    print(f"| orders re-driven by the reconciler | {redriven} |")
    print(f"| sustained orders per second, accepted to decided (concurrency {a.concurrency}) | {throughput:.2f} |")
    if a.wait_pending:
        print(f"| pending after 120 s, then decided by the reconciler within {a.wait_pending:.0f} s | "
              f"{sum(late.values())} ({', '.join(f'{k} {n}' for k, n in sorted(late.items())) or '-'}) |")
    print(f"| left pending at the end | {len(stuck)} |")
    print(f"| stock left / expected (over {len(pids)} product(s)) | {stock} / {initial - shipped_total} |")
    oversold = stock is None or min(left) < 0 or shipped_total > initial or stock != initial - shipped_total
    print(f"| oversell | {'YES' if oversold else 'none'} |")
    raise SystemExit(1 if oversold else 0)


if __name__ == "__main__":
    main()
