#!/usr/bin/env python3
"""localstripe (a stateful fake of Stripe's API, on PyPI), patched where it differs from Stripe's
documented behaviour in a way the shop relies on. Each difference, and what Stripe does:

1. Idempotency keys. Stripe saves the answer to a POST with an `Idempotency-Key` and replays it
   (status and body) for a repeat with the same key; a repeat with other parameters is refused
   with 400 `idempotency_error`, and a key longer than 255 characters with 400 ("Idempotent
   requests", API reference). localstripe ignores the
   header, so a retried capture or refund would run twice. Here keys are honoured per API key.
2. Declines. Stripe declines the test cards 4000000000000002 (generic_decline), ...9995
   (insufficient_funds), ...9987 (lost_card), ...9979 (stolen_card), ...0069 (expired_card),
   ...0127 (incorrect_cvc) and ...0119 (processing_error) when a PaymentIntent is confirmed, with
   402 `{"error": {"type": "card_error", "code", "decline_code", "payment_intent"}}` ("Testing",
   "Error codes"). localstripe declines most of them only when attached to a customer, and its
   402 says `invalid_request_error` with no decline code. Here they decline on confirmation with
   Stripe's body.
3. Unexpected state. Capturing an intent that is not `requires_capture`, or cancelling one that
   succeeded, is 400 `payment_intent_unexpected_state` on Stripe; localstripe says "Bad request"
   with no code. Refunding a fully refunded charge is `charge_already_refunded`, and more than is
   left is refused; localstripe refunds anything. Here as Stripe.
4. Test payment methods. Stripe accepts `pm_card_visa`, `pm_card_chargeDeclined`,
   `pm_card_chargeDeclinedInsufficientFunds`, `pm_card_authenticationRequired`, ... anywhere a
   payment method id goes ("Testing"); localstripe knows none. Here they exist.
5. Webhooks. Stripe sends `payment_intent.amount_capturable_updated` when a manual-capture intent
   becomes capturable, and `payment_intent.canceled` when one is cancelled; localstripe sends
   neither. Here both are sent (to the endpoints registered at `/_config/webhooks/<id>`, signed
   with Stripe's scheme, as localstripe signs its own).
6. Persistence. localstripe pickles its whole store to /tmp/localstripe.pickle on every write (time
   grows with every object; two instances on one machine share the file). Here nothing is written.

For the tests, `GET /_config/ledger[?intent=pi_...]` lists every money movement that took effect (authorize,
capture, void, refund; with the intent, the amount and the idempotency key) and every replay a key
answered, so a test can count captures instead of trusting a status.

Usage: stripe_server.py [--port 8420]
"""

import argparse
import hashlib
import json
import logging
import socket

from aiohttp import web

from localstripe import resources
from localstripe.errors import UserError
from localstripe.resources import Charge, Event, PaymentIntent, PaymentMethod, Refund, store
from localstripe.webhooks import schedule_webhook

DECLINES = {
    "4000000000000002": ("card_declined", "generic_decline"),
    "4000000000009995": ("card_declined", "insufficient_funds"),
    "4000000000009987": ("card_declined", "lost_card"),
    "4000000000009979": ("card_declined", "stolen_card"),
    "4000000000000341": ("card_declined", "generic_decline"),
    "4000000000000069": ("expired_card", None),
    "4000000000000127": ("incorrect_cvc", None),
    "4000000000000119": ("processing_error", None),
}

TEST_METHODS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_threeDSecure2Required": "4000000000003220",
}

LEDGER = []
IDEMPOTENT = {}


def unexpected_state(message):
    return UserError(400, message, {"code": "payment_intent_unexpected_state"})


# 6. No pickling.
resources.Store.dump_to_disk = lambda self: None
resources.Store.try_load_from_disk = lambda self: None


# 4. Stripe's test payment methods, made on first use under their fixed ids.
_retrieve_method = PaymentMethod._api_retrieve.__func__


def _retrieve_method_or_test_card(cls, id):
    number = TEST_METHODS.get(id)
    if number is not None and store.get("payment_method:" + id) is None:
        pm = PaymentMethod(type="card", card={"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"})
        del store["payment_method:" + pm.id]
        pm.id = id
        store["payment_method:" + id] = pm
    return _retrieve_method(cls, id)


PaymentMethod._api_retrieve = classmethod(_retrieve_method_or_test_card)


# 2. Declines on confirmation, with Stripe's codes and body.
_charging_declined = PaymentMethod._charging_is_declined


def _declined_on_charge(self):
    return _charging_declined(self) or (self.type == "card" and self._card_number in DECLINES)


PaymentMethod._charging_is_declined = _declined_on_charge


def _set_auth_failure(self):
    pm = PaymentMethod._api_retrieve(self.payment_method)
    code, decline = DECLINES.get(getattr(pm, "_card_number", ""), ("card_declined", "generic_decline"))
    self.status = "failed"
    self.failure_code = code
    self.failure_message = "Your card was declined." if code == "card_declined" else "Your card could not be charged."
    self._decline_code = decline


Charge._set_auth_failure = _set_auth_failure


def _raise_card_error(self):
    contents = {"code": self.failure_code, "charge": self.id}
    decline = getattr(self, "_decline_code", None)
    if decline:
        contents["decline_code"] = decline
    e = UserError(402, self.failure_message, contents)
    e.body["error"]["type"] = "card_error"
    raise e


Charge._raise_failure = _raise_card_error

_report_failure = PaymentIntent._report_failure


def _report_failure_with_intent(self):
    try:
        _report_failure(self)
    except UserError as e:
        e.body["error"]["payment_intent"] = self._export()
        raise


