#!/usr/bin/env bash
# The smoke walk deploy.yml runs after every deploy (`shop-ops smoke`), on a local stack of its own:
# listings, the synthetic account's sign-in, refresh and orders, and one synthetic order through
# the whole pipeline, then cancelled. Exits 1 naming the step that failed.
#   bash scripts/smoke-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# Built together with the runner: shop-ops alone would resolve its dependencies' features apart
# from the runner's and rebuild the SDKs (80 s in CI); with it, only the ops binary is new.
cargo build --quiet --locked -p shop-local -p shop-ops
# shellcheck source=scripts/start-runner.sh
source scripts/start-runner.sh
start_runner "${SMOKE_PORT:-3392}" "${SMOKE_MOTO_PORT:-5392}" "smoke-$$"
target/debug/shop-ops smoke --local "$state/.local/stack.json"
