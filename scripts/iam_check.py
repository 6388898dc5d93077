#!/usr/bin/env python3
"""Least privilege, proven: every AWS call a function made locally is allowed by the role it deploys with.

Usage: python3 scripts/iam_check.py [--calls target/tmp/aws-calls.jsonl] [--templates cdk.out/dev]

The calls come from the local runner's recorder (`SHOP_RECORD_AWS_CALLS`, local/src/recorder.rs):
one JSON line per (function, action, resource) a handler sent. The roles come from the synthesized
CloudFormation templates: for each function (its Description is `<service>/<bin>`), the Allow
statements of the IAM policies attached to its role, with their resources resolved to the local
resource names. A call no statement allows fails the check with the function, the action, the
resource and the statements the role has. Then, per function and per granted (action, resource
pattern), the grants no recorded call used: each is either explained below, for that function and
action (EXPLAINED_FOR), for the action wherever an event source or destination uses it
(EXPLAINED), or for a kind of resource (EXPLAINED_PATTERN); otherwise it is possible excess
privilege and fails the check. A statement on `*`, a conditional one, and a recorded call a Deny
matches fail too. Every test an explanation cites must exist. Run it on every stage's templates:
prod grants what dev does not (the admin gate's AdminGetUser).
"""
import argparse
import fnmatch
import glob
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

# Template resource (logical id prefix, resource type) -> the local resource's name after the stack
# prefix, from the declaration the local provisioning reads (lambdas/resources.json: the runner
# names every resource `<prefix>-<name>`).
KIND_TYPES = {
    "table": "AWS::DynamoDB::GlobalTable",
    "userPool": "AWS::Cognito::UserPool",
    "imageBucket": "AWS::S3::Bucket",
    "workQueue": "AWS::SQS::Queue",
    "queue": "AWS::SQS::Queue",
    "topic": "AWS::SNS::Topic",
    "orderWorkflow": "AWS::StepFunctions::StateMachine",
}


def local_names(path=Path(__file__).resolve().parent.parent / "lambdas" / "resources.json"):
    declared = json.loads(Path(path).read_text())
    names = {}
    for resources in [*declared["services"].values(), declared["stack"]]:
        for r in resources:
            if "logicalId" in r:
                names[(r["logicalId"], KIND_TYPES[r["kind"]])] = r["name"]
            if "dlqLogicalId" in r:
                names[(r["dlqLogicalId"], "AWS::SQS::Queue")] = r["dlq"]
    return names


LOCAL_NAMES = local_names()
# Queues with no local twin (the runner keeps failed events in its pollers instead).
NO_LOCAL_TWIN = {("AsyncFailures", "AWS::SQS::Queue")}

# Calls that need no IAM permission: Cognito's public user APIs authorize by client id or token.
NO_IAM = {"cognito-idp:SignUp", "cognito-idp:ConfirmSignUp", "cognito-idp:InitiateAuth",
          "cognito-idp:GlobalSignOut", "cognito-idp:ResendConfirmationCode", "cognito-idp:RespondToAuthChallenge",
          "cognito-idp:AssociateSoftwareToken", "cognito-idp:VerifySoftwareToken", "cognito-idp:SetUserMFAPreference",
          "cognito-idp:GetUser", "cognito-idp:GetTokensFromRefreshToken"}

