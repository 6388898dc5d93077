#!/usr/bin/env python3
"""openapi.yaml cannot drift: its routes must be the declared routes (lambdas/services.json), and
every response recorded by the end-to-end tests (target/tmp/e2e-exchanges.jsonl) must validate
against the schema the document gives for that route and that exact status (a status only covered
by `default` is undocumented), with no property the schema does not declare. Every documented
route, and every success status it documents, must have been reached by a recorded response: a
documented answer nothing exercises is a promise nothing checks. No recordings at all is a failure:
nothing would have been checked."""
import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent


def resolve(node, doc):
    """Inlines every local $ref (the document has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node and len(node) == 1:
            target = doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return resolve(target, doc)
        return {k: resolve(v, doc) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve(v, doc) for v in node]
    return node


def closed(node):
    """Our object schemas, closed: a property the document does not declare is an error."""
    if isinstance(node, dict):
        out = {k: closed(v) for k, v in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [closed(v) for v in node]
    return node


def main() -> int:
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    declared = set()
    for svc in json.loads((ROOT / "lambdas" / "services.json").read_text())["services"]:
        for fn in svc["functions"]:
            if "http" in fn:
                declared.add((fn["http"]["method"].upper(), svc["prefix"] + fn["http"]["path"]))
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m in ("get", "post", "put", "delete", "patch")}
    problems = []
    for route in sorted(declared - documented):
        problems.append(f"declared but not documented: {route[0]} {route[1]}")
    for route in sorted(documented - declared):
        problems.append(f"documented but not declared: {route[0]} {route[1]}")

    paths = closed(resolve(doc["paths"], doc))
    templates = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p) for p in paths]
    recordings = ROOT / "target" / "tmp" / "e2e-exchanges.jsonl"
    checked = 0
    reached = set()
    if recordings.exists():
        for line in recordings.read_text().splitlines():
            ex = json.loads(line)
            match = next((p for rx, p in templates if rx.match(ex["path"])), None)
            op = paths.get(match, {}).get(ex["method"].lower()) if match else None
            if op is None:
                if not ex["path"].startswith("/_local") and ex["path"] != "/nowhere":
                    problems.append(f"recorded but not documented: {ex['method']} {ex['path']}")
                continue
            reached.add((ex["method"].lower(), match, str(ex["status"])))
            response = op["responses"].get(str(ex["status"]))
            if response is None:
                problems.append(f"{ex['method']} {ex['path']}: status {ex['status']} is not documented")
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                continue
            try:
                jsonschema.validate(json.loads(ex["body"]), schema, cls=jsonschema.Draft202012Validator)
            except (jsonschema.ValidationError, json.JSONDecodeError) as e:
                problems.append(f"{ex['method']} {ex['path']} {ex['status']}: {str(e).splitlines()[0]}")
            checked += 1
    for path, item in paths.items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "delete", "patch"):
                continue
            if not any(m == method and p == path for m, p, _ in reached):
                problems.append(f"documented but no test reached it: {method.upper()} {path}")
                continue
            for status in op["responses"]:
                if status.startswith("2") and (method, path, status) not in reached:
                    problems.append(f"{method.upper()} {path}: documented success {status} that no test reached")
    if checked == 0:
        problems.append(f"no recorded response validated ({recordings} missing or empty): run the end-to-end tests first")
    for p in problems:
        print("openapi:", p)
    print(f"openapi: {len(documented)} documented routes == {len(declared)} declared; {checked} recorded responses validated; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
