#!/usr/bin/env python3
"""Stage readiness: every manual prerequisite of a deploy that is still missing, one line each with
what to do. Run it with the stage's AWS credentials after `cdk synth` (it reads the synthesized
stage for the sender identity and the bootstrap version the stacks need):

    npx cdk synth -c stage=prod -o cdk.out/prod --quiet
    python3 scripts/preflight.py --stage prod [--github-repo owner/repo --role-arn ARN]

Checks: credentials and region; the CDK bootstrap stack and its version; the SES identity that
verifies the sender (verified, with DKIM for a domain); SES production access (required in staging
and prod: the sandbox mails only verified recipients); the payment provider's secret (it exists, holds
`apiKey` and `webhookSecret`, and prod's key is a live one); the user pool's issuer format (ORIGINAL
or UPDATED) is the one every JWT authorizer of the stage expects; the account's Lambda concurrency; with
--github-repo, the GitHub OIDC provider, the deploy role's trust (`repo:<owner>/<repo>:environment:
<stage>`) and its right to assume the CDK bootstrap roles; after a first deploy, unconfirmed alarm
email subscriptions. What no API can tell (CloudFront's account verification) is listed to confirm
by hand. Exit 1 when anything is missing, 2 when the command itself cannot run.
"""
import argparse
import json
import os
import re
import sys
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
GITHUB_OIDC = "token.actions.githubusercontent.com"
# Below this, a burst of orders (or the API's own concurrency) meets Lambda throttles; new accounts may get 10.
MIN_CONCURRENCY = 100
STRICT_STAGES = {"staging", "prod"}
MANUAL = [
    "CloudFront: a new account may not create distributions until AWS Support verifies it (each stage "
    "creates three). If the first deploy fails with 'Your account must be verified', open a support case.",
]


class Finding(Exception):
    """A prerequisite that is missing: what, and what to do."""


def code(e):
    return e.response.get("Error", {}).get("Code", "") if isinstance(e, ClientError) else type(e).__name__


def stage_outputs(assembly, stage):
    """The sender identity (Shared stack output) and the highest bootstrap version the stacks require."""
    shared = Path(assembly) / f"Shop-{stage}-Shared.template.json"
    if not shared.exists():
        raise SystemExit(f"preflight: {shared} is missing: run `npx cdk synth -c stage={stage} -o {assembly}` first")
    outputs = json.loads(shared.read_text()).get("Outputs", {})
    identity = outputs.get("SesIdentity", {}).get("Value")
    manifest = Path(assembly) / "manifest.json"
    needed = 6
    if manifest.exists():
        text = manifest.read_text()
        needed = max([needed] + [int(v) for v in re.findall(r'"requiresBootstrapStackVersion":\s*(\d+)', text)])
    return identity, needed


def payment_secret(assembly, stage):
    """The payment provider's secret the Order stack reads (its output), or None without payments."""
    order = Path(assembly) / f"Shop-{stage}-Order.template.json"
    if not order.exists():
        return None
    return json.loads(order.read_text()).get("Outputs", {}).get("PaymentSecretName", {}).get("Value")


def cognito_issuers(assembly, stage):
    """The user pool's issuer format in the synthesized stage (None when it sets none), and the
    issuer host every JWT authorizer expects, by stack."""
    pool_format = None
    hosts = []
    for template in sorted(Path(assembly).glob(f"Shop-{stage}-*.template.json")):
        resources = json.loads(template.read_text()).get("Resources", {})
        for r in resources.values():
            if r.get("Type") == "AWS::Cognito::UserPool":
                pool_format = (r.get("Properties", {}).get("IssuerConfiguration") or {}).get("Type")
            if r.get("Type") == "AWS::ApiGatewayV2::Authorizer":
                issuer = json.dumps(r.get("Properties", {}).get("JwtConfiguration", {}).get("Issuer"))
                m = re.search(r"https://([a-z-]+)\.", issuer)
                hosts.append((template.name.removesuffix(".template.json"), m.group(1) if m else issuer))
    return pool_format, hosts


