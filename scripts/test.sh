#!/usr/bin/env bash
# Runs every test: the import graph's circles, Rust unit, integration and end-to-end tests (against moto), the OpenAPI drift
# check, the infra checks (tsc, CDK assertions, the workflow under AWS semantics, synth + cdk-nag,
# cfn-lint with the serverless rules, the replacement guard, the cost goal, asl-validator), the
# preflight's tests and the first-deploy rehearsal (docs/deploy.md's steps against a fresh fake
# account), the contract fuzzing, and the
# API reference page in a headless browser (Debian's chromium, installed when missing), and the
# least-privilege check of every AWS call the handlers made against their synthesized roles.
# Uses the emulator at MOTO_ENDPOINT if set; otherwise each test binary starts its own moto server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python-env.sh
# Each phase line carries the seconds since CI (or this script) started, for the time by phase.
t0=${SHOP_T0:-$(date +%s)}
export SHOP_T0=$t0
phase() { echo "== $* [$(( $(date +%s) - t0 )) s]"; }

phase "pinned Python tools (scripts/requirements.txt)"
pip_install -r scripts/requirements.txt

# Every AWS call a handler sends through a local runner is recorded for the least-privilege check.
export SHOP_RECORD_AWS_CALLS="$PWD/target/tmp/aws-calls.jsonl"
mkdir -p target/tmp && rm -f "$SHOP_RECORD_AWS_CALLS"

phase "import graph: no module of a crate or of infra/lib imports itself round a circle"
python3 scripts/import_cycles.py

phase "cargo test (workspace)"
rm -f target/tmp/e2e-exchanges.jsonl
cargo test --workspace --locked

phase "openapi.yaml: routes == declaration, recorded e2e responses match"
python3 scripts/openapi_check.py

phase "infra checks"
bash scripts/infra-check.sh

phase "Python tests: preflight against stubbed AWS answers, the emulator's patches"
python3 -m unittest discover -s scripts/tests
python3 -m unittest discover -s local/emulator

phase "first-deploy rehearsal: docs/deploy.md's steps against a fresh fake account"
bash scripts/deploy-rehearsal.sh prod

phase "flash-sale rehearsal, small: 40 buyers, 10 units, then carts; nothing lost"
bash scripts/flash-sale-check.sh 40 10

phase "smoke walk: shop-ops smoke, as deploy.yml runs it after a deploy, on a local stack"
bash scripts/smoke-check.sh

phase "the typed TypeScript client: generated types current, strict, its walk on a local stack and on mocks"
bash scripts/client-check.sh

phase "contract fuzzing (schemathesis)"
bash scripts/fuzz.sh

phase "the API reference page in a headless browser"
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium (apt)"
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
bash scripts/docs_page_check.sh

phase "least privilege: every recorded AWS call is allowed by its function's role (cdk.out/dev)"
python3 scripts/iam_check.py --calls "$SHOP_RECORD_AWS_CALLS" --templates cdk.out/dev --quiet
phase "least privilege: the same calls against the prod roles (cdk.out/prod)"
python3 scripts/iam_check.py --calls "$SHOP_RECORD_AWS_CALLS" --templates cdk.out/prod --quiet
