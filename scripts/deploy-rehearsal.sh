#!/usr/bin/env bash
# The steps of docs/deploy.md, in order, against a fresh fake account: a moto server of its own
# stands in for AWS (CloudFormation, SSM, STS, SES, Secrets Manager). It proves what can be proven without an
# account: preflight names what a fresh account lacks, `cdk bootstrap` by environment works without
# built code, the SES identity and payment secret steps are what preflight asks for, and `cdk synth` / `cdk list` with
# the account's environment give the stacks in deploy order. Nothing here reaches AWS.
set -euo pipefail
cd "$(dirname "$0")/.."
stage=${1:-prod}
out=cdk.out/rehearsal-$stage
log=$(mktemp)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 local/emulator/moto_server.py -H 127.0.0.1 -p "$port" >/tmp/rehearsal-moto.log 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 && break; sleep 0.1; done
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=rehearsal AWS_SECRET_ACCESS_KEY=rehearsal
# The emulator's default region (the local stack's); a real deploy takes the stage's.
export AWS_REGION=${AWS_REGION:-us-east-1}
unset CDK_DEFAULT_ACCOUNT CDK_DEFAULT_REGION
export CDK_DISABLE_VERSION_CHECK=1
cdk() { npx --no-install cdk --no-notices "$@"; }
expect() { grep -q -- "$1" "$log" || { cat "$log"; echo "rehearsal: expected \"$1\"" >&2; exit 1; }; }
account=$(python3 -c 'import boto3, os; print(boto3.client("sts", region_name=os.environ["AWS_REGION"]).get_caller_identity()["Account"])')

echo "== 1. synth without built code (no zips: stand-ins that a template rule refuses to deploy)"
cdk synth --quiet -c stage="$stage" -o "$out" >/dev/null
echo "== 2. preflight on the fresh account names what it lacks"
if python3 scripts/preflight.py --stage "$stage" --assembly "$out" >"$log"; then cat "$log"; echo "rehearsal: preflight passed on a fresh account" >&2; exit 1; fi
expect "MISSING bootstrap: the account and region are not bootstrapped: npx cdk bootstrap aws://<account>/$AWS_REGION"
expect "MISSING ses-identity: SES identity example.com does not exist"
expect "MISSING payment-secret: the payment provider's secret shop/$stage/payment-provider does not exist"
expect "BY HAND CloudFront"
expect "MISSING cloudtrail: no CloudTrail trail logs management events in this region"
echo "== 3. cdk bootstrap aws://<account>/<region> (by environment: no app needed)"
cdk bootstrap "aws://$account/$AWS_REGION" >"$log" 2>&1 || { cat "$log"; exit 1; }
expect "bootstrapped"
echo "== 4. the sender identity, created before the stage (DKIM records still to publish)"
python3 -c 'import boto3, os; boto3.client("sesv2", region_name=os.environ["AWS_REGION"]).create_email_identity(EmailIdentity="example.com")'
python3 scripts/preflight.py --stage "$stage" --assembly "$out" >"$log" || true
expect "ok      bootstrap: bootstrap version"
expect "MISSING ses-identity: SES identity example.com is not verified yet"
echo "== 5. the payment provider's secret (a test key: preflight refuses it in prod, as it should)"
python3 - "$stage" <<'PY'
import boto3, json, os, sys
boto3.client("secretsmanager", region_name=os.environ["AWS_REGION"]).create_secret(
    Name=f"shop/{sys.argv[1]}/payment-provider",
    SecretString=json.dumps({"apiKey": "sk_test_rehearsal", "webhookSecret": "whsec_rehearsal"}))
PY
python3 scripts/preflight.py --stage "$stage" --assembly "$out" >"$log" || true
if [ "$stage" = prod ]; then
  expect "MISSING payment-secret: prod's payment secret shop/prod/payment-provider holds a test key"
else
  expect "ok      payment-secret: payment secret shop/$stage/payment-provider: test key"
fi
echo "== 6. synth and list with the account's environment, in deploy order"
export CDK_DEFAULT_ACCOUNT=$account CDK_DEFAULT_REGION=$AWS_REGION
cdk synth --quiet -c stage="$stage" -o "$out" >/dev/null
cdk list -c stage="$stage" -o "$out" >"$log"
head -n 1 "$log" | grep -qx "Shop-$stage-Shared" || { cat "$log"; echo "rehearsal: Shared must deploy first" >&2; exit 1; }
[ "$(wc -l <"$log")" -eq 6 ] || { cat "$log"; echo "rehearsal: expected 6 stacks" >&2; exit 1; }
grep -q "\"Ref\": \"PlaceholderCode\"\|\"Ref\":\"PlaceholderCode\"" "$out/Shop-$stage-Order.template.json" || { echo "rehearsal: stand-in code without the rule refusing its deploy" >&2; exit 1; }
echo "rehearsal $stage: preflight, bootstrap, identity, synth and list behave as docs/deploy.md says"