def check_cognito_issuer(issuers):
    """The pool's tokens carry the issuer every authorizer expects (ORIGINAL: cognito-idp,
    UPDATED: issuer-cognito-idp); otherwise every protected route would answer 401."""
    pool_format, hosts = issuers
    if pool_format is None:
        raise Finding("the user pool sets no IssuerConfiguration: Cognito would pick the issuer format and the authorizers may expect the other; set cognitoIssuer in infra/stages.json")
    expected = "issuer-cognito-idp" if pool_format == "UPDATED" else "cognito-idp"
    wrong = [f"{stack} expects {host}" for stack, host in hosts if host != expected]
    if wrong:
        raise Finding(f"the pool issues tokens from {expected} ({pool_format}) but {'; '.join(wrong)}: every protected route would answer 401; derive the authorizers' issuer from cognitoIssuer")
    return f"the pool's {pool_format} issuer ({expected}) is the one all {len(hosts)} authorizers expect"


def check_credentials(c):
    try:
        who = c.client("sts").get_caller_identity()
    except (ClientError, BotoCoreError) as e:
        raise Finding(f"no usable AWS credentials ({code(e)}): sign in (aws configure or SSO) for the stage's account")
    region = c.region_name
    if not region:
        raise Finding("no region: set AWS_REGION (deploy.yml: vars.AWS_REGION of the stage's environment)")
    return f"account {who['Account']}, region {region}"


def check_bootstrap(c, needed):
    try:
        version = int(c.client("ssm").get_parameter(Name=BOOTSTRAP_PARAMETER)["Parameter"]["Value"])
    except ClientError as e:
        if code(e) == "ParameterNotFound":
            raise Finding(f"the account and region are not bootstrapped: npx cdk bootstrap aws://<account>/{c.region_name}")
        raise
    if version < needed:
        raise Finding(f"bootstrap version {version}, the stacks need {needed}: run npx cdk bootstrap aws://<account>/{c.region_name} again")
    return f"bootstrap version {version} (needs {needed})"


def check_ses_identity(c, identity):
    if not identity:
        raise Finding("the synthesized Shared stack names no SesIdentity output: synthesize this version of the app")
    try:
        got = c.client("sesv2").get_email_identity(EmailIdentity=identity)
    except ClientError as e:
        if code(e) == "NotFoundException":
            raise Finding(
                f"SES identity {identity} does not exist: aws sesv2 create-email-identity --email-identity {identity}, "
                "then publish the three DKIM CNAME records it prints (a domain) or click the link SES mails (an address)"
            )
        raise
    if not got.get("VerifiedForSendingStatus"):
        raise Finding(f"SES identity {identity} is not verified yet: publish its DKIM records (a domain) or click the link SES mailed (an address)")
    dkim = got.get("DkimAttributes", {}).get("Status")
    if "@" not in identity and dkim != "SUCCESS":
        raise Finding(f"SES identity {identity} is verified but DKIM is {dkim}: publish the DKIM CNAME records of aws sesv2 get-email-identity --email-identity {identity}")
    return f"SES identity {identity} verified" + ("" if "@" in identity else ", DKIM on")


def check_ses_production(c, stage):
    account = c.client("sesv2").get_account()
    if not account.get("SendingEnabled", True):
        raise Finding("SES sending is paused for this account (bounces or complaints): see the SES console's reputation page")
    if not account.get("ProductionAccessEnabled"):
        if stage in STRICT_STAGES:
            raise Finding("SES is in the sandbox: only verified recipients get mail, so every customer email fails. Request production access (SES console, Account dashboard)")
        return "SES sandbox (acceptable in dev: verify the recipients you test with)"
    return "SES production access"


