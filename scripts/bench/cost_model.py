#!/usr/bin/env python3
"""AWS list-price cost per 1 million orders, from the measured numbers.

Usage: python3 scripts/bench/cost_model.py [--lambda-json target/bench/lambda.json] [--memory-mb 256]
Every input is printed with where it comes from. Prices: us-east-1 list prices, arm64 Lambda, as
published on the AWS pricing pages (2026); update PRICES when they change.
"""
import argparse
import json
import math
import statistics
from pathlib import Path

PRICES = {
    "api_gateway_http_per_million": 1.00,           # HTTP API, first 300M requests/month
    "lambda_requests_per_million": 0.20,
    "lambda_arm64_gb_second": 0.0000133334,
    "sqs_standard_per_million_requests": 0.40,
    "dynamodb_on_demand_per_million_wru": 0.625,
    "dynamodb_on_demand_per_million_rru": 0.125,
    "sfn_standard_per_thousand_transitions": 0.025,
    "sfn_express_per_million_requests": 1.00,
    "sfn_express_gb_second": 0.00001667,
    "ses_per_thousand_emails": 0.10,
}


def billed_ms(samples_s):
    return math.ceil(statistics.median(samples_s) * 1000)  # Lambda bills per 1 ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lambda-json", default="target/bench/lambda.json")
    ap.add_argument("--memory-mb", type=int, default=256)
    ap.add_argument("--consumer-batch", type=float, default=1.0, help="orders per consumer invocation (1 = worst case, up to 10)")
    ap.add_argument("--workflow-seconds", type=float, default=0.3)
    ap.add_argument("--reconcile-every-minutes", type=float, default=5)
    a = ap.parse_args()
    measured = {}
    p = Path(a.lambda_json)
    if p.exists():
        data = json.loads(p.read_text())
        measured = {k: billed_ms(v["warm"]) for k, v in data.items()}
    create_ms = measured.get("order-create-order", 50)
    consumer_ms = measured.get("order-queue-consumer", 30)
    src = f"warm p50 from {a.lambda_json}" if measured else "assumed (run lambda_runtime_bench.py --json first)"
    gb = a.memory_mb / 1024
    rows = []
    M = 1_000_000
    rows.append(("API Gateway HTTP API", "1 request (POST /create-order)", PRICES["api_gateway_http_per_million"]))
    lam_req = 1 + 1 / a.consumer_batch
    lam_gbs = (create_ms + consumer_ms / a.consumer_batch) / 1000 * gb
    rows.append(("Lambda requests", f"{lam_req:g} invocations (create-order + consumer/{a.consumer_batch:g})", lam_req * PRICES["lambda_requests_per_million"]))
    rows.append(("Lambda duration (arm64)", f"create-order {create_ms} ms + consumer {consumer_ms} ms at {a.memory_mb} MB ({src})", lam_gbs * M * PRICES["lambda_arm64_gb_second"]))
    rows.append(("SQS", "3 requests: send, receive, delete (receive/delete batch up to 10)", 3 * PRICES["sqs_standard_per_million_requests"]))
    # Items < 1 KB. Transactional writes cost 2 WRU per item; a GSI write is a plain write, and an
    # update that changes an index key costs that index 2 (delete + put).
    writes = [
        ("order put", 1), ("its byCustomer entry", 1), ("its byStatus entry", 1),
        ("transaction: product + order update", 2 * 2),
        ("product byStatus + approvedByCategory entries (quantity changed)", 2),
        ("order byCustomer entry (status changed)", 1), ("order byStatus entry moved pending -> shipping", 2),
    ]
    wru = sum(n for _, n in writes)
    rows.append(("DynamoDB writes", f"{wru} WRU: " + ", ".join(f"{what} ({n})" for what, n in writes), wru * PRICES["dynamodb_on_demand_per_million_wru"]))
    rows.append(("DynamoDB reads", "2 RRU: strongly consistent product reads (create-order, CheckStock)", 2 * PRICES["dynamodb_on_demand_per_million_rru"]))
    std = 4 * M / 1000 * PRICES["sfn_standard_per_thousand_transitions"]
    rows.append(("Step Functions Standard", "4 state transitions on the happy path (CheckStock, EnoughStock, ReserveStock, ShippingEmail)", std))
    rows.append(("SES", "2 emails (confirmation + shipping)", 2 * M / 1000 * PRICES["ses_per_thousand_emails"]))
    total_std = sum(r[2] for r in rows)
    express = PRICES["sfn_express_per_million_requests"] + M * a.workflow_seconds * (64 / 1024) * PRICES["sfn_express_gb_second"]
    print("| item | per order | $ per 1M orders |")
    print("|---|---|---:|")
    for name, basis, cost in rows:
        print(f"| {name} | {basis} | {cost:,.2f} |")
    print(f"| **total (Standard workflow)** | | **{total_std:,.2f}** |")
    print(f"| Step Functions Express instead | 1 request + {a.workflow_seconds} s at 64 MB | {express:,.2f} |")
    print(f"| **total (Express workflow)** | | **{total_std - std + express:,.2f}** |")
    print(f"| total without SES (the one cost not ours) | Standard | {total_std - rows[-1][2]:,.2f} |")
    runs = 30 * 24 * 60 / a.reconcile_every_minutes
    reconcile_ms = measured.get("order-reconcile", 10)
    fixed = runs * (PRICES["lambda_requests_per_million"] / M + reconcile_ms / 1000 * gb * PRICES["lambda_arm64_gb_second"]
                    + 0.5 * PRICES["dynamodb_on_demand_per_million_rru"] / M)
    print(f"| reconciler, fixed per month whatever the volume | {runs:,.0f} runs x (1 invocation, {reconcile_ms} ms, 1 eventually consistent index query) | {fixed:,.4f} |")


if __name__ == "__main__":
    main()
