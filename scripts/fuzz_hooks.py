"""schemathesis hooks of scripts/fuzz.sh: which 400s a schema-valid request may get, by operation
and error code (scripts/schemathesis.toml lets these operations answer 400 at all). Anything else a
schema-valid request is refused with fails the run."""
import json

import schemathesis

# (method, path) -> {code: words the message must hold}: why the document cannot rule it out.
STATE_REFUSALS = {
    # A page token is opaque: only one the API issued is valid, which no pattern can say.
    ("GET", "/banner/banners"): {"InvalidPageToken": ""},
    ("GET", "/category/categories"): {"InvalidPageToken": ""},
    ("GET", "/order/orders"): {"InvalidPageToken": ""},
    ("GET", "/product/approve-products"): {"InvalidPageToken": ""},
    ("GET", "/product/pending-products"): {"InvalidPageToken": ""},
    # Letters and digits are Unicode's (Rust's char::is_alphanumeric): a portable JSON Schema
    # regex has no class for them (Python's re has no \p{L}), so the pattern lets other symbols by.
    ("POST", "/banner/upload-url"): {"InvalidField": "may only contain letters"},
    ("POST", "/category/upload-url"): {"InvalidField": "may only contain letters"},
    ("POST", "/product/get-upload-url"): {"InvalidField": "may only contain letters"},
    # A well-formed code that is not the one Cognito sent or the authenticator shows now (Cognito's
    # CodeMismatchException is a 400).
    ("POST", "/auth/confirm-sign-up"): {"CodeMismatch": ""},
    ("POST", "/auth/mfa/verify"): {"CodeMismatch": ""},
    ("POST", "/auth/mfa/sign-in"): {"CodeMismatch": ""},
    # JSON Schema has no "unique by productId" for an array of objects.
    ("POST", "/order/create-order"): {"InvalidField": "is already on line"},
    # The signature is an HMAC with the stage's secret.
    ("POST", "/order/payment/webhook"): {"InvalidField": "Stripe-Signature"},
}


@schemathesis.check
def schema_valid_data_refused_only_for_state(ctx, response, case):
    """A 400 to a schema-valid request is one of STATE_REFUSALS for its operation."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    allowed = STATE_REFUSALS.get((case.method.upper(), case.operation.path))
    if allowed is None:
        return None  # positive_data_acceptance itself refuses the 400 there
    try:
        body = json.loads(response.content)
    except ValueError:
        body = {}
    code, message = body.get("code"), str(body.get("error", ""))
    if code not in allowed or allowed[code] not in message:
        raise AssertionError(
            f"a schema-valid request was refused with 400 {code}: {message!r} "
            f"(this operation may refuse one only with {sorted(allowed)})"
        )
    return True
