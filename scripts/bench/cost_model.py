#!/usr/bin/env python3
"""AWS list-price cost per 1 million orders: the original design and ours, side by side.

Usage: python3 scripts/bench/cost_model.py [--lambda-json target/bench/lambda.json] [--products 1000]
       [--workflow STANDARD|EXPRESS] [--lines 1] [--carts 1,3,10] [--check-half]

Every line is counted calls x list prices, and says where its numbers come from. Prices:
us-east-1 list prices (2026); update PRICES when they change. Ours: the default stage
configuration (infra/lib/config.ts: Express workflow, arm64, 256 MB, X-Ray tracing on). The
original: the seed's Serverless services (Node 22 on x86_64 at the Serverless default of 1024 MB;
placeOrder calls the product service's HTTP API, whose handler scans the whole products table; SQS;
processOrder starts a Standard workflow of one Lambda task, updateOrderStatus, and a Pass state).
An order of N lines (a cart) costs us one order with N lines; the original takes one product per
order, so the same cart costs it N orders. --carts prints both per 1 million carts for each N.
--check-half exits 1 unless ours, without SES, costs at most half of the original's (one line).
"""
import argparse
import json
import math
import statistics
import sys
from pathlib import Path

DECLARATION = json.loads((Path(__file__).resolve().parents[2] / "lambdas" / "services.json").read_text())

PRICES = {
    "api_gateway_http_per_million": 1.00,           # HTTP API, first 300M requests/month
    "lambda_requests_per_million": 0.20,
    "lambda_arm64_gb_second": 0.0000133334,
    "lambda_x86_gb_second": 0.0000166667,
    "sqs_standard_per_million_requests": 0.40,
    "dynamodb_on_demand_per_million_wru": 0.625,
    "dynamodb_on_demand_per_million_rru": 0.125,
    "sfn_standard_per_thousand_transitions": 0.025,
    "sfn_express_per_million_requests": 1.00,
    "sfn_express_gb_second": 0.00001667,            # billed in 64 MB, 100 ms steps
    "ses_per_thousand_emails": 0.10,
    "xray_per_million_traces": 5.00,
    "cloudwatch_logs_per_gb_ingested": 0.50,
    "secrets_manager_per_10k_calls": 0.05,
    "cloudwatch_metric_per_month": 0.30,            # a custom (or API Gateway detailed) metric
    "cloudwatch_alarm_per_month": 0.10,             # a standard-resolution alarm
    "waf_web_acl_per_month": 5.00,
    "waf_rule_per_month": 1.00,
    "waf_per_million_requests": 0.60,
    # The provider's fee (not AWS; shown apart, never in the ratio): Stripe's US list price for a
    # domestic card charge. A voided authorization costs nothing.
    "stripe_card_percent": 2.9,
    "stripe_card_fixed": 0.30,
}
M = 1_000_000


def billed_ms(samples_s):
    return math.ceil(statistics.median(samples_s) * 1000)  # Lambda bills per 1 ms


def per_million(price_per_unit_million, units):
    return units * price_per_unit_million


def lambda_gbs(ms, memory_mb):
    return ms / 1000 * memory_mb / 1024


def logs(bytes_per_order):
    return bytes_per_order * M / 1024**3 * PRICES["cloudwatch_logs_per_gb_ingested"]


def wru(size_bytes):
    """Write request units of one standard write of an item of this size (1 per KB started)."""
    return math.ceil(size_bytes / 1024)


