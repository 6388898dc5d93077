#!/usr/bin/env bash
# The smoke walk deploy.yml runs after every deploy (`shop-ops smoke`), on a local stack of its own:
# listings, the synthetic account's sign-in, refresh and orders, and one synthetic order through
# the whole pipeline, then cancelled. Exits 1 naming the step that failed.
#   bash scripts/smoke-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/start-runner.sh
source scripts/start-runner.sh
start_runner "${SMOKE_PORT:-3392}" "${SMOKE_MOTO_PORT:-5392}" "smoke-$$"
cargo build --quiet --locked -p shop-ops
target/debug/shop-ops smoke --local "$state/.local/stack.json"