def check_payment_secret(c, stage, name):
    create = (f"aws secretsmanager create-secret --name {name} --secret-string "
              "'{\"apiKey\": \"<Stripe secret or restricted key>\", \"webhookSecret\": \"<the endpoint's whsec_ signing secret>\"}'")
    sm = c.client("secretsmanager")
    try:
        described = sm.describe_secret(SecretId=name)
    except ClientError as e:
        if code(e) == "ResourceNotFoundException":
            raise Finding(f"the payment provider's secret {name} does not exist: {create}")
        raise
    if described.get("DeletedDate"):
        raise Finding(f"the payment provider's secret {name} is scheduled for deletion: aws secretsmanager restore-secret --secret-id {name}")
    value = json.loads(sm.get_secret_value(SecretId=name).get("SecretString") or "{}")
    key, hook = value.get("apiKey", ""), value.get("webhookSecret", "")
    if not key or not hook.startswith("whsec_"):
        raise Finding(f"the payment provider's secret {name} must hold apiKey and webhookSecret (whsec_...): aws secretsmanager put-secret-value --secret-id {name} --secret-string ...")
    live = key.startswith(("sk_live_", "rk_live_"))
    if stage == "prod" and not live:
        raise Finding(f"prod's payment secret {name} holds a test key: no money would be taken; store the live key")
    if stage != "prod" and live:
        raise Finding(f"{stage}'s payment secret {name} holds a live key: real cards would be charged; store a test key")
    return f"payment secret {name}: {'live' if live else 'test'} key and webhook signing secret"


def check_concurrency(c):
    limit = c.client("lambda").get_account_settings()["AccountLimit"]["ConcurrentExecutions"]
    if limit < MIN_CONCURRENCY:
        raise Finding(f"Lambda concurrency limit is {limit}: request at least {MIN_CONCURRENCY} (Service Quotas, 'Concurrent executions')")
    return f"Lambda concurrency {limit}"


def check_cloudtrail(c):
    """A trail that logs management events here: EventBridge sees Cognito's admin calls (the
    admin group alert, infra/lib/admin-watch.ts) only through one."""
    ct = c.client("cloudtrail")
    for trail in ct.describe_trails(includeShadowTrails=True)["trailList"]:
        if not (trail.get("IsMultiRegionTrail") or trail.get("HomeRegion") == c.region_name):
            continue
        if not ct.get_trail_status(Name=trail["TrailARN"]).get("IsLogging"):
            continue
        selectors = ct.get_event_selectors(TrailName=trail["TrailARN"])
        basic = selectors.get("EventSelectors")
        advanced = selectors.get("AdvancedEventSelectors")
        management = (any(x.get("IncludeManagementEvents", True) and x.get("ReadWriteType", "All") in ("All", "WriteOnly") for x in basic or [])
                      or any(f.get("Field") == "eventCategory" and "Management" in f.get("Equals", [])
                             for a in advanced or [] for f in a.get("FieldSelectors", [])))
        if management:
            return f"trail {trail['Name']} logs management events"
    raise Finding("no CloudTrail trail logs management events in this region: the admin group alert never fires "
                  "(aws cloudtrail create-trail --name shop-audit --s3-bucket-name <bucket> --is-multi-region-trail; "
                  "aws cloudtrail start-logging --name shop-audit)")


def check_github(c, stage, repo, role_arn):
    iam = c.client("iam")
    providers = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    if not any(p.endswith(f"oidc-provider/{GITHUB_OIDC}") for p in providers):
        raise Finding(f"no GitHub OIDC provider in the account: create the identity provider https://{GITHUB_OIDC} with audience sts.amazonaws.com")
    role = iam.get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]
    trust = json.dumps(role["AssumeRolePolicyDocument"])
    wanted = f"repo:{repo}:environment:{stage}"
    if wanted not in trust:
        raise Finding(f"the deploy role does not trust {wanted}: its trust policy's token.actions.githubusercontent.com:sub condition must name it")
    account = c.client("sts").get_caller_identity()["Account"]
    target = f"arn:aws:iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-{c.region_name}"
    result = iam.simulate_principal_policy(PolicySourceArn=role["Arn"], ActionNames=["sts:AssumeRole"], ResourceArns=[target])
    decision = result["EvaluationResults"][0]["EvalDecision"]
    if decision != "allowed":
        raise Finding(f"the deploy role may not assume the CDK bootstrap roles ({decision}): allow sts:AssumeRole on arn:aws:iam::<account>:role/cdk-hnb659fds-*")
    return f"GitHub OIDC provider, trust for {wanted}, bootstrap roles assumable"


