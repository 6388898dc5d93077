"""What the benchmarks share: calls to the running local stack's API, test users, an approved
product, and the percentile they report. Import it from a script in this directory."""
import json
import random
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Str0ng!Passw0rd"


def call(base, method, path, body=None, token=None):
    """(status, parsed JSON body) of one API call; HTTP errors are answers, not exceptions. API
    Gateway's throttling (429, which the runner applies too: the strict auth routes allow 10/s
    for everyone) is waited out and retried for up to two minutes, as a client should: after the
    answer's Retry-After when it has one, else after a jittered backoff of at most 2 s."""
    give_up = time.monotonic() + 120
    attempt = 0
    while True:
        req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode())
        req.add_header("content-type", "application/json")
        if token:
            req.add_header("authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            answer = e.code, json.loads(e.read() or b"null")
            retry_after = e.headers.get("retry-after")
        if answer[0] != 429 or time.monotonic() > give_up:
            return answer
        wait = float(retry_after) if retry_after and retry_after.isdigit() else min(0.1 * 2 ** attempt, 2.0)
        time.sleep(wait * (0.5 + random.random()))
        attempt += 1


def sign_up(base, prefix, admin=False, cwd=ROOT):
    """A confirmed user (in the admins group if `admin`; `cwd` holds the stack's .local), signed in:
    (email, full name, tokens)."""
    run = uuid.uuid4().hex[:8]
    email, name = f"{prefix}-{run}@example.com", f"{prefix.capitalize()} User {run}"
    # Each step is retried after a 5xx (a runner with --chaos fails some on purpose), as a person
    # would try again; a step that already happened answers 4xx and the next one goes on.
    for path, body in (
        ("/auth/sign-up", {"email": email, "fullName": name, "password": PASSWORD}),
        ("/auth/confirm-sign-up", {"email": email, "confirmationCode": "1"}),  # moto accepts any code
    ):
        for _ in range(10):
            status, _ = call(base, "POST", path, body)
            if status < 500:
                break
    if admin:
        subprocess.run([str(ROOT / "target/debug/shop-local"), "make-admin", email], cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    for _ in range(10):
        status, signed = call(base, "POST", "/auth/sign-in", {"email": email, "password": PASSWORD})
        if status == 200:
            return email, name, signed["tokens"]
    raise SystemExit(f"{email} could not sign in: {status} {signed}")


PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR-bench-image"


def approved_product(base, admin_token, name, quantity, price=5):
    """Uploads a product with its image and approves it (once the image event has landed): its id."""
    _, up = call(base, "POST", "/product/get-upload-url", {"fileName": "p.png", "fileType": "image/png", "productName": name,
                                                         "productPrice": price, "description": "d", "quantity": quantity,
                                                         "category": "Bench"}, admin_token)
    # A real PNG head: the image handler deletes anything that is not the image it claims to be.
    req = urllib.request.Request(up["uploadUrl"], method="PUT", data=PNG)
    req.add_header("content-type", "image/png")
    urllib.request.urlopen(req).read()
    for _ in range(200):
        if call(base, "POST", "/product/approve-product", {"id": up["productId"]}, admin_token)[0] == 200:
            break
        time.sleep(0.1)
    return up["productId"]


def pct(values, p):
    """The p-th percentile (nearest rank)."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]