PaymentIntent._report_failure = _report_failure_with_intent


# 3. Unexpected state, as Stripe names it; 1 and the ledger record what took effect.
_capture = PaymentIntent._api_capture.__func__
_cancel = PaymentIntent._api_cancel.__func__
_create_charge = PaymentIntent._create_charge


def _capture_in_state(cls, id, **kwargs):
    obj = cls._api_retrieve(id)
    if obj.status != "requires_capture":
        raise unexpected_state(
            "This PaymentIntent could not be captured because it has a status of %s." % obj.status)
    obj = _capture(cls, id, **kwargs)
    LEDGER.append({"op": "capture", "intent": id, "amount": obj.amount})
    return obj


def _cancel_in_state(cls, id, **kwargs):
    obj = cls._api_retrieve(id)
    if obj.status in ("succeeded", "canceled", "processing"):
        raise unexpected_state(
            "You cannot cancel this PaymentIntent because it has a status of %s." % obj.status)
    obj = _cancel(cls, id, **kwargs)
    LEDGER.append({"op": "void", "intent": id, "amount": obj.amount})
    schedule_webhook(Event("payment_intent.canceled", obj))
    return obj


def _charge_and_tell(self, on_failure_now):
    _create_charge(self, on_failure_now)
    if self.status == "requires_capture":
        LEDGER.append({"op": "authorize", "intent": self.id, "amount": self.amount})
        # 5. Stripe tells a manual-capture intent's endpoint that it can be captured.
        schedule_webhook(Event("payment_intent.amount_capturable_updated", self))


PaymentIntent._api_capture = classmethod(_capture_in_state)
PaymentIntent._api_cancel = classmethod(_cancel_in_state)
PaymentIntent._create_charge = _charge_and_tell
# The routes of these calls were bound when localstripe.resources was imported: rebind them
# before localstripe.server builds its router from the list.
_rebound = {"/v1/payment_intents/{id}/capture": PaymentIntent._api_capture,
            "/v1/payment_intents/{id}/cancel": PaymentIntent._api_cancel}
resources.extra_apis[:] = [(m, url, _rebound.get(url, f)) for (m, url, f) in resources.extra_apis]

_refund_init = Refund.__init__


def _refund_within_charge(self, charge=None, payment_intent=None, amount=None, metadata=None, **kwargs):
    target = charge
    if payment_intent is not None and charge is None:
        pi = PaymentIntent._api_retrieve(payment_intent)
        target = pi.latest_charge.id if pi.latest_charge is not None else None
    if target is not None:
        ch = Charge._api_retrieve(target)
        left = ch.amount - ch.amount_refunded
        if ch.captured and left <= 0:
            raise UserError(400, "Charge %s has already been refunded." % ch.id, {"code": "charge_already_refunded"})
        wanted = resources.try_convert_to_int(amount) if amount is not None else left
        if isinstance(wanted, int) and wanted > left:
            raise UserError(400, "Refund amount is greater than unrefunded amount on charge.",
                            {"code": "amount_too_large"})
    _refund_init(self, charge=charge, payment_intent=payment_intent, amount=amount, metadata=metadata, **kwargs)
    LEDGER.append({"op": "refund", "intent": Charge._api_retrieve(self.charge).payment_intent, "amount": self.amount})


Refund.__init__ = _refund_within_charge


from localstripe import server  # noqa: E402  (after the routes above are rebound)


# 1. Idempotency keys.
@web.middleware
async def idempotency(request, handler):
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    if len(key) > 255:
        return server.json_response({"error": {
            "type": "invalid_request_error",
            "message": "Idempotency keys can be up to 255 characters long.",
        }}, status=400)
    body = await request.read()
    scope = (request.headers.get("Authorization", ""), key)
    fingerprint = hashlib.sha256(request.path.encode() + b"\0" + body).hexdigest()
    saved = IDEMPOTENT.get(scope)
    if saved is not None:
        if saved["fingerprint"] != fingerprint:
            return server.json_response({"error": {
                "type": "idempotency_error",
                "message": "Keys for idempotent requests can only be used with the same parameters "
                           "they were first used with.",
            }}, status=400)
        LEDGER.append({"op": "replay", "path": request.path, "key": key})
        return web.Response(status=saved["status"], body=saved["body"], content_type="application/json",
                            headers={"Idempotent-Replayed": "true"})
    start = len(LEDGER)
    try:
        response = await handler(request)
    except UserError as e:
        response = e.to_response()
    # Stripe saves the answer of a request that ran: a success or a decline; not one refused
    # before it ran (validation, rate limit, its own 5xx), which may be retried with the key.
    if response.status < 300 or response.status == 402:
        IDEMPOTENT[scope] = {"fingerprint": fingerprint, "status": response.status, "body": response.body}
    for entry in LEDGER[start:]:
        entry.setdefault("key", key)
    return response


async def ledger(request):
    intent = request.query.get("intent")
    entries = [e for e in LEDGER if intent is None or e.get("intent") == intent]
    return web.json_response({"entries": entries})


def make_app():
    """localstripe's application with the idempotency keys and the ledger (once)."""
    app = server.app
    if idempotency not in app.middlewares:
        app.middlewares.insert(0, idempotency)
        # A local tool, not a Stripe endpoint: under localstripe's own /_config/, which needs no key.
        app.router.add_get("/_config/ledger", ledger)
    return app


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    app = make_app()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    web.run_app(app, sock=sock, access_log=None, print=None)


if __name__ == "__main__":
    main()
