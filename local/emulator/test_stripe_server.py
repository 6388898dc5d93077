"""The local Stripe's patches (stripe_server.py), through HTTP as the shop's client calls them: each
one shows Stripe's documented behaviour where localstripe's own differs."""
import asyncio
import functools
import sys
import unittest
import uuid
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stripe_server  # noqa: E402

KEY = {"Authorization": "Bearer sk_test_unit"}


def authorize(pm, key=None, amount="1999"):
    form = {"amount": amount, "currency": "usd", "payment_method": pm, "payment_method_types[]": "card",
            "capture_method": "manual", "confirm": "true", "metadata[order_id]": "o1"}
    return form, {**KEY, "Idempotency-Key": key or uuid.uuid4().hex}


def on_loop(test):
    """Runs an async test on the class's one event loop (localstripe's app is bound to one loop)."""
    @functools.wraps(test)
    def run(self):
        self.loop.run_until_complete(test(self))
    return run


class StripeServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.loop = asyncio.new_event_loop()
        cls.client = TestClient(TestServer(stripe_server.make_app(), loop=cls.loop), loop=cls.loop)
        cls.loop.run_until_complete(cls.client.start_server())

    @classmethod
    def tearDownClass(cls):
        cls.loop.run_until_complete(cls.client.close())
        cls.loop.close()

    def setUp(self):
        # The events are recorded instead of sent (there is no endpoint), ours and localstripe's.
        self.sent = []
        self._schedule = stripe_server.schedule_webhook, stripe_server.resources.schedule_webhook
        stripe_server.schedule_webhook = stripe_server.resources.schedule_webhook = lambda event: self.sent.append(event.type)

    def tearDown(self):
        stripe_server.schedule_webhook, stripe_server.resources.schedule_webhook = self._schedule

    async def post(self, path, form=None, headers=None):
        r = await self.client.post(path, data=form or {}, headers=headers or {**KEY, "Idempotency-Key": uuid.uuid4().hex})
        return r.status, await r.json()

    @on_loop
    async def test_a_repeated_key_replays_the_first_answer_and_other_parameters_are_refused(self):
        form, headers = authorize("pm_card_visa")
        s1, first = await self.post("/v1/payment_intents", form, headers)
        s2, again = await self.post("/v1/payment_intents", form, headers)
        self.assertEqual((s1, s2), (200, 200))
        self.assertEqual(first["id"], again["id"], "one intent, not two")
        other = dict(form, amount="2999")
        s3, refused = await self.post("/v1/payment_intents", other, headers)
        self.assertEqual((s3, refused["error"]["type"]), (400, "idempotency_error"))
        s4, too_long = await self.post("/v1/payment_intents", form, {**KEY, "Idempotency-Key": "k" * 256})
        self.assertEqual((s4, too_long["error"]["type"]), (400, "invalid_request_error"))

    @on_loop
    async def test_test_cards_decline_on_confirmation_with_stripes_codes(self):
        for pm, code, decline in [("pm_card_chargeDeclined", "card_declined", "generic_decline"),
                                  ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
                                  ("pm_card_chargeDeclinedExpiredCard", "expired_card", None)]:
            s, body = await self.post("/v1/payment_intents", *authorize(pm))
            self.assertEqual(s, 402, pm)
            self.assertEqual((body["error"]["type"], body["error"]["code"]), ("card_error", code), pm)
            self.assertEqual(body["error"].get("decline_code"), decline, pm)
            self.assertEqual(body["error"]["payment_intent"]["status"], "requires_payment_method")

    @on_loop
    async def test_an_authorization_is_capturable_says_so_and_captures_once(self):
        s, intent = await self.post("/v1/payment_intents", *authorize("pm_card_visa"))
        self.assertEqual((s, intent["status"]), (200, "requires_capture"))
        self.assertIn("payment_intent.amount_capturable_updated", self.sent)
        s, captured = await self.post(f"/v1/payment_intents/{intent['id']}/capture")
        self.assertEqual((s, captured["status"]), (200, "succeeded"))
        s, twice = await self.post(f"/v1/payment_intents/{intent['id']}/capture")
        self.assertEqual((s, twice["error"].get("code")), (400, "payment_intent_unexpected_state"))
        s, cancel = await self.post(f"/v1/payment_intents/{intent['id']}/cancel")
        self.assertEqual((s, cancel["error"].get("code")), (400, "payment_intent_unexpected_state"))
        ledger = (await (await self.client.get("/_config/ledger", params={"intent": intent["id"]})).json())["entries"]
        self.assertEqual([e["op"] for e in ledger], ["authorize", "capture"])

    @on_loop
    async def test_a_cancelled_hold_is_announced_and_a_refund_cannot_exceed_the_charge(self):
        s, held = await self.post("/v1/payment_intents", *authorize("pm_card_visa"))
        s, gone = await self.post(f"/v1/payment_intents/{held['id']}/cancel")
        self.assertEqual((s, gone["status"]), (200, "canceled"))
        self.assertIn("payment_intent.canceled", self.sent)
        s, paid = await self.post("/v1/payment_intents", *authorize("pm_card_visa"))
        await self.post(f"/v1/payment_intents/{paid['id']}/capture")
        s, too_much = await self.post("/v1/refunds", {"payment_intent": paid["id"], "amount": "5000"})
        self.assertEqual((s, too_much["error"].get("code")), (400, "amount_too_large"))
        s, refund = await self.post("/v1/refunds", {"payment_intent": paid["id"], "amount": "1999"})
        self.assertEqual((s, refund["amount"]), (200, 1999))
        s, again = await self.post("/v1/refunds", {"payment_intent": paid["id"]})
        self.assertEqual((s, again["error"].get("code")), (400, "charge_already_refunded"))

    @on_loop
    async def test_a_card_needing_3d_secure_waits_for_the_customer(self):
        s, intent = await self.post("/v1/payment_intents", *authorize("pm_card_authenticationRequired"))
        self.assertEqual((s, intent["status"]), (200, "requires_action"))
        self.assertTrue(intent["client_secret"].startswith(intent["id"] + "_secret_"))


if __name__ == "__main__":
    unittest.main()