# Granted actions no local call can exercise, and why. Anything else granted but unused fails.
EXPLAINED = {
    "s3:PutObject": "presigned uploads: the function signs the URL with its role, the client sends the PUT",
    "sqs:ReceiveMessage": "the event source mapping polls the queue with the function's role",
    "sqs:DeleteMessage": "the event source mapping deletes handled messages with the function's role",
    "sqs:ChangeMessageVisibility": "the event source mapping returns failed messages with the function's role",
    "sqs:GetQueueAttributes": "event source mappings and on-failure destinations read queue attributes",
    "sqs:GetQueueUrl": "on-failure destinations resolve their queue",
    "dynamodb:DescribeStream": "the stream's event source mapping",
    "dynamodb:GetRecords": "the stream's event source mapping",
    "dynamodb:GetShardIterator": "the stream's event source mapping",
    "dynamodb:ListStreams": "the stream's event source mapping",
}
# Failure paths the runner cannot provoke; the integration tests named run them by calling the handler.
# A key (function, action) excuses the action on any resource of that function's grants; (function,
# action, part) only on resource patterns containing `part`.
EXPLAINED_FOR = {
    ("auth/sign-up", "cognito-idp:AdminDeleteUser"):
        "undoes a sign-up whose Users record could not be written (tests/tests/auth.rs, handler called directly)",
    ("category/image-uploaded", "s3:ListBucket"):
        "makes S3 answer a repeated event for a deleted upload with 404, not 403; the runner records the "
        "reliance for the banner handler (tests/tests/e2e.rs a_repeated_s3_event_for_a_deleted_upload_leaves_the_failure_queue_empty), "
        "the same declaration grants it to every S3-triggered function",
    ("product/image-uploaded", "s3:ListBucket"):
        "as category/image-uploaded's (tests/tests/e2e.rs a_repeated_s3_event_for_a_deleted_upload_leaves_the_failure_queue_empty)",
    ("auth/purge-unconfirmed", "cognito-idp:AdminDeleteUser"):
        "deletes sign-ups older than a day, which no runner lives to see (tests/tests/auth.rs "
        "unconfirmed_sign_ups_past_their_age_are_purged_from_cognito_and_the_users_table calls the handler with age 0)",
    ("auth/purge-unconfirmed", "cognito-idp:AdminGetUser"):
        "asks each old sign-up again just before deleting it (tests/tests/auth.rs "
        "a_sign_up_confirmed_after_the_purge_listed_it_is_kept, "
        "unconfirmed_sign_ups_past_their_age_are_purged_from_cognito_and_the_users_table call the handler with age 0)",
    ("auth/purge-unconfirmed", "dynamodb:DeleteItem"):
        "deletes the Users record of a purged sign-up (same test as its AdminDeleteUser)",
    ("auth/confirm-sign-up", "dynamodb:DeleteItem"):
        "releases the email claim when Cognito refuses the code, which the emulator never does "
        "(tests/tests/auth.rs a_refused_confirmation_releases_its_email_claim injects the refusal)",
    ("product/pending-products", "s3:GetObject"):
        "review links are presigned GETs signed with the role; the admin's browser sends the GET "
        "(tests/tests/e2e.rs fetches one through the emulator)",
    ("category/image-uploaded", "dynamodb:GetItem"):
        "tells a repeated event from an orphan upload after the conditional completion failed "
        "(tests/tests/catalog.rs a_category_uploaded_through_its_presigned_url_appears_in_the_listing, "
        "an_image_with_no_waiting_category_is_ignored_and_not_left_published)",
    ("category/image-uploaded", "s3:DeleteObject", "/public/"):
        "withdraws the copy it published when no category waits for the image (tests/tests/catalog.rs "
        "an_image_with_no_waiting_category_is_ignored_and_not_left_published calls the handler directly)",
    ("product/approve-product", "s3:DeleteObject"):
        "withdraws the copy it just published when the product was rejected between the read and the "
        "conditional approval; a race no test provokes (the grant is public/* only)",
    ("order/create-order", "dynamodb:GetItem"):
        "reads the existing order on an idempotent replay (tests/tests/order_api.rs "
        "an_idempotency_key_replay_returns_the_same_order, "
        "a_replayed_cart_is_the_same_order_in_any_line_order_and_another_cart_is_refused)",
    ("order/create-order", "dynamodb:DeleteItem"):
        "withdraws an order the queue refused (tests/tests/order_api.rs an_order_that_cannot_be_queued_gets_no_201_and_is_not_kept)",
    ("order/reconcile", "dynamodb:GetItem"):
        "reads an order whose money the stream left open, to settle it (tests/tests/payment.rs "
        "a_capture_the_stream_missed_is_redriven_by_the_reconciler_once_past_the_window calls the handler directly)",
    ("order/status-changed", "sns:Publish"):
        "alerts when a reserved order's hold is gone at the provider before its capture (tests/tests/payment.rs "
        "a_hold_lost_before_its_capture_alerts_operations_and_the_order_is_not_taken_as_paid)",
    ("order/payment-webhook", "ses:SendEmail"):
        "the receipt, when the provider's event arrives before the stream settled the order (the same settle "
        "as tests/tests/payment.rs a_reserved_order_is_captured_exactly_once_though_delivered_three_times_and_run_three_times)",
}
# sqs:SendMessage to a failure queue is Lambda delivering a failed asynchronous event.
EXPLAINED_ON = {("sqs:SendMessage", "AsyncFailures"): "on-failure destination: Lambda delivers a failed event with the function's role"}
# Grants on a kind of resource no local call names.
EXPLAINED_PATTERN = [
    ("secretsmanager:GetSecretValue", re.compile(r"^secret:.*payment-provider-\?{6}$"),
     "the payment provider's secret, read once at cold start (order::Orders::from_env); the local runner "
     "reads its stack's secret once at start-up, outside any function, and every paid test fixture through "
     "the same Orders::provider (tests/src/orders.rs paid_fixture)"),
    ("cognito-idp:DescribeUserPoolClient", re.compile(r"^userpool/\{POOL\}$"),
     "the app client's secret, read once per cold start by each auth function that calls Cognito through "
     "the client (a Lambda process each); the local runner serves every auth function from one process, so "
     "only the first one to need it records the read. Each of those calls carries the secret's hash in "
     "tests/tests/auth.rs a_name_in_any_script_signs_up_and_signs_in_through_the_secret_client, "
     "resend_to_an_unconfirmed_user_mails_a_new_code, the_totp_challenge_round_trip_works_and_wrong_codes_are_refused "
     "(the emulator refuses every one without it)"),
    ("ses:SendEmail", re.compile(r"^identity/[^@/]+$"),
     "the sender's domain identity: SES authorizes a send against the verifying domain or the address, so both are granted"),
]
# Outside dev, every admin route asks Cognito whether the admin has TOTP on; the local stage does
# not require it, so the runner never makes that call.
for _svc in json.loads((Path(__file__).resolve().parents[1] / "lambdas" / "services.json").read_text())["services"]:
    for _f in _svc["functions"]:
        if (_f.get("http") or {}).get("auth") == "admin":
            EXPLAINED_FOR.setdefault((f"{_svc['name']}/{_f['name']}", "cognito-idp:AdminGetUser"),
                                     "the admin gate where the stage requires MFA (tests/tests/catalog.rs "
                                     "where_the_stage_requires_it_an_admin_without_totp_gets_403_mfa_required)")


