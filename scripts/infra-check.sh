#!/usr/bin/env bash
# Infra checks that need no AWS account: type-check, CDK assertion tests, synth of every stage
# (cdk-nag AwsSolutions runs inside synth and fails it on any unacknowledged finding), cfn-lint
# on every template, the replacement guard on staging and prod (infra/stateful/), asl-validator on
# every state machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/python-env.sh

if [ ! -x node_modules/.bin/cdk ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci (pinned in package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
fi
if ! command -v cfn-lint >/dev/null 2>&1 || [ "$(cfn-lint --version 2>/dev/null)" != "cfn-lint 1.58.0" ] || ! python3 -c "import cfn_lint_serverless" 2>/dev/null; then
  pip_install -r scripts/requirements.txt
fi

echo "== tsc --noEmit (infra)"
npx --no-install tsc --noEmit -p infra

echo "== CDK assertion tests"
(cd infra && node --import tsx --test --test-reporter=tap test/*.test.ts)

for stage in dev staging prod; do
  echo "== cdk synth -c stage=$stage (with cdk-nag)"
  rm -rf "cdk.out/$stage"
  npx --no-install cdk synth --quiet -c stage="$stage" -o "cdk.out/$stage" >/dev/null
  echo "== cfn-lint + serverless rules cdk.out/$stage"
  # W3005 (redundant DependsOn) is CDK's own output style. Serverless findings that do not apply
  # are acknowledged on their resource with a reason (infra/lib/lint.ts).
  cfn-lint --ignore-checks W3005 --append-rules cfn_lint_serverless.rules -- cdk.out/"$stage"/*.template.json
  if [ -f "infra/stateful/$stage.json" ]; then
    echo "== replacement guard: no stateful resource of $stage removed or replaced (infra/stateful/$stage.json)"
    npx --no-install tsx infra/bin/stateful-guard.ts --stage "$stage"
  fi
done

echo "== cost model: ours at most half of the original per order, without SES"
python3 scripts/bench/cost_model.py --check-half | tail -3

echo "== asl-validator"
for f in stepfunctions/*.asl.json; do
  npx --no-install asl-validator --json-path "$f"
done
