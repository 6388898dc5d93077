#!/usr/bin/env bash
# Runs every test: Rust unit, integration and end-to-end tests (against moto), the OpenAPI drift
# check, the infra checks (tsc, CDK assertions, synth + cdk-nag, cfn-lint, asl-validator) and the
# contract fuzzing.
# Uses the emulator at MOTO_ENDPOINT if set; otherwise each test binary starts its own moto server.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== pinned Python tools (scripts/requirements.txt)"
python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt

echo "== cargo test (workspace)"
rm -f target/tmp/e2e-exchanges.jsonl
cargo test --workspace --locked

echo "== openapi.yaml: routes == declaration, recorded e2e responses match"
python3 scripts/openapi_check.py

echo "== infra checks"
bash scripts/infra-check.sh

echo "== contract fuzzing (schemathesis)"
bash scripts/fuzz.sh
