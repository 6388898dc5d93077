#!/usr/bin/env python3
"""Cold start and warm latency, Lambda-faithful.

Runs the release binary of every service the way Lambda does, once per function with the
function's handler setting in `_HANDLER`: as a process whose runtime
polls a Runtime API (ours, below, on 127.0.0.1) at /2018-06-01/runtime/invocation/next, against the
moto server provisioned by the local runner. For each function it measures
  init   = process start -> its first `next` poll (what Lambda bills as Init Duration),
  first  = the first invocation after init (event handed out -> response posted),
  warm   = the following invocations on the same process.
Usage: python3 scripts/bench/lambda_runtime_bench.py --stack .local/stack.json [--cold 20] [--warm 200] [--only NAME]
       [--compare DIR]   (DIR: release binaries of the old one-binary-per-function layout, measured beside)
Prints a Markdown table; --json FILE also writes the raw numbers.
"""
import argparse
import base64
import json
import os
import queue
import statistics
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from local_api import PASSWORD, PNG, ROOT, approved_product, call, pct, sign_up


class RuntimeApi:
    """The subset of the Lambda Runtime API a Rust runtime uses."""

    def __init__(self):
        self.events: "queue.Queue[tuple[str, bytes]]" = queue.Queue()
        self.first_poll = threading.Event()
        self.first_poll_at = 0.0
        self.done: dict[str, tuple[float, int, bytes]] = {}
        self.done_cv = threading.Condition()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle plus the client's
            # delayed ACK add ~40 ms to every warm invocation (the emulator's, not the function's).
            disable_nagle_algorithm = True

            def log_message(self, *_):
                pass

            def do_GET(self):
                if self.path.endswith("/runtime/invocation/next"):
                    if not api.first_poll.is_set():
                        api.first_poll_at = time.perf_counter()
                        api.first_poll.set()
                    rid, body = api.events.get()
                    self.send_response(200)
                    self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
                    self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                    self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:local:account:function:bench")
                    self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                    # The real Runtime API sends it; the official Node runtime client crashes without it.
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                parts = self.path.split("/")
                ok = self.path.endswith("/response")
                rid = parts[-2] if len(parts) > 2 else "init"
                with api.done_cv:
                    api.done[rid] = (time.perf_counter(), 200 if ok else 500, body)
                    api.done_cv.notify_all()
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, event: dict, timeout: float = 30.0) -> tuple[float, int, bytes]:
        rid = str(uuid.uuid4())
        start = time.perf_counter()
        self.events.put((rid, json.dumps(event).encode()))
        with self.done_cv:
            if not self.done_cv.wait_for(lambda: rid in self.done, timeout):
                raise TimeoutError("no response")
            end, status, body = self.done.pop(rid)
        return end - start, status, body

    def close(self):
        self.server.shutdown()


def http_event(method, path, body=None, claims=None, query=None, params=None):
    ctx = {"http": {"method": method, "path": path}, "requestId": str(uuid.uuid4()), "routeKey": f"{method} {path}", "stage": "$default"}
    if claims:
        ctx["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    ev = {"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {"content-type": "application/json"},
          "requestContext": ctx, "isBase64Encoded": False}
    if body is not None:
        ev["body"] = json.dumps(body)
    if query:
        ev["queryStringParameters"] = query
    if params:
        ev["pathParameters"] = params
    return ev


