#!/usr/bin/env python3
"""Flash sale on the local stack: N buyers, each with their own account, order at once through the
API against K units of one product (and, with --carts, carts of two lines over three scarce
products), with DynamoDB's contention on in the emulator (and the runner's faults when it was
started with `--chaos RATE`). It asserts that nothing was lost and exits 1 when anything was:

- every accepted order ends `shipping` or `rejected` (none left `pending`; a `failed` one only
  with an alert naming it);
- units sold equal the units there were, exactly, and no stock is below 0;
- each accepted order gets exactly one decision email (shipping, out of stock, or failed), or, when
  SES refused it after the decision, an alert naming the order;
- the order DLQ and the image event queues are empty;
- every order is paid with a card (unless --unpaid): each shipped order ends `captured`, each
  rejected or failed one `voided`: money moves for exactly the units sold.

It prints the conflicts the reservations met, the backoffs taken, create-order p50/p95/p99, the
time until the last order was decided and the orders decided per second.

Needs a running local stack (`bash scripts/local.sh`), read from --stack (default .local/stack.json).
    python3 scripts/bench/flash_sale.py [--buyers 200] [--units 50] [--carts] [--deadline 300] [--unpaid]
"""
import argparse
import json
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

from local_api import ROOT, approved_product, call, pct, sign_up