def load_templates(folder):
    stacks = {}
    for f in sorted(glob.glob(str(Path(folder) / "*.template.json"))):
        stacks[Path(f).name.split(".")[0]] = json.loads(Path(f).read_text())
    if not stacks:
        sys.exit(f"iam_check: no templates in {folder} (run scripts/infra-check.sh or cdk synth first)")
    exports = {}
    for name, t in stacks.items():
        for out in t.get("Outputs", {}).values():
            export = out.get("Export", {}).get("Name")
            if isinstance(export, str):
                exports[export] = (name, out["Value"])
    return stacks, exports


class Resolver:
    """Turns CloudFormation expressions of ARNs into the local resources' ARN tails, with `*`."""

    def __init__(self, stacks, exports):
        self.stacks, self.exports = stacks, exports

    def local(self, stack, logical):
        r = self.stacks[stack]["Resources"].get(logical)
        if r is None:
            raise KeyError(f"{stack}: no resource {logical}")
        for (prefix, rtype), name in LOCAL_NAMES.items():
            if r["Type"] == rtype and re.fullmatch(prefix + r"[0-9A-F]{8}", logical):
                return rtype, name
        for prefix, rtype in NO_LOCAL_TWIN:
            if r["Type"] == rtype and logical.startswith(prefix):
                return rtype, None
        raise KeyError(f"{stack}/{logical} ({r['Type']}) has no local twin in LOCAL_NAMES: add it")

    def arn(self, stack, rtype, name):
        """The ARN of a resource, with `{R}`/`{A}` for region and account; name None = no twin."""
        if name is None:
            return "arn:aws:none:{R}:{A}:no-local-twin"
        return {
            "AWS::DynamoDB::GlobalTable": f"arn:aws:dynamodb:{{R}}:{{A}}:table/{{P}}-{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{{P}}-{name}",
            "AWS::SQS::Queue": f"arn:aws:sqs:{{R}}:{{A}}:{{P}}-{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{{R}}:{{A}}:{{P}}-{name}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{{R}}:{{A}}:stateMachine:{{P}}-{name}",
            "AWS::Cognito::UserPool": "arn:aws:cognito-idp:{R}:{A}:userpool/{POOL}",
        }[rtype]

    def resolve(self, stack, expr):
        if isinstance(expr, str):
            return expr
        if isinstance(expr, list):
            return [self.resolve(stack, e) for e in expr]
        (fn, arg), = expr.items()
        if fn == "Ref":
            pseudo = {"AWS::Partition": "aws", "AWS::Region": "{R}", "AWS::AccountId": "{A}", "AWS::URLSuffix": "amazonaws.com"}
            if arg in pseudo:
                return pseudo[arg]
            rtype, name = self.local(stack, arg)
            # Ref of a topic or a state machine is its ARN; of a queue its URL (not used in policies).
            return self.arn(stack, rtype, name) if rtype in ("AWS::SNS::Topic", "AWS::StepFunctions::StateMachine") else f"{{P}}-{name}"
        if fn == "Fn::GetAtt":
            logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            rtype, name = self.local(stack, logical)
            if attr in ("Arn", "StreamArn"):
                return self.arn(stack, rtype, name) + ("/stream/*" if attr == "StreamArn" else "")
            raise KeyError(f"{stack}: cannot resolve GetAtt {logical}.{attr}")
        if fn == "Fn::Join":
            sep, parts = arg
            return sep.join(self.resolve(stack, p) for p in parts)
        if fn == "Fn::ImportValue":
            name = self.resolve(stack, arg)
            if name not in self.exports:
                raise KeyError(f"{stack}: no export {name}")
            other, value = self.exports[name]
            return self.resolve(other, value)
        raise KeyError(f"{stack}: cannot resolve {fn}")