def ours(a, measured, lines=1):
    """Rows (item, basis, $ per 1M orders of `lines` lines) of our order path, by design."""
    create_ms = measured.get("order-create-order", 50)
    consumer_ms = measured.get("order-queue-consumer", 30)
    src = f"warm p50 from {a.lambda_json}" if measured else "assumed (run lambda_runtime_bench.py --json first)"
    invocations = 1 + 1 / a.consumer_batch
    rows = [
        ("API Gateway HTTP API", "1 request (POST /create-order)", PRICES["api_gateway_http_per_million"]),
        ("Lambda requests", f"{invocations:g} (create-order + consumer/{a.consumer_batch:g})", invocations * PRICES["lambda_requests_per_million"]),
        ("Lambda duration", f"arm64 {a.memory_mb} MB: create-order {create_ms} ms + consumer {consumer_ms} ms ({src})",
         lambda_gbs(create_ms + consumer_ms / a.consumer_batch, a.memory_mb) * M * PRICES["lambda_arm64_gb_second"]),
        ("SQS", "3 requests: send, receive, delete", 3 * PRICES["sqs_standard_per_million_requests"]),
    ]
    # A write costs 1 WRU per KB started; a transactional write twice that; a GSI write is a plain
    # write of what the index projects (byCustomer: all of the order; byStatus: keys only), and an
    # update that changes an index key costs that index 2 (delete + put). `decidedBy` rides on the
    # order update the transaction makes anyway. Product items stay < 1 KB.
    order_kb = wru(a.order_bytes + lines * a.line_bytes)
    writes = [
        (f"order put ({order_kb} KB)", order_kb), ("its byCustomer entry", order_kb), ("its byStatus entry", 1),
        (f"transaction: {lines} product update(s) + order update", 2 * lines + 2 * order_kb),
        (f"{lines} x product byStatus + approvedByCategory entries", 2 * lines),
        ("order byCustomer entry", order_kb), ("order byStatus entry pending -> shipping", 2),
    ]
    wrus = sum(n for _, n in writes)
    rows.append(("DynamoDB writes", f"{wrus} WRU: " + ", ".join(f"{w} ({n})" for w, n in writes), wrus * PRICES["dynamodb_on_demand_per_million_wru"]))
    rows.append(("DynamoDB reads", f"{2 * lines} RRU: strongly consistent reads of each line's product (create-order BatchGetItem, the workflow's CheckLine query); independent of the catalog size", 2 * lines * PRICES["dynamodb_on_demand_per_million_rru"]))
    # The happy path: CheckInput, CountLines, PlanReservation, CheckStock, Tally, EnoughStock,
    # ReserveStock, ShippingEmail; the order's planning slot (WhichSlot, OrderSlot); per line 4
    # planning states (WhichSlot, PickLine, LineComplete, LineSlot) and its CheckLine.
    transitions = 10 + 5 * lines
    if a.workflow == "EXPRESS":
        chunks = math.ceil((a.workflow_seconds + lines * a.workflow_seconds_per_line) * 10) / 10
        wf = PRICES["sfn_express_per_million_requests"] + M * chunks * (64 / 1024) * PRICES["sfn_express_gb_second"]
        rows.append(("Step Functions", f"Express: 1 execution, {chunks:g} s at 64 MB (the lines' checks run in parallel; logs: ERROR level, nothing on success)", wf))
    else:
        rows.append(("Step Functions", f"Standard: {transitions} state transitions on the happy path (Map iterations count too)", transitions * M / 1000 * PRICES["sfn_standard_per_thousand_transitions"]))
    stream_ms = measured.get("order-status-changed", 5)
    metrics = (per_million(PRICES["lambda_requests_per_million"], a.stream_invocations)
               + lambda_gbs(stream_ms * a.stream_invocations, a.memory_mb) * M * PRICES["lambda_arm64_gb_second"]
               + logs(a.stream_invocations * 2 * 350))
    rows.append(("Business metrics", f"Orders stream -> status-changed: {a.stream_invocations:g} invocations of {stream_ms} ms (batches of up to 100 records; 2 = one per record, the low-volume worst case), 2 EMF lines of 350 B each; stream reads by Lambda are free", metrics))
    rows.append(payments(a, order_kb))
    rows.append(("X-Ray", "at most 1 trace per order (create-order -> queue -> workflow share it; default sampling 1/s + 5 %, counted as every order)", PRICES["xray_per_million_traces"]))
    rows.append(("CloudWatch Logs", f"{a.our_log_bytes} B per order: platform lines of 2 invocations + our JSON lines", logs(a.our_log_bytes)))
    rows.append(("SES", "2 emails (confirmation + shipping)", 2 * M / 1000 * PRICES["ses_per_thousand_emails"]))
    return rows


def payments(a, order_kb):
    """Our side of taking the money for one order (the provider's fee is apart: provider_fee)."""
    wait_gbs = lambda_gbs(2 * a.provider_ms, a.memory_mb)  # create-order's authorization, the capture
    webhook_invocations = a.webhook_events
    webhook_gbs = lambda_gbs(webhook_invocations * 20, a.memory_mb)
    # paymentDue put with the order (its sparse index entry) and removed by the capture; the capture
    # updates the order (and its all-projecting byCustomer entry); settle reads it first, and each
    # webhook event reads it once (events with nothing to do write nothing).
    wrus = 1 + 2 * order_kb + 1
    rrus = 1 + webhook_invocations
    cost = (wait_gbs * M * PRICES["lambda_arm64_gb_second"]
            + per_million(PRICES["lambda_requests_per_million"], webhook_invocations)
            + webhook_gbs * M * PRICES["lambda_arm64_gb_second"]
            + per_million(PRICES["api_gateway_http_per_million"], webhook_invocations)
            + wrus * PRICES["dynamodb_on_demand_per_million_wru"]
            + rrus * PRICES["dynamodb_on_demand_per_million_rru"]
            + M / a.orders_per_cold_start / 10_000 * PRICES["secrets_manager_per_10k_calls"])
    basis = (f"create-order waits {a.provider_ms} ms for the authorization and status-changed {a.provider_ms} ms for the capture "
             f"(arm64 {a.memory_mb} MB); {wrus} WRU (paymentDue index entry in and out, the capture's order update and its "
             f"byCustomer entry) and {rrus} RRU; {webhook_invocations:g} webhook events (API request + 20 ms invocation + 1 read each); "
             f"Secrets Manager once per cold start (1 per {a.orders_per_cold_start:,} orders)")
    return ("Payments (our side)", basis, cost)


