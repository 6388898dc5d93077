"""scripts/preflight.py against AWS's answers, stubbed at the SDK (botocore's Stubber): one test per
missing prerequisite, and a ready stage with nothing missing."""
import sys
import unittest
from pathlib import Path

import boto3
from botocore.stub import ANY, Stubber

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import preflight  # noqa: E402

REGION = "test-region-1"
ACCOUNT = "test-account"  # a stand-in: no real account id in code
CALLER = {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/platform", "UserId": "AIDAEXAMPLEEXAMPLE"}


class FakeSession:
    """A session whose clients answer what the test queued (and fail on any other call)."""

    def __init__(self, region=REGION):
        self.region_name = region
        self.clients, self.stubs = {}, {}

    def client(self, name):
        if name not in self.clients:
            c = boto3.client(name, region_name=self.region_name or REGION, aws_access_key_id="k", aws_secret_access_key="s")
            self.clients[name], self.stubs[name] = c, Stubber(c)
            self.stubs[name].activate()
        return self.clients[name]

    def answer(self, service, operation, response, params=None):
        self.client(service)
        self.stubs[service].add_response(operation, response, params)
        return self

    def fail(self, service, operation, error_code, status=400):
        self.client(service)
        self.stubs[service].add_client_error(operation, service_error_code=error_code, http_status_code=status)
        return self


def ready(stage="prod", identity="example.com", **changes):
    """A session answering as a ready account, with `changes` replacing single answers."""
    s = FakeSession()
    s.answer("sts", "get_caller_identity", CALLER)
    if "bootstrap" in changes:
        changes["bootstrap"](s)
    else:
        s.answer("ssm", "get_parameter", {"Parameter": {"Name": preflight.BOOTSTRAP_PARAMETER, "Value": "30"}})
    if "sender" in changes:
        changes["sender"](s)
    else:
        s.answer("sesv2", "get_email_identity", {"VerifiedForSendingStatus": True, "DkimAttributes": {"Status": "SUCCESS"}}, {"EmailIdentity": identity})
    if "account" in changes:
        changes["account"](s)
    else:
        s.answer("sesv2", "get_account", {"ProductionAccessEnabled": True, "SendingEnabled": True})
    s.answer("lambda", "get_account_settings", {"AccountLimit": {"ConcurrentExecutions": changes.get("concurrency", 1000)}})
    if "trail" in changes:
        changes["trail"](s)
    else:
        logging_trail(s)
    if "stack" in changes:
        changes["stack"](s)
    else:
        s.fail("cloudformation", "describe_stacks", "ValidationError")
    return s


TRAIL = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/audit"


def logging_trail(s, multi_region=True, logging=True, selectors=None):
    """A trail answering as CloudTrail does: described, its status, its event selectors."""
    s.answer("cloudtrail", "describe_trails", {"trailList": [{"Name": "audit", "TrailARN": TRAIL, "HomeRegion": "other-region-1", "IsMultiRegionTrail": multi_region}]})
    if not multi_region:
        return
    s.answer("cloudtrail", "get_trail_status", {"IsLogging": logging}, {"Name": TRAIL})
    if logging:
        s.answer("cloudtrail", "get_event_selectors", selectors or {"TrailARN": TRAIL, "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]}, {"TrailName": TRAIL})


def results(session, stage="prod", identity="example.com", needed=8, **kw):
    return {name: (ok, msg) for name, ok, msg in preflight.run(session, stage, identity, needed, **kw)}


def missing(found):
    return sorted(name for name, (ok, _) in found.items() if not ok)


SECRET = "shop/prod/payment-provider"


def with_secret(s, value, described=None):
    s.answer("secretsmanager", "describe_secret", described or {"Name": SECRET}, {"SecretId": SECRET})
    if value is not None:
        s.answer("secretsmanager", "get_secret_value", {"SecretString": value}, {"SecretId": SECRET})
    return s


def paid(stage="prod", **changes):
    """`ready()` with the payment secret answered by `changes["secret"]` (else a live one)."""
    s = FakeSession()
    s.answer("sts", "get_caller_identity", CALLER)
    s.answer("ssm", "get_parameter", {"Parameter": {"Name": preflight.BOOTSTRAP_PARAMETER, "Value": "30"}})
    s.answer("sesv2", "get_email_identity", {"VerifiedForSendingStatus": True, "DkimAttributes": {"Status": "SUCCESS"}}, {"EmailIdentity": "example.com"})
    s.answer("sesv2", "get_account", {"ProductionAccessEnabled": True, "SendingEnabled": True})
    changes.get("secret", lambda s: with_secret(s, '{"apiKey": "sk_live_x", "webhookSecret": "whsec_x"}'))(s)
    s.answer("lambda", "get_account_settings", {"AccountLimit": {"ConcurrentExecutions": 1000}})
    logging_trail(s)
    s.fail("cloudformation", "describe_stacks", "ValidationError")
    return results(s, stage=stage, secret=SECRET)


class PreflightTest(unittest.TestCase):
    def test_a_stage_with_its_payment_secret_has_nothing_missing(self):
        found = paid()
        self.assertEqual(missing(found), [], found)
        self.assertIn("live key", found["payment-secret"][1])

    def test_a_missing_payment_secret_says_how_to_create_it(self):
        def absent(s):
            s.fail("secretsmanager", "describe_secret", "ResourceNotFoundException")
        found = paid(secret=absent)
        self.assertEqual(missing(found), ["payment-secret"])
        self.assertIn("aws secretsmanager create-secret --name " + SECRET, found["payment-secret"][1])

    def test_a_test_key_in_prod_and_a_live_key_elsewhere_are_missing(self):
        found = paid(secret=lambda s: with_secret(s, '{"apiKey": "sk_test_x", "webhookSecret": "whsec_x"}'))
        self.assertIn("test key", found["payment-secret"][1])
        self.assertFalse(found["payment-secret"][0])
        found = paid(stage="staging", secret=lambda s: with_secret(s, '{"apiKey": "sk_live_x", "webhookSecret": "whsec_x"}'))
        self.assertFalse(found["payment-secret"][0])
        self.assertIn("live key", found["payment-secret"][1])

    def test_a_secret_without_its_webhook_secret_or_scheduled_for_deletion_is_missing(self):
        found = paid(secret=lambda s: with_secret(s, '{"apiKey": "sk_live_x"}'))
        self.assertIn("webhookSecret", found["payment-secret"][1])
        import datetime
        found = paid(secret=lambda s: with_secret(s, None, {"Name": SECRET, "DeletedDate": datetime.datetime(2026, 1, 1)}))
        self.assertIn("restore-secret", found["payment-secret"][1])

    def test_the_pools_issuer_format_and_every_authorizers_issuer_must_agree(self):
        import json as _json
        import tempfile

        def assembly(pool_format, host):
            d = tempfile.mkdtemp()
            pool = {"Type": "AWS::Cognito::UserPool", "Properties": {"IssuerConfiguration": {"Type": pool_format}} if pool_format else {}}
            issuer = {"Fn::Join": ["", [f"https://{host}.", {"Ref": "AWS::Region"}, ".amazonaws.com/", {"Fn::ImportValue": "pool"}]]}
            auth = {"Type": "AWS::ApiGatewayV2::Authorizer", "Properties": {"JwtConfiguration": {"Issuer": issuer}}}
            Path(d, "Shop-prod-Shared.template.json").write_text(_json.dumps({"Resources": {"Users": pool}}))
            Path(d, "Shop-prod-Order.template.json").write_text(_json.dumps({"Resources": {"Cognito": auth}}))
            return preflight.cognito_issuers(d, "prod")

        for pool_format, host, ok in [("ORIGINAL", "cognito-idp", True), ("UPDATED", "issuer-cognito-idp", True),
                                      ("UPDATED", "cognito-idp", False), ("ORIGINAL", "issuer-cognito-idp", False), (None, "cognito-idp", False)]:
            found = results(ready(), issuers=assembly(pool_format, host))
            self.assertEqual(found["cognito-issuer"][0], ok, (pool_format, host, found["cognito-issuer"]))
        found = results(ready(), issuers=assembly("UPDATED", "cognito-idp"))
        self.assertIn("Shop-prod-Order expects cognito-idp", found["cognito-issuer"][1])

    def test_a_ready_stage_has_nothing_missing(self):
        found = results(ready())
        self.assertEqual(missing(found), [], found)
        self.assertIn("bootstrap version 30", found["bootstrap"][1])

    def test_without_credentials_it_stops_at_once(self):
        s = FakeSession().fail("sts", "get_caller_identity", "ExpiredToken", 403)
        found = results(s)
        self.assertEqual(list(found), ["credentials"])
        self.assertIn("ExpiredToken", found["credentials"][1])

    def test_without_a_region_credentials_are_not_enough(self):
        s = FakeSession(region=None).answer("sts", "get_caller_identity", CALLER)
        self.assertIn("AWS_REGION", results(s)["credentials"][1])

    def test_an_account_never_bootstrapped_is_named(self):
        found = results(ready(bootstrap=lambda s: s.fail("ssm", "get_parameter", "ParameterNotFound")))
        self.assertEqual(missing(found), ["bootstrap"])
        self.assertIn("npx cdk bootstrap aws://<account>/test-region-1", found["bootstrap"][1])

    def test_an_old_bootstrap_is_named_with_the_version_needed(self):
        old = lambda s: s.answer("ssm", "get_parameter", {"Parameter": {"Name": "n", "Value": "6"}})  # noqa: E731
        found = results(ready(bootstrap=old), needed=21)
        self.assertEqual(missing(found), ["bootstrap"])
        self.assertIn("the stacks need 21", found["bootstrap"][1])

    def test_a_sender_identity_that_does_not_exist_says_how_to_create_it(self):
        found = results(ready(sender=lambda s: s.fail("sesv2", "get_email_identity", "NotFoundException", 404)))
        self.assertEqual(missing(found), ["ses-identity"])
        self.assertIn("aws sesv2 create-email-identity --email-identity example.com", found["ses-identity"][1])

    def test_an_unverified_sender_identity_is_missing(self):
        pending = lambda s: s.answer("sesv2", "get_email_identity", {"VerifiedForSendingStatus": False})  # noqa: E731
        self.assertEqual(missing(results(ready(sender=pending))), ["ses-identity"])

    def test_a_domain_identity_without_dkim_is_missing(self):
        no_dkim = lambda s: s.answer("sesv2", "get_email_identity", {"VerifiedForSendingStatus": True, "DkimAttributes": {"Status": "PENDING"}})  # noqa: E731
        found = results(ready(sender=no_dkim))
        self.assertEqual(missing(found), ["ses-identity"])
        self.assertIn("DKIM is PENDING", found["ses-identity"][1])

    def test_the_sandbox_refuses_prod_and_is_only_noted_in_dev(self):
        sandbox = lambda s: s.answer("sesv2", "get_account", {"ProductionAccessEnabled": False, "SendingEnabled": True})  # noqa: E731
        found = results(ready(account=sandbox))
        self.assertEqual(missing(found), ["ses-production"])
        self.assertIn("sandbox", found["ses-production"][1])
        dev = results(ready(stage="dev", account=sandbox), stage="dev")
        self.assertEqual(missing(dev), [])
        self.assertIn("sandbox", dev["ses-production"][1])

    def test_paused_sending_is_missing(self):
        paused = lambda s: s.answer("sesv2", "get_account", {"ProductionAccessEnabled": True, "SendingEnabled": False})  # noqa: E731
        self.assertEqual(missing(results(ready(account=paused))), ["ses-production"])

    def test_no_trail_logging_management_events_here_is_missing(self):
        for why, trail in [
            ("none at all", lambda s: s.answer("cloudtrail", "describe_trails", {"trailList": []})),
            ("another region's only", lambda s: logging_trail(s, multi_region=False)),
            ("stopped", lambda s: logging_trail(s, logging=False)),
            ("data events only", lambda s: logging_trail(s, selectors={"TrailARN": TRAIL, "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]})),
        ]:
            found = results(ready(trail=trail))
            self.assertEqual(missing(found), ["cloudtrail"], why)
            self.assertIn("admin group alert", found["cloudtrail"][1])
        advanced = {"TrailARN": TRAIL, "AdvancedEventSelectors": [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}]}
        self.assertEqual(missing(results(ready(trail=lambda s: logging_trail(s, selectors=advanced)))), [])

    def test_a_new_accounts_lambda_concurrency_of_10_is_missing(self):
        found = results(ready(concurrency=10))
        self.assertEqual(missing(found), ["lambda-concurrency"])
        self.assertIn("limit is 10", found["lambda-concurrency"][1])

    def test_an_unconfirmed_alarm_subscription_is_missing_after_the_first_deploy(self):
        topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"

        def deployed(s):
            s.answer("cloudformation", "describe_stacks", {"Stacks": [{"StackName": "Shop-prod-Shared", "CreationTime": "2026-01-01T00:00:00Z", "StackStatus": "CREATE_COMPLETE", "Outputs": [{"OutputKey": "AlertsTopicArn", "OutputValue": topic}]}]})
            s.answer("sns", "list_subscriptions_by_topic", {"Subscriptions": [{"SubscriptionArn": "PendingConfirmation", "Endpoint": "ops@example.com", "Protocol": "email", "TopicArn": topic}]}, {"TopicArn": topic})

        found = results(ready(stack=deployed))
        self.assertEqual(missing(found), ["alarm-subscriptions"])
        self.assertIn("ops@example.com", found["alarm-subscriptions"][1])

    def test_an_answer_it_may_not_read_is_missing_not_passed(self):
        denied = lambda s: s.fail("sesv2", "get_account", "AccessDeniedException", 403)  # noqa: E731
        found = results(ready(account=denied))
        self.assertEqual(missing(found), ["ses-production"])
        self.assertIn("could not check (AccessDeniedException)", found["ses-production"][1])

    def github(self, providers, trust, decision):
        s = ready()
        s.answer("iam", "list_open_id_connect_providers", {"OpenIDConnectProviderList": [{"Arn": p} for p in providers]})
        if providers:
            role = {"Path": "/", "RoleName": "deploy", "RoleId": "AROAEXAMPLEEXAMPLE1", "Arn": f"arn:aws:iam::{ACCOUNT}:role/deploy", "CreateDate": "2026-01-01T00:00:00Z", "AssumeRolePolicyDocument": trust}
            s.answer("iam", "get_role", {"Role": role}, {"RoleName": "deploy"})
            if "environment:prod" in trust:
                s.answer("sts", "get_caller_identity", CALLER)
                s.answer("iam", "simulate_principal_policy", {"EvaluationResults": [{"EvalActionName": "sts:AssumeRole", "EvalDecision": decision}]}, {"PolicySourceArn": ANY, "ActionNames": ["sts:AssumeRole"], "ResourceArns": [f"arn:aws:iam::{ACCOUNT}:role/cdk-hnb659fds-deploy-role-{ACCOUNT}-{REGION}"]})
        return results(s, repo="shop/backend", role_arn=f"arn:aws:iam::{ACCOUNT}:role/deploy")

    def test_github_deploys_need_the_oidc_provider_the_trust_and_the_bootstrap_roles(self):
        provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
        trusted = '{"Statement":[{"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:shop/backend:environment:prod"}}}]}'
        self.assertEqual(missing(self.github([provider], trusted, "allowed")), [])
        self.assertIn("no GitHub OIDC provider", self.github([], trusted, "allowed")["github-oidc"][1])
        other = trusted.replace("environment:prod", "ref:refs/heads/main")
        self.assertIn("does not trust repo:shop/backend:environment:prod", self.github([provider], other, "allowed")["github-oidc"][1])
        self.assertIn("may not assume the CDK bootstrap roles", self.github([provider], trusted, "implicitDeny")["github-oidc"][1])


if __name__ == "__main__":
    unittest.main()