def tail(arn):
    """The part of an ARN after region and account: what the recorder writes."""
    if arn == "*":
        return "*"
    parts = arn.split(":", 5)
    return parts[5] if len(parts) == 6 else arn


def functions(stacks, resolver):
    """{function: [(actions, resource patterns, statement text)]} of every role of ours."""
    out = {}
    for stack, t in stacks.items():
        res = t["Resources"]
        for lid, r in res.items():
            desc = r.get("Properties", {}).get("Description", "")
            if r["Type"] != "AWS::Lambda::Function" or not re.fullmatch(r"[a-z]+/[a-z-]+", str(desc)):
                continue
            role = r["Properties"]["Role"]["Fn::GetAtt"][0]
            statements = []
            for pid, p in res.items():
                if p["Type"] != "AWS::IAM::Policy" or not any(x.get("Ref") == role for x in p["Properties"].get("Roles", [])):
                    continue
                for st in p["Properties"]["PolicyDocument"]["Statement"]:
                    actions = [a for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])
                               if not a.startswith(("logs:", "xray:"))]
                    if not actions:
                        continue
                    raw = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                    patterns = [tail(resolver.resolve(stack, x)) for x in raw]
                    statements.append(Statement(st.get("Effect", "Allow"), actions, patterns, raw, st.get("Condition")))
            out[desc] = statements
    return out


def functions_without_admin_mfa(stacks):
    """The functions deployed without `ADMIN_MFA_REQUIRED=true` (their admin gate never asks the pool)."""
    out = set()
    for t in stacks.values():
        for r in t["Resources"].values():
            props = r.get("Properties", {})
            if r["Type"] == "AWS::Lambda::Function" and re.fullmatch(r"[a-z]+/[a-z-]+", str(props.get("Description", ""))):
                if props.get("Environment", {}).get("Variables", {}).get("ADMIN_MFA_REQUIRED") != "true":
                    out.add(props["Description"])
    return out


class Statement:
    def __init__(self, effect, actions, patterns, raw, condition):
        self.effect, self.actions, self.patterns, self.raw, self.condition = effect, actions, patterns, raw, condition


def matches(pattern, resource):
    return fnmatch.fnmatchcase(resource, pattern.replace("{P}-", ""))


def allows(st, action, resource):
    """An unconditional Allow for the call (a conditional one cannot be evaluated here)."""
    return (st.effect == "Allow" and not st.condition and any(fnmatch.fnmatchcase(action, a) for a in st.actions)
            and any(matches(p, resource) for p in st.patterns))


def denies(st, action, resource):
    return (st.effect == "Deny" and any(fnmatch.fnmatchcase(action, a) for a in st.actions)
            and any(matches(p, resource) for p in st.patterns))


def cited_tests_missing():
    """Tests an explanation names (`tests/tests/<file>.rs name, name`) that the file lacks."""
    root = Path(__file__).resolve().parents[1]
    missing = []
    reasons = list(EXPLAINED_FOR.values()) + list(EXPLAINED.values()) + list(EXPLAINED_ON.values()) + [w for _, _, w in EXPLAINED_PATTERN]
    for why in reasons:
        for file, names in re.findall(r"(tests/tests/\w+\.rs) ([a-z0-9]+_[a-z0-9_]+(?:, [a-z0-9]+_[a-z0-9_]+)*)", why):
            text = (root / file).read_text()
            missing += [f"{file} {n}" for n in names.split(", ") if f"fn {n}(" not in text]
    return missing