def provider_fee(a, lines=1):
    """The provider's fee per 1 million orders of `lines` lines at the average line price."""
    amount = a.average_line_price * lines
    return M * (amount * PRICES["stripe_card_percent"] / 100 + PRICES["stripe_card_fixed"]), amount


def original(a):
    """Rows of the seed's order path at a catalog of `a.products` products."""
    ms = a.original_ms
    gbs = lambda_gbs(sum(ms.values()), 1024)
    scan_kb = a.products * a.product_item_bytes / 1024
    scan_rru = math.ceil(scan_kb / 4) * 0.5  # eventually consistent scan: 0.5 RRU per 4 KB read
    return [
        ("API Gateway HTTP API", "2 requests (POST /create-order; placeOrder's GET /approve-products)", 2 * PRICES["api_gateway_http_per_million"]),
        ("Lambda requests", "4 (placeOrder, getApprovedProducts, processOrder, updateOrderStatus)", 4 * PRICES["lambda_requests_per_million"]),
        ("Lambda duration", "x86_64 1024 MB: " + ", ".join(f"{k} {v} ms" for k, v in ms.items()) + " (assumed warm Node 22 durations)",
         gbs * M * PRICES["lambda_x86_gb_second"]),
        ("SQS", "3 requests: send, receive, delete", 3 * PRICES["sqs_standard_per_million_requests"]),
        ("DynamoDB writes", "2 WRU: order put, status update (no indexes)", 2 * PRICES["dynamodb_on_demand_per_million_wru"]),
        ("DynamoDB reads", f"{scan_rru:g} RRU: a full scan of {a.products:,} products x {a.product_item_bytes} B, eventually consistent", scan_rru * PRICES["dynamodb_on_demand_per_million_rru"]),
        ("Step Functions", "Standard: 2 state transitions (updateOrderStatus task, Pass)", 2 * M / 1000 * PRICES["sfn_standard_per_thousand_transitions"]),
        ("Business metrics", "none", 0.0),
        ("Payments (our side)", "none: the original takes no money", 0.0),
        ("X-Ray", "off (Serverless default)", 0.0),
        ("CloudWatch Logs", f"{a.original_log_bytes} B per order: platform lines of 4 invocations", logs(a.original_log_bytes)),
        ("SES", "1 email (now shipping)", 1 * M / 1000 * PRICES["ses_per_thousand_emails"]),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lambda-json", default="target/bench/lambda.json")
    ap.add_argument("--memory-mb", type=int, default=256, help="our functions' memory (dev and staging default)")
    ap.add_argument("--consumer-batch", type=float, default=1.0, help="orders per consumer invocation (1 = worst case, up to 10)")
    ap.add_argument("--workflow", choices=["EXPRESS", "STANDARD"], default="EXPRESS")
    ap.add_argument("--workflow-seconds", type=float, default=0.3)
    ap.add_argument("--products", type=int, default=1000, help="catalog size: the original scans it on every order")
    ap.add_argument("--product-item-bytes", type=int, default=400)
    ap.add_argument("--our-log-bytes", type=int, default=1200)
    ap.add_argument("--stream-invocations", type=float, default=2.0, help="status-changed invocations per order")
    ap.add_argument("--original-log-bytes", type=int, default=1400)
    ap.add_argument("--reconcile-every-minutes", type=float, default=5)
    ap.add_argument("--order-bytes", type=int, default=700, help="an order item without its lines")
    ap.add_argument("--line-bytes", type=int, default=180, help="one line of an order item (ids, name, prices)")
    ap.add_argument("--workflow-seconds-per-line", type=float, default=0.01)
    ap.add_argument("--lines", type=int, default=1, help="lines per order for the detailed table")
    ap.add_argument("--carts", default="", help="e.g. 1,3,10: per 1M carts of each size, ours and the original's")
    ap.add_argument("--provider-ms", type=int, default=400, help="one call to the payment provider (Stripe's API, p50)")
    ap.add_argument("--webhook-events", type=float, default=2.0, help="provider events per order (amount_capturable_updated, succeeded)")
    ap.add_argument("--orders-per-cold-start", type=int, default=1000)
    ap.add_argument("--average-line-price", type=float, default=40.0, help="for the provider's fee only")
    ap.add_argument("--check-half", action="store_true")
    a = ap.parse_args()
    a.original_ms = {"placeOrder": 250, "getApprovedProducts": 150, "processOrder": 60, "updateOrderStatus": 40}
    measured = {}
    p = Path(a.lambda_json)
    if p.exists():
        measured = {k: billed_ms(v["warm"]) for k, v in json.loads(p.read_text()).items()}

    if a.carts:
        print(f"Per 1 million carts, catalog of {a.products:,} products; ours with a {a.workflow} workflow; the original places one order per product.\n")
        print("| lines per cart | ours $ | ours without SES $ | original $ (N orders) | original without SES $ | ratio without SES |")
        print("|---:|---:|---:|---:|---:|---:|")
        o = original(a)
        for n in [int(x) for x in a.carts.split(",")]:
            u = ours(a, measured, n)
            tu, to = sum(r[2] for r in u), n * sum(r[2] for r in o)
            nu, no = tu - u[-1][2], to - n * o[-1][2]
            print(f"| {n} | {tu:,.2f} | {nu:,.2f} | {to:,.2f} | {no:,.2f} | {nu / no:.2f} |")
        return
    o, u = original(a), ours(a, measured, a.lines)
    print(f"Per 1 million orders of {a.lines} line(s), catalog of {a.products:,} products; ours with a {a.workflow} workflow.\n")
    print("| item | original: per order | $ | ours: per order | $ |")
    print("|---|---|---:|---|---:|")
    assert [r[0] for r in o] == [r[0] for r in u], "the two designs' rows must pair up"
    for (name, ob, oc), (_, ub, uc) in zip(o, u):
        print(f"| {name} | {ob} | {oc:,.2f} | {ub} | {uc:,.2f} |")
    total_o, total_u = sum(r[2] for r in o), sum(r[2] for r in u)
    no_ses_o, no_ses_u = total_o - o[-1][2], total_u - u[-1][2]
    print(f"| **total** | | **{total_o:,.2f}** | | **{total_u:,.2f}** |")
    print(f"| **total without SES** | | **{no_ses_o:,.2f}** | | **{no_ses_u:,.2f}** |")
    ratio = no_ses_u / no_ses_o
    print(f"\nOurs without SES: {ratio:.2f} x the original's (goal: at most 0.50).")
    fee, amount = provider_fee(a, a.lines)
    print(f"The provider's fee, apart (not AWS, not in the ratio): Stripe {PRICES['stripe_card_percent']} % + "
          f"${PRICES['stripe_card_fixed']:.2f} per charged order of ${amount:,.2f} = ${fee:,.0f} per 1 million orders; "
          f"a voided authorization costs nothing. The original takes no money, so it pays none.")
    runs = 30 * 24 * 60 / a.reconcile_every_minutes
    reconcile_ms = measured.get("order-reconcile", 10)
    fixed = runs * (PRICES["lambda_requests_per_million"] / M
                    + lambda_gbs(reconcile_ms, a.memory_mb) * PRICES["lambda_arm64_gb_second"]
                    + 0.5 * PRICES["dynamodb_on_demand_per_million_rru"] / M)
    print(f"Reconciler, fixed per month whatever the volume: {runs:,.0f} runs x (1 invocation, {reconcile_ms} ms, 1 index query) = ${fixed:,.4f}.")
    # Progressive delivery (staging and prod): CodeDeploy for Lambda and its hook runs cost nothing
    # per order (a hook invocation per function per deploy); what it adds is fixed per month: the
    # API's detailed route metrics (6 per route: Count, 4xx, 5xx, Latency, IntegrationLatency,
    # DataProcessed) and one 5xx alarm per route.
    routes = sum(1 for svc in DECLARATION["services"] for f in svc["functions"] if "http" in f)
    delivery = routes * (6 * PRICES["cloudwatch_metric_per_month"] + PRICES["cloudwatch_alarm_per_month"])
    print(f"Progressive delivery, fixed per month per staging or prod stage: {routes} routes x (6 detailed metrics + 1 alarm) = ${delivery:,.2f}; per order: $0.")
    # Abuse guards: a WAF web ACL with one rule on the user pool (it sees Cognito calls only: none
    # per order), three alarms; the budget itself is free (two per account).
    abuse = PRICES["waf_web_acl_per_month"] + PRICES["waf_rule_per_month"] + 3 * PRICES["cloudwatch_alarm_per_month"]
    print(f"Sign-up abuse guards, fixed per month per stage: WAF ACL + 1 rule + 3 alarms = ${abuse:,.2f}, plus ${PRICES['waf_per_million_requests']:.2f} per million Cognito calls; per order: $0.")
    if a.check_half and ratio > 0.5:
        print("FAIL: ours costs more than half of the original per order", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
