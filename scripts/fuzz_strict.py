#!/usr/bin/env python3
"""Writes the strict copy of openapi.yaml that the fuzzer runs on (scripts/fuzz.sh):
  python3 scripts/fuzz_strict.py OUT.json

- every `$ref` inlined (the document has no cycles);
- no `default` response: a status an operation does not name is a failure of
  `status_code_conformance`, not a pass;
- every object schema of a response closed (`additionalProperties: false`): a field the document
  does not declare fails `response_schema_conformance`.
Request bodies stay as written: the handlers ignore fields they do not know, as serde does, so
closing them would make the fuzzer's negative cases expect a 400 the API rightly does not give.
The copy is JSON, which schemathesis reads as it reads YAML."""
import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from openapi_check import closed, resolve  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
METHODS = ("get", "post", "put", "delete", "patch")


def strict(doc):
    """The strict copy of an OpenAPI document (a dict), as described above."""
    paths = resolve(doc["paths"], doc)
    for item in paths.values():
        for method, op in item.items():
            if method not in METHODS:
                continue
            responses = {status: r for status, r in op["responses"].items() if status != "default"}
            if not responses:
                raise ValueError(f"{method.upper()}: only a default response; name its statuses")
            op["responses"] = closed(responses)
    out = {k: v for k, v in doc.items() if k not in ("paths", "components")}
    out["paths"] = paths
    out["components"] = {"securitySchemes": doc.get("components", {}).get("securitySchemes", {})}
    return out


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    doc = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    Path(argv[1]).write_text(json.dumps(strict(doc), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