def check_alarm_subscriptions(c, stage):
    try:
        stack = c.client("cloudformation").describe_stacks(StackName=f"Shop-{stage}-Shared")["Stacks"][0]
    except ClientError as e:
        if code(e) == "ValidationError":
            return "not deployed yet (check again after the first deploy)"
        raise
    topic = next((o["OutputValue"] for o in stack.get("Outputs", []) if o["OutputKey"] == "AlertsTopicArn"), None)
    if not topic:
        return "no alerts topic output"
    subs = c.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    pending = [s["Endpoint"] for s in subs if s.get("SubscriptionArn") == "PendingConfirmation"]
    if pending:
        raise Finding(f"alarm emails are not confirmed for {', '.join(pending)}: click the link in the 'AWS Notification - Subscription Confirmation' email")
    return f"{len(subs)} alarm subscription(s) confirmed"


def run(c, stage, identity, needed, repo=None, role_arn=None, secret=None, issuers=None):
    """[(check, ok, message)] for the stage."""
    checks = [
        ("credentials", lambda: check_credentials(c)),
        ("bootstrap", lambda: check_bootstrap(c, needed)),
        ("ses-identity", lambda: check_ses_identity(c, identity)),
        ("ses-production", lambda: check_ses_production(c, stage)),
    ]
    if secret:
        checks.append(("payment-secret", lambda: check_payment_secret(c, stage, secret)))
    if issuers is not None:
        checks.append(("cognito-issuer", lambda: check_cognito_issuer(issuers)))
    checks += [
        ("lambda-concurrency", lambda: check_concurrency(c)),
        ("cloudtrail", lambda: check_cloudtrail(c)),
        ("alarm-subscriptions", lambda: check_alarm_subscriptions(c, stage)),
    ]
    if repo:
        checks.append(("github-oidc", lambda: check_github(c, stage, repo, role_arn or "")))
    out = []
    for name, check in checks:
        try:
            out.append((name, True, check()))
        except Finding as f:
            out.append((name, False, str(f)))
        except (ClientError, BotoCoreError) as e:
            out.append((name, False, f"could not check ({code(e)}): confirm by hand, or grant the caller the read it needs"))
        if name == "credentials" and not out[-1][1]:
            break
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stage", required=True)
    ap.add_argument("--assembly", help="the synthesized stage (default cdk.out/<stage>)")
    ap.add_argument("--github-repo", help="owner/repo whose deploy.yml deploys this stage")
    ap.add_argument("--role-arn", help="the role deploy.yml assumes (vars.AWS_ROLE_ARN)")
    a = ap.parse_args(argv)
    assembly = a.assembly or f"cdk.out/{a.stage}"
    identity, needed = stage_outputs(assembly, a.stage)
    # The SDKs and the CDK read AWS_REGION; boto3 only AWS_DEFAULT_REGION.
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION") or None)
    results = run(session, a.stage, identity, needed, a.github_repo, a.role_arn, payment_secret(assembly, a.stage),
                  cognito_issuers(assembly, a.stage))
    for name, ok, message in results:
        print(f"{'ok     ' if ok else 'MISSING'} {name}: {message}")
    for m in MANUAL:
        print(f"BY HAND {m}")
    missing = sum(1 for _, ok, _ in results if not ok)
    print(f"preflight {a.stage}: {missing} missing")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