class Sale:
    def __init__(self, stack_file, buyers, deadline, paid=True):
        self.paid = paid
        self.stack = json.loads(Path(stack_file).read_text())
        self.base = self.stack["apiUrl"]
        self.deadline = deadline
        aws = dict(endpoint_url=self.stack["emulatorEndpoint"], region_name=self.stack["region"],
                   aws_access_key_id="flash", aws_secret_access_key="flash")
        self.sqs, self.sns, self.sfn = boto3.client("sqs", **aws), boto3.client("sns", **aws), boto3.client("stepfunctions", **aws)
        self.stack_dir = Path(stack_file).resolve().parent.parent
        self.admin = sign_up(self.base, "flashadmin", admin=True, cwd=self.stack_dir)[2]["IdToken"]
        # Alerts reach a queue of our own: a failed order must have one.
        self.alerts = self.sqs.create_queue(QueueName=f"flash-alerts-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.alerts, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=self.stack["topics"]["alerts"], Protocol="sqs", Endpoint=arn)
        self.alert_text = ""
        with ThreadPoolExecutor(16) as pool:
            self.buyers = list(pool.map(lambda _: sign_up(self.base, "flash"), range(buyers)))

    def run(self, title, products, cart_of):
        """Every buyer orders `cart_of(i)` at once; the report's lines and the violations found."""
        start = threading.Barrier(len(self.buyers))
        placed = []
        mails_before = len(self.mails())

        def order(i):
            email, _, tokens = self.buyers[i]
            lines = cart_of(i)
            body = {"id": lines[0][0], "quantity": lines[0][1]} if len(lines) == 1 else {"items": [{"id": p, "quantity": q} for p, q in lines]}
            if self.paid:
                body["paymentMethod"] = "pm_card_visa"
            start.wait()
            t0 = time.perf_counter()
            status, b = call(self.base, "POST", "/order/create-order", body, tokens["IdToken"])
            placed.append((email, tokens["IdToken"], lines, status, (b or {}).get("orderId"), time.perf_counter() - t0, t0))

        with ThreadPoolExecutor(len(self.buyers)) as pool:
            list(pool.map(order, range(len(self.buyers))))
        began = min(p[6] for p in placed)
        accepted = [p for p in placed if p[3] == 201]
        decided, last = {}, began
        while len(decided) < len(accepted) and time.perf_counter() - began < self.deadline:
            for email, token, lines, _, oid, _, _ in accepted:
                if oid in decided:
                    continue
                _, o = call(self.base, "GET", f"/order/orders/{oid}", None, token)
                if o and o.get("status") not in (None, "pending"):
                    decided[oid] = o["status"]
                    last = time.perf_counter()
            time.sleep(0.2)
        elapsed = last - began
        violations = []
        outcome = Counter(decided.values())
        pending = [p[4] for p in accepted if p[4] not in decided]
        if pending:
            violations.append(f"{len(pending)} accepted orders still pending after {self.deadline} s")
        alerts = self.alerted()
        for oid, status in decided.items():
            if status not in ("shipping", "rejected") and (status != "failed" or oid not in alerts):
                violations.append(f"order {oid} ended {status}" + (" without an alert" if status == "failed" else ""))
        sold = Counter()
        for email, _, lines, _, oid, _, _ in accepted:
            if decided.get(oid) == "shipping":
                for p, q in lines:
                    sold[p] += q
        _, listed = call(self.base, "GET", "/product/approve-products?category=Bench&limit=100")
        for pid, units in products.items():
            left = next((x["quantity"] for x in listed["products"] if x["id"] == pid), None)
            if left is None or left < 0:
                violations.append(f"product {pid}: stock {left}")
            elif sold[pid] + left != units:
                violations.append(f"product {pid}: {units} units, {sold[pid]} sold, {left} left")
            elif len(accepted) > 0 and left != 0 and any(decided.get(o[4]) == "rejected" and any(p == pid for p, _ in o[2]) for o in accepted) and len(products) == 1:
                violations.append(f"product {pid}: {left} units left while orders for it were rejected")
        if self.paid:
            violations += self.money(accepted, decided)
        decision = Counter()
        for m in self.mails()[mails_before:]:
            subject = m.get("subject", "")
            if subject.endswith(("now shipping", "is out of stock", "could not be reserved", "could not be processed")):
                for to in m.get("to", []):
                    decision[to] += 1
        for email, _, _, _, oid, _, _ in accepted:
            # An email SES refused after the decision is not lost: its alert names the order.
            excused = decision[email] == 0 and f"Order {oid} was decided but its email failed" in alerts
            if decision[email] != 1 and not excused:
                violations.append(f"order {oid}: {decision[email]} decision emails")
        queues = {"orders DLQ": self.stack["queues"]["orders"]["dlqUrl"]}
        queues.update({f"{s} image events": b["eventsQueue"] for s, b in self.stack["buckets"].items()})
        for name, url in queues.items():
            attrs = self.sqs.get_queue_attributes(QueueUrl=self.queue_url(url), AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
            left = int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
            if left:
                violations.append(f"{name}: {left} messages left")
        conflicts, backoffs = self.contention({p[4] for p in accepted})
        latency = [p[5] for p in placed]
        refused = Counter(p[3] for p in placed if p[3] != 201)
        report = [
            f"| {title}: buyers / accepted (201) | {len(placed)} / {len(accepted)}{'' if not refused else ' (' + ', '.join(f'{n} x HTTP {s}' for s, n in sorted(refused.items())) + ')'} |",
            f"| decided: shipping / rejected / failed | {outcome['shipping']} / {outcome['rejected']} / {outcome['failed']} |",
            f"| units sold / units | {sum(sold.values())} / {sum(products.values())} |",
            f"| reservations that met a TransactionConflict / backoffs taken | {conflicts} / {backoffs} |",
            f"| create-order p50 / p95 / p99 ms | {statistics.median(latency) * 1000:.0f} / {pct(latency, 95) * 1000:.0f} / {pct(latency, 99) * 1000:.0f} |",
            f"| until the last order was decided | {elapsed:.1f} s |",
            f"| orders decided per second | {len(decided) / elapsed if elapsed > 0 else 0:.1f} |",
            f"| faults injected so far (runner --chaos) | {self.chaos() or 'none'} |",
            f"| nothing lost | {'yes' if not violations else 'NO: ' + '; '.join(violations[:5])} |",
        ]
        return report, violations

    def money(self, accepted, decided):
        """Each decided order's money settled the way its decision says, within the deadline."""
        wanted = {"shipping": "captured", "rejected": "voided", "failed": "voided"}
        began, problems = time.perf_counter(), {}
        while time.perf_counter() - began < self.deadline:
            problems = {}
            for _, token, _, _, oid, _, _ in accepted:
                if oid not in decided:
                    continue
                _, o = call(self.base, "GET", f"/order/orders/{oid}", None, token)
                got = ((o or {}).get("payment") or {}).get("status")
                if got != wanted[decided[oid]]:
                    problems[oid] = f"order {oid} {decided[oid]} but its payment is {got}"
            if not problems:
                return []
            time.sleep(0.5)
        return list(problems.values())

    def chaos(self):
        counts = (call(self.base, "GET", "/_local/metrics")[1] or {}).get("chaos", {})
        return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))

    def mails(self):
        """Every email sent so far, oldest first."""
        return (call(self.base, "GET", "/_local/emails")[1] or {}).get("emails", [])

    def queue_url(self, name_or_url):
        return name_or_url if name_or_url.startswith("http") else self.sqs.get_queue_url(QueueName=name_or_url)["QueueUrl"]

    def alerted(self):
        """The text of every alert received so far."""
        while True:
            got = self.sqs.receive_message(QueueUrl=self.alerts, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not got:
                return self.alert_text
            for m in got:
                self.alert_text += " " + m["Body"]
                self.sqs.delete_message(QueueUrl=self.alerts, ReceiptHandle=m["ReceiptHandle"])

    def contention(self, order_ids):
        """(reservations cancelled by a TransactionConflict, BackOff waits entered) over the orders' executions."""
        conflicts = backoffs = 0
        for page in self.sfn.get_paginator("list_executions").paginate(stateMachineArn=self.stack["workflows"]["order-processing"]):
            for e in page["executions"]:
                if e["name"].split("-r")[0] not in order_ids:
                    continue
                events = self.sfn.get_execution_history(executionArn=e["executionArn"], maxResults=1000)["events"]
                for ev in events:
                    if ev["type"] == "TaskFailed" and "TransactionConflict" in ev.get("taskFailedEventDetails", {}).get("cause", ""):
                        conflicts += 1
                    if ev.get("stateEnteredEventDetails", {}).get("name") == "BackOff":
                        backoffs += 1
        return conflicts, backoffs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--buyers", type=int, default=200)
    ap.add_argument("--units", type=int, default=50)
    ap.add_argument("--carts", action="store_true", help="a second run: carts of two lines over three scarce products")
    ap.add_argument("--deadline", type=float, default=300, help="seconds the orders may take to be decided")
    ap.add_argument("--stack", default=str(ROOT / ".local/stack.json"))
    ap.add_argument("--unpaid", action="store_true", help="orders without a payment method (the stage must allow them)")
    a = ap.parse_args()
    sale = Sale(a.stack, a.buyers, a.deadline, paid=not a.unpaid)
    print("| measure | value |\n|---|---|")
    hot = approved_product(sale.base, sale.admin, "Flash", a.units)
    report, violations = sale.run("one product", {hot: a.units}, lambda i: [(hot, 1)])
    print("\n".join(report))
    if a.carts:
        scarce = [approved_product(sale.base, sale.admin, f"Scarce{n}", max(1, a.units // 3)) for n in range(3)]
        rng = random.Random(7)
        carts = [rng.sample(scarce, 2) for _ in range(a.buyers)]
        report, more = sale.run("carts", {p: max(1, a.units // 3) for p in scarce}, lambda i: [(p, 1) for p in carts[i]])
        print("\n".join(report))
        violations += more
    for v in violations:
        print(f"flash sale: {v}")
    raise SystemExit(1 if violations else 0)


if __name__ == "__main__":
    main()