def s3_event(bucket, key):
    return {"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                         "eventTime": "2026-01-01T00:00:00.000Z", "eventName": "ObjectCreated:Put",
                         "userIdentity": {}, "requestParameters": {}, "responseElements": {},
                         "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                                "object": {"key": key, "size": 3}}}]}


def uploaded(stack, bucket, key):
    """Puts a small PNG at `uploads/<key>` as a client's presigned PUT would (the emulator takes an
    unsigned PUT), and answers the S3 event for it: the image handler then checks and publishes it."""
    import urllib.request
    req = urllib.request.Request(f"{stack['emulatorEndpoint']}/{bucket}/uploads/{key}", data=PNG, method="PUT",
                                 headers={"Content-Type": "image/png"})
    urllib.request.urlopen(req, timeout=10).read()
    return s3_event(bucket, f"uploads/{key}")


def fixtures(stack):
    """Users, an approved product and an order, made through the running local stack's API."""
    base = stack["apiUrl"]
    email, name, tokens = sign_up(base, "bench", admin=True)
    product = approved_product(base, tokens["IdToken"], "Bench", 1_000_000, price=10)
    _, order = call(base, "POST", "/order/create-order", {"id": product, "quantity": 1}, tokens["IdToken"])
    return {"email": email, "name": name, "password": PASSWORD, "tokens": tokens, "product": product,
            "order": order["orderId"], "sub": "bench-sub", "run": uuid.uuid4().hex[:8]}


def events_for(stack, fx):
    user = {"sub": "bench-user", "email": fx["email"], "email_verified": "true", "cognito:groups": "[]"}
    admin = {"sub": "bench-admin", "email": fx["email"], "email_verified": "true", "cognito:groups": "[admins]"}
    n = iter(range(10**9))
    msg = json.dumps({"orderId": fx["order"], "productId": fx["product"], "productName": "Bench", "quantity": 1, "customerEmail": fx["email"]})
    return {
        "auth-sign-up": lambda: http_event("POST", "/sign-up", {"email": f"b{next(n)}-{fx['run']}@example.com", "fullName": f"B {next(n)} {fx['run']}", "password": fx["password"]}),
        "auth-confirm-sign-up": lambda: http_event("POST", "/confirm-sign-up", {"email": fx["email"], "confirmationCode": "1"}),
        "auth-sign-in": lambda: http_event("POST", "/sign-in", {"email": fx["email"], "password": fx["password"]}),
        "auth-sign-out": lambda: http_event("POST", "/sign-out", {"accessToken": "expired-or-forged"}),
        "auth-resend-confirmation-code": lambda: http_event("POST", "/resend-confirmation-code", {"email": fx["email"]}),
        # TOTP setup and sign-in need a live authenticator: the bench measures their refusal paths.
        "auth-mfa-setup": lambda: http_event("POST", "/mfa/setup", {"accessToken": fx["tokens"]["AccessToken"]}),
        "auth-mfa-verify": lambda: http_event("POST", "/mfa/verify", {"accessToken": "expired-or-forged", "code": "123456"}),
        "auth-mfa-sign-in": lambda: http_event("POST", "/mfa/sign-in", {"email": fx["email"], "session": "forged", "code": "123456"}),
        "auth-purge-unconfirmed": lambda: {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
        "auth-refresh-token": lambda: http_event("POST", "/refresh-token", {"refreshToken": fx["tokens"]["RefreshToken"]}),
        "banner-upload-url": lambda: http_event("POST", "/upload-url", {"fileName": "b.png", "fileType": "image/png"}, admin),
        "banner-list-banners": lambda: http_event("GET", "/banners"),
        "banner-image-uploaded": lambda: uploaded(stack, stack["buckets"]["banner-images"]["name"], f"k{next(n)}-{fx['run']}/b.png"),
        "category-upload-url": lambda: http_event("POST", "/upload-url", {"fileName": "c.png", "fileType": "image/png", "categoryName": f"c{next(n)}-{fx['run']}"}, admin),
        "category-list-categories": lambda: http_event("GET", "/categories"),
        # A category nobody waits for: checked, published, then withdrawn (the longest path).
        "category-image-uploaded": lambda: uploaded(
            stack, stack["buckets"]["category-images"]["name"], base64.urlsafe_b64encode(f"none-{next(n)}-{fx['run']}".encode()).decode().rstrip("=") + "/c.png"),
        "category-cleanup": lambda: {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
        "product-get-upload-url": lambda: http_event("POST", "/get-upload-url", {"fileName": "p.png", "fileType": "image/png", "productName": "P", "productPrice": 9.99, "description": "d", "quantity": 5, "category": "Bench"}, user),
        "product-approved-products": lambda: http_event("GET", "/approve-products"),
        "product-pending-products": lambda: http_event("GET", "/pending-products", claims=admin),
        "product-approve-product": lambda: http_event("POST", "/approve-product", {"id": fx["product"]}, admin),
        "product-reject-product": lambda: http_event("POST", "/reject-product", {"id": "missing", "reason": "bench"}, admin),
        "product-image-uploaded": lambda: uploaded(stack, stack["buckets"]["product-images"]["name"], f"{fx['product']}/b-{next(n)}-{fx['run']}.png"),
        "product-cleanup": lambda: {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
        "order-create-order": lambda: http_event("POST", "/create-order", {"id": fx["product"], "quantity": 1}, user),
        "order-list-orders": lambda: http_event("GET", "/orders", claims=user),
        "order-get-order": lambda: http_event("GET", f"/orders/{fx['order']}", claims=user, params={"id": fx["order"]}),
        "order-queue-consumer": lambda: {"Records": [{"messageId": str(uuid.uuid4()), "receiptHandle": "h", "body": msg, "attributes": {},
                                                      "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": stack["queues"]["orders"]["arn"]}]},
        "order-reconcile": lambda: {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}},
        "order-status-changed": lambda: {"Records": [{
            "eventID": str(uuid.uuid4()), "eventName": "MODIFY", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": stack["region"], "eventSourceARN": stack["streams"].get("orders", "arn:aws:dynamodb:local:0:table/orders/stream/x"),
            "dynamodb": {"ApproximateCreationDateTime": time.time(), "Keys": {"id": {"S": "o"}}, "SequenceNumber": "1",
                         "SizeBytes": 50, "StreamViewType": "NEW_AND_OLD_IMAGES",
                         "OldImage": {"id": {"S": "o"}, "status": {"S": "pending"}},
                         "NewImage": {"id": {"S": "o"}, "status": {"S": "shipping"}}}}]},
    }


def environment(stack):
    base = {
        "AWS_ENDPOINT_URL": stack["emulatorEndpoint"], "AWS_REGION": stack["region"], "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench", "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_LOG_LEVEL": "warn", "PATH": os.environ.get("PATH", ""),
        "USER_POOL_ID": stack["userPoolId"], "USER_POOL_CLIENT_ID": stack["clientId"], "USERS_TABLE": stack["tables"]["users"],
        "BANNER_TABLE": stack["tables"]["banners"], "BANNER_BUCKET": stack["buckets"]["banner-images"]["name"],
        "CATEGORY_TABLE": stack["tables"]["categories"], "CATEGORY_BUCKET": stack["buckets"]["category-images"]["name"],
        "PRODUCT_TABLE": stack["tables"]["products"], "PRODUCT_BUCKET": stack["buckets"]["product-images"]["name"],
        "PRODUCTS_TABLE": stack["tables"]["products"], "ORDERS_TABLE": stack["tables"]["orders"],
        "ORDER_QUEUE_URL": stack["queues"]["orders"]["url"], "STATE_MACHINE_ARN": stack["workflows"]["order-processing"],
        "IMAGE_BASE_URL": stack["apiUrl"] + "/_local/cdn", "CLEANUP_TOPIC_ARN": stack["topics"]["cleanup"],
        "EMAIL_FROM": stack["emailFrom"], "ALERTS_TOPIC_ARN": stack["topics"]["alerts"],
    }
    return base


def bench(binary, handler, event, env, cold, warm):
    inits, firsts, warms, statuses = [], [], [], set()
    for i in range(cold + 1):
        rt = RuntimeApi()
        # Lambda passes the function's handler setting: the service binary serves that function.
        e = dict(env, AWS_LAMBDA_RUNTIME_API=rt.address, _HANDLER=handler)
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(binary)], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not rt.first_poll.wait(30):
                raise TimeoutError(f"{binary.name} never polled")
            inits.append(rt.first_poll_at - t0)
            latency, status, body = rt.invoke(event())
            firsts.append(latency)
            statuses.add(status)
            if i == cold:  # the last process stays warm
                for _ in range(warm):
                    latency, status, _ = rt.invoke(event())
                    warms.append(latency)
                    statuses.add(status)
        finally:
            proc.kill()
            proc.wait()
            rt.close()
    return {"init": inits[:cold], "first": firsts[:cold], "warm": warms, "statuses": sorted(statuses)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stack", default=str(ROOT / ".local/stack.json"))
    ap.add_argument("--bin-dir", default=str(ROOT / "target/release"))
    ap.add_argument("--compare", default="",
                    help="another release dir (the old <service>-<function> layout, or another build of the "
                         "service binaries), benchmarked function by function beside --bin-dir in the same run")
    ap.add_argument("--cold", type=int, default=20)
    ap.add_argument("--warm", type=int, default=200)
    ap.add_argument("--only", default="")
    ap.add_argument("--json", default="")
    a = ap.parse_args()
    stack = json.loads(Path(a.stack).read_text())
    fx = fixtures(stack)
    evs = events_for(stack, fx)
    env = environment(stack)
    declared = [f"{sv['name']}-{f['name']}" for sv in json.loads((ROOT / "lambdas/services.json").read_text())["services"]
                for f in sv["functions"]]
    missing = sorted(set(declared) - set(evs))
    if missing:
        raise SystemExit(f"no benchmark event for declared functions: {', '.join(missing)}")
    results = {}
    ms = lambda v: f"{v * 1000:.1f}"
    row = lambda r: (f"{ms(statistics.median(r['init']))} | {ms(pct(r['init'], 95))} | {ms(statistics.median(r['first']))} | "
                     f"{ms(statistics.median(r['warm']))} | {ms(pct(r['warm'], 95))} | {','.join(map(str, r['statuses']))}")
    print("| function | binary | init p50 ms | init p95 ms | first invoke p50 ms | warm p50 ms | warm p95 ms | runtime statuses |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for name, event in evs.items():
        if a.only and not any(o and o in name for o in a.only.split(",")):
            continue
        service, function = name.split("-", 1)
        runs = [("shop-" + service, Path(a.bin_dir) / f"shop-{service}")]
        if a.compare:
            # Either layout: the old per-function binary, or another build of the service binary.
            old = Path(a.compare) / name
            runs.insert(0, (name, old) if old.exists() else (f"shop-{service} ({a.compare})", Path(a.compare) / f"shop-{service}"))
        for label, binary in runs:
            if not binary.exists():
                print(f"| {name} | {label}: not built (cargo build --release) | | | | | | |", flush=True)
                continue
            r = bench(binary, function, event, env, a.cold, a.warm)
            # The current layout under the function's name (what cost_model.py reads); --compare's beside it.
            results[name if label == "shop-" + service else f"{name} ({label})"] = r
            print(f"| {name} | {label} | {row(r)} |", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(results))


if __name__ == "__main__":
    main()