def normalize(call):
    """A recorded call's resource with its stack prefix stripped (and the pool id, one per stack)."""
    r = call["resource"].replace(call["stack"] + "-", "")
    r = re.sub(r"^userpool/.+$", "userpool/{POOL}", r)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", default="target/tmp/aws-calls.jsonl")
    ap.add_argument("--templates", default="cdk.out/dev")
    ap.add_argument("--quiet", action="store_true", help="print failures and the summary only")
    a = ap.parse_args()
    calls_file = Path(a.calls)
    if not calls_file.exists():
        sys.exit(f"iam_check: no recorded calls at {calls_file} (run the tests or a local stack with SHOP_RECORD_AWS_CALLS)")
    stacks, exports = load_templates(a.templates)
    roles = functions(stacks, Resolver(stacks, exports))
    gated_off = functions_without_admin_mfa(stacks)

    recorded = defaultdict(set)
    for line in calls_file.read_text().splitlines():
        if line.strip():
            c = json.loads(line)
            # The admin gate's question to the pool, asked in a local stack that requires MFA of
            # admins, is held to the roles of stages that require it too (prod's), not to those of
            # stages that do not; every other call of that stack is checked as usual.
            if c.get("adminMfa") and c["function"] in gated_off and c["action"] == "cognito-idp:AdminGetUser":
                continue
            recorded[c["function"]].add((c["action"], normalize(c)))
    if not recorded:
        sys.exit("iam_check: the recording is empty: no handler call was checked")

    denied = []
    for fn, calls in sorted(recorded.items()):
        if fn not in roles:
            denied.append(f"{fn}: recorded calls, but no function with that description in {a.templates}")
            continue
        for action, resource in sorted(calls):
            if action in NO_IAM:
                continue
            if any(denies(st, action, resource) for st in roles[fn]):
                denied.append(f"{fn}: {action} on {resource} matches a Deny of its role")
            elif not any(allows(st, action, resource) for st in roles[fn]):
                have = "; ".join(f"{','.join(st.actions)} on {','.join(p.replace('{P}-', '') for p in st.patterns)}"
                                 for st in roles[fn] if st.effect == "Allow") or "none"
                denied.append(f"{fn}: {action} on {resource} is not allowed by its role. Statements it has: {have}")

    unexplained = [f"an explanation cites a test that does not exist: {t}" for t in cited_tests_missing()]
    print("| function | calls recorded | granted, never exercised |")
    print("|---|---|---|")
    for fn in sorted(roles):
        calls_of = recorded.get(fn, set())
        unused = []
        for st in roles[fn]:
            if st.effect != "Allow":
                continue
            if st.condition:
                unexplained.append(f"{fn}: a conditional statement ({','.join(st.actions)}) cannot be checked against recorded calls")
            for act in st.actions:
                for pattern in st.patterns:
                    shown = pattern.replace("{P}-", "")
                    if pattern == "*":
                        why = EXPLAINED_FOR.get((fn, act))
                        if why is None:
                            unexplained.append(f"{fn}: {act} granted on every resource (*)")
                            unused.append(f"**{act} on \\***")
                        continue
                    if any(fnmatch.fnmatchcase(c_act, act) and matches(pattern, res) for c_act, res in calls_of):
                        continue
                    why = (EXPLAINED_FOR.get((fn, act)) or EXPLAINED.get(act)
                           or next((w for k, w in EXPLAINED_FOR.items() if len(k) == 3 and k[:2] == (fn, act) and k[2] in shown), None)
                           or next((w for (x, prefix), w in EXPLAINED_ON.items() if x == act and prefix in json.dumps(st.raw)), None)
                           or next((w for x, rx, w in EXPLAINED_PATTERN if x == act and rx.match(shown)), None))
                    if why is None:
                        unexplained.append(f"{fn}: {act} granted on {shown}, which no recorded call touched, and no reason is recorded")
                        unused.append(f"**{act} on {shown}** (unexplained)")
                    else:
                        unused.append(f"{act} on {shown} ({why})")
        calls = ", ".join(f"{act} {res}" for act, res in sorted(calls_of)) or "none recorded"
        if not a.quiet:
            print(f"| {fn} | {calls} | {'; '.join(sorted(set(unused))) or 'none'} |")

    for d in denied:
        print(f"DENIED {d}", file=sys.stderr)
    for u in unexplained:
        print(f"UNUSED {u}", file=sys.stderr)
    n_calls = sum(len(v) for v in recorded.values())
    print(f"\niam_check: {n_calls} distinct calls of {len(recorded)} functions checked against {len(roles)} roles: "
          f"{len(denied)} denied, {len(unexplained)} unexplained unused grants")
    sys.exit(1 if denied or unexplained else 0)


if __name__ == "__main__":
    main()
