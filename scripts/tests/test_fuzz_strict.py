"""The fuzzer's strict copy of openapi.yaml (scripts/fuzz_strict.py) and its hook
(scripts/fuzz_hooks.py): each can fail on what it guards."""
import json
import sys
import types
import unittest
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import fuzz_hooks  # noqa: E402
import fuzz_strict  # noqa: E402

METHODS = ("get", "post", "put", "delete", "patch")


def strict_doc():
    return fuzz_strict.strict(yaml.safe_load((ROOT / "openapi.yaml").read_text()))


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method, path, op


class StrictCopy(unittest.TestCase):
    def test_no_operation_keeps_a_default_response(self):
        doc = strict_doc()
        ops = list(operations(doc))
        self.assertGreaterEqual(len(ops), 20)
        for method, path, op in ops:
            self.assertNotIn("default", op["responses"], f"{method} {path}")

    def test_a_field_the_document_does_not_declare_fails_a_response(self):
        op = strict_doc()["paths"]["/order/orders"]["get"]
        schema = op["responses"]["200"]["content"]["application/json"]["schema"]
        order = {"id": "o", "items": [{"productId": "p", "productName": "n", "unitPrice": 1, "quantity": 1, "lineTotal": 1}],
                 "total": 1, "status": "pending", "createdAt": "t", "updatedAt": "t"}
        jsonschema.validate({"orders": [order], "nextToken": None}, schema, cls=jsonschema.Draft202012Validator)
        for extra in ({"orders": [order], "nextToken": None, "debug": 1},
                      {"orders": [dict(order, secret="x")], "nextToken": None},
                      {"orders": [dict(order, items=[dict(order["items"][0], cost=1)])], "nextToken": None}):
            with self.assertRaises(jsonschema.ValidationError):
                jsonschema.validate(extra, schema, cls=jsonschema.Draft202012Validator)

    def test_request_bodies_stay_open_as_the_handlers_are(self):
        op = strict_doc()["paths"]["/order/create-order"]["post"]
        body = op["requestBody"]["content"]["application/json"]["schema"]
        jsonschema.validate({"id": "p1", "quantity": 1, "note": "ignored"}, body, cls=jsonschema.Draft202012Validator)

    def test_an_operation_with_only_a_default_is_refused(self):
        doc = {"paths": {"/x": {"get": {"responses": {"default": {"description": "any"}}}}}}
        with self.assertRaises(ValueError):
            fuzz_strict.strict(doc)


def case(method, path, positive=True):
    mode = types.SimpleNamespace(is_positive=positive)
    return types.SimpleNamespace(method=method, operation=types.SimpleNamespace(path=path),
                                 meta=types.SimpleNamespace(generation=types.SimpleNamespace(mode=mode)))


def response(status, body):
    return types.SimpleNamespace(status_code=status, content=json.dumps(body).encode())


class StateRefusals(unittest.TestCase):
    check = staticmethod(fuzz_hooks.schema_valid_data_refused_only_for_state)

    def test_a_refusal_the_schema_cannot_state_passes(self):
        r = response(400, {"code": "InvalidPageToken", "error": "nextToken is not a valid page token"})
        self.assertTrue(self.check(None, r, case("GET", "/order/orders")))

    def test_any_other_400_of_those_operations_fails(self):
        r = response(400, {"code": "InvalidField", "error": "field `limit` must be a number"})
        with self.assertRaises(AssertionError):
            self.check(None, r, case("GET", "/order/orders"))
        r = response(400, {"code": "InvalidField", "error": "field `quantity` must be a positive integer"})
        with self.assertRaises(AssertionError):
            self.check(None, r, case("POST", "/order/create-order"))

    def test_negative_cases_and_other_statuses_are_left_to_the_built_in_checks(self):
        r = response(400, {"code": "InvalidField", "error": "x"})
        self.assertIsNone(self.check(None, r, case("GET", "/order/orders", positive=False)))
        self.assertIsNone(self.check(None, response(404, {}), case("GET", "/order/orders")))

    def test_every_allowed_operation_is_widened_in_the_config_and_no_other(self):
        import re
        config = (ROOT / "scripts" / "schemathesis.toml").read_text()
        regex = re.search(r'include-path-regex = "([^"]+)"', config).group(1)
        widened = {p for _, p, _ in operations(strict_doc()) if re.match(regex, p)}
        self.assertEqual(widened, {p for _, p in fuzz_hooks.STATE_REFUSALS})


if __name__ == "__main__":
    unittest.main()
