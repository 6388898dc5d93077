#!/usr/bin/env bash
# Runs the whole backend locally: moto and the local Stripe (started by the runner, or
# MOTO_ENDPOINT / STRIPE_ENDPOINT) + the local runner.
# Arguments go to the runner: --port 3000 --moto-port 5000 --stripe-port 8420 --reset --cleanup-every SECS
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python-env.sh

if ! python3 -c 'import moto, localstripe, sys; sys.exit(0 if (moto.__version__, localstripe.__version__) == ("5.2.5", "1.15.10") else 1)' 2>/dev/null; then
  echo "== installing pinned Python tools (scripts/requirements.txt)"
  pip_install -r scripts/requirements.txt
fi
if [ ! -f node_modules/swagger-ui-dist/swagger-ui-bundle.js ]; then
  # The API reference page at /_local/docs serves Swagger UI from this pinned npm package.
  echo "== npm ci (pinned in package-lock.json: Swagger UI for /_local/docs, the CDK for infra)"
  npm ci --no-audit --no-fund --loglevel=error
fi
# Every AWS call a handler makes is recorded: `python3 scripts/iam_check.py --calls .local/aws-calls.jsonl`
# checks them against the roles the CDK app deploys (docs/operations.md, "Least privilege, proven").
export SHOP_RECORD_AWS_CALLS=${SHOP_RECORD_AWS_CALLS:-$PWD/.local/aws-calls.jsonl}
mkdir -p .local
echo "== building and starting the local runner (first build takes a few minutes)"
exec cargo run --quiet --locked -p shop-local -- "$@"
