#!/usr/bin/env python3
"""moto's server (`moto_server`), with DynamoDB writes serialized as DynamoDB serializes them and
Cognito's confirmation verifying the email as Cognito's does.

moto 5.2.5's TransactWriteItems deep-copies every table it touches, applies the operations and, when
one fails, puts the copies back: all without a lock. A write that commits meanwhile is silently
undone by that rollback (a lost stock decrement: an oversell that real DynamoDB never shows), and a
write during the copy crashes it (`dictionary changed size during iteration`, an HTTP 500). Here
every DynamoDB write runs under one lock, so a transaction's copy, writes and rollback are atomic
with respect to all other writes, as DynamoDB's serializable transactions are. Reads are untouched.

moto 5.2.5's ConfirmSignUp marks the user CONFIRMED but leaves `email_verified` unset, so its ID
tokens never say the address is verified; Cognito sets `email_verified=true` when the code sent to
the address confirms the sign-up (AdminConfirmSignUp verifies nothing, in both). Here a confirmed
sign-up with an email gets `email_verified=true`, so the handlers' check of that claim behaves
locally as on AWS.

Cognito refuses a SignUp that writes an attribute its app client may not write
(`NotAuthorizedException: A client attempted to write unauthorized attribute`); moto 5.2.5 writes
anything. Here a client's WriteAttributes, when set, bound what SignUp may write, as on Cognito:
the local pool's client gets the CDK client's list, so an attribute the deployed client cannot
write fails locally too.

DynamoDB's contention, which moto has none of (no `TransactionConflict`, no throttling anywhere in
its source): a TransactWriteItems is in flight for a short time (SHOP_EMU_TRANSACTION_HOLD_MS,
default 20, about as long as a real transaction takes) and holds its items only while it is: its
writes are applied at once, its answer is sent when the flight ends, and the items are free from
then on, as on DynamoDB, where a transaction conflicts only with what overlaps it. Another
transaction touching one of them in flight is cancelled with `TransactionConflict` in its
cancellation reasons, and a single-item write to one gets `TransactionConflictException`
(DynamoDB developer guide, "Transaction conflict handling in DynamoDB"). An item written more often than SHOP_EMU_ITEM_WRITES_PER_SECOND (default
1000, a partition's write capacity) in one second answers `ThrottlingException` (developer guide,
"Throttling"). Reads never conflict. SHOP_EMU_CONTENTION=off turns both off.

Speed: moto's Step Functions interpreter (LocalStack's) parses every JSONPath it evaluates with a
new jsonpath-ng parser, and each new parser builds its LALR tables with ply (reading its own source
files): about two thirds of the emulator's CPU during an order's execution, measured with py-spy.
Parsed paths are cached here (a path's parse never changes), which changes no result. moto's
TransactWriteItems deep-copies every table it touches to roll back a cancelled transaction: its
cost grows with the tables (the Orders table grows with every order). Here only the items the
transaction touches are snapshotted (and the tables' stream records since), which rolls back the
same writes. The interpreter also parses the whole ASL with ANTLR and builds its evaluation
components for every execution (a third of the CPU under load, then the visit alone again a
third): the program of a definition is built once and shared (its components hold no execution
state), and its SDK clients are made once per region and service instead of once per task. The request log of every call is off (SHOP_EMU_REQUEST_LOG=on brings it
back).

moto 5.2.5 has no ResendConfirmationCode (a newcomer's resend answered 503 locally). Here it does
what Cognito does: a new code mailed to the unconfirmed user's address (kept in the emulator's SES
outbox, so `GET /_local/emails` shows it like every other email, from Cognito's default sender),
`CodeDeliveryDetails` with the address masked; an unknown user is `UserNotFoundException`, a
confirmed one `InvalidParameterException` (Cognito API reference, ResendConfirmationCode).

Client secrets: Cognito refuses every call an app client with a secret authorizes unless it carries
the `SECRET_HASH` of its username (`NotAuthorizedException: Client ... is configured with secret
but SECRET_HASH was not received`); moto 5.2.5 checks it only in InitiateAuth's SRP and refresh
flows and in RespondToAuthChallenge (over Latin-1: any other character in a username made that a
500; here UTF-8, as Cognito), and lets USER_PASSWORD_AUTH, SignUp, ConfirmSignUp,
ResendConfirmationCode, ForgotPassword and ConfirmForgotPassword through without it: a direct call with the public client id alone, the
very path the secret closes, would succeed locally only. Here those refuse it too. moto has no
GetTokensFromRefreshToken (a refresh with the client secret instead of a username's hash): here it
issues new tokens from a live refresh token of that client, given the client's secret when it has
one (Cognito API reference, GetTokensFromRefreshToken).

Code emails: Cognito mails a confirmation code at SignUp and at ResendConfirmationCode, and a pool
with a CustomMessage trigger lets its Lambda write that email (Cognito developer guide, "Custom
message Lambda trigger"); moto 5.2.5 mails nothing at SignUp and has no triggers. Here both mail
the code (to the emulator's SES outbox, from Cognito's default sender), and a pool whose
CustomMessage trigger is registered (`POST /moto-api/shop/triggers` with `{"userPoolId",
"trigger": "CustomMessage", "url"}`: the local runner registers its function's endpoint) gets its
subject and body from the trigger's answer, `{####}` replaced by the code. A trigger that fails or
answers without the code placeholder fails the call (`UserLambdaValidationException`,
`InvalidLambdaResponseException`), as on Cognito.

Fault injection: with SHOP_EMU_SES_FAILURE_RATE (0..1, set by `shop-local --chaos` with the
`ses-failure` kind when the runner starts the emulator) that fraction of SESv2 sends is refused
with `MessageRejected`, as SES refuses a message, so the workflow's own emails fail too.

TOTP: moto answers every software-token code as valid unless MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP
is true; it is set here so a wrong code is refused, as Cognito refuses it.

Arguments are moto_server's (`-H 127.0.0.1 -p 5000`).
"""
import collections
import copy
import functools
import json
import os
import sys
import threading
import time

os.environ.setdefault("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")

from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPool, NotAuthorizedError  # noqa: E402
from moto.dynamodb.exceptions import DynamodbException, TransactionCanceledException  # noqa: E402
from moto.dynamodb import models as dynamodb_models  # noqa: E402
from moto.ses.exceptions import MessageRejectedError  # noqa: E402
from moto.dynamodb.models import DynamoDBBackend  # noqa: E402
from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402
from moto.s3.responses import S3Response  # noqa: E402
from moto.server import main

_WRITES = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _WRITES:
            return method(*args, **kwargs)
    return wrapper


class TransactionConflict(DynamodbException):
    """A single-item write to an item a transaction holds (HTTP 400, as DynamoDB answers it)."""

    def __init__(self):
        super().__init__("com.amazonaws.dynamodb.v20120810#TransactionConflictException",
                         "Transaction is ongoing for the item")


class Throttled(DynamodbException):
    """More writes to one item per second than its partition takes."""

    def __init__(self):
        super().__init__("com.amazonaws.dynamodb.v20120810#ThrottlingException",
                         "Throughput exceeds the current capacity for one or more global secondary indexes or partitions")


class Contention:
    """Which items transactions in flight hold, and how often each item was written in the last
    second.

    Items are `(table, key)` with the key as DynamoDB JSON; `clock` is seconds (monotonic), `sleep`
    waits. A transaction holds its items from its check until `land` ends its flight:
    `hold_for(item)` seconds after its start, read while it waits (so a test can end a long flight
    by re-tagging), the configured hold where that says None."""

    def __init__(self, hold_seconds, writes_per_second, clock=time.monotonic, sleep=time.sleep):
        self.hold, self.rate, self.clock, self.sleep = hold_seconds, writes_per_second, clock, sleep
        self.held = {}
        self.writes = collections.defaultdict(collections.deque)
        # Landing runs outside the write lock: every change to `held` takes this one, so a landing
        # never frees an item in a dict a prune has just replaced (the hold would stay for a minute).
        self.lock = threading.RLock()

    def land(self, items, hold_for=None):
        """Ends the flight of this thread's transaction on `items`: waits until each item's hold
        since its start has passed, then frees them (the answer goes out after this). A
        transaction cancelled at its check holds nothing, and waits for nothing."""
        me = threading.get_ident()
        with self.lock:
            mine = [i for i in items if self.held.get(i, (None, None))[1] == me]
            if not mine:
                return
            start = min(self.held[i][0] for i in mine)
        while True:
            holds = [hold_for(i) if hold_for else None for i in items]
            until = start + max(self.hold if h is None else h for h in holds)
            left = until - self.clock()
            if left <= 0:
                break
            self.sleep(min(left, 0.01))
        with self.lock:
            for i in mine:
                self.held.pop(i, None)

    def _prune(self, now):
        """Forgets items neither held nor written in the last second (a long session writes many)."""
        self.writes = collections.defaultdict(collections.deque, {k: v for k, v in self.writes.items() if v and v[-1] > now - 1.0})
        self.held = {k: (start, owner) for k, (start, owner) in self.held.items() if start > now - 60.0}

    def _count_write(self, item, now):
        if len(self.writes) > 50_000:
            self._prune(now)
        times = self.writes[item]
        while times and times[0] <= now - 1.0:
            times.popleft()
        if len(times) >= self.rate:
            raise Throttled()
        times.append(now)

    def transaction(self, items):
        """Before a transaction writes `items`: the indexes of those another transaction in flight
        holds (the transaction is then cancelled); otherwise it holds them all until it lands and
        its writes count."""
        now = self.clock()
        with self.lock:
            conflicts = [i for i, item in enumerate(items) if item in self.held]
            if conflicts:
                return conflicts
            for item in items:
                self._count_write(item, now)
            for item in items:
                self.held[item] = (now, threading.get_ident())
            return []

    def write(self, item):
        """Before a single-item write: refused while a transaction in flight holds the item, or
        throttled."""
        with self.lock:
            if item in self.held:
                raise TransactionConflict()
            self._count_write(item, self.clock())


def key_of(backend, table_name, key=None, item=None):
    """The key of a write: its Key, or the key attributes of the Item it puts."""
    if key is not None:
        return key
    table = backend.get_table(table_name)
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {n: item[n] for n in names if n in (item or {})}


def item_id(backend, table_name, key=None, item=None):
    """`(table, key)` of a write, the key as canonical JSON."""
    return table_name, json.dumps(key_of(backend, table_name, key, item), sort_keys=True)


# A table tagged with this key keeps its transactions in flight for that many milliseconds instead,
# read while they wait: a test keeps one in flight on purpose (on its own table only) and lands it
# by tagging 0.
HOLD_TAG = "shop-emu:transaction-hold-ms"


def table_hold(backend, table_name):
    """The hold a table's tag asks for, in seconds; None for the configured one."""
    tags = getattr(backend.get_table(table_name), "tags", None) or []
    # The last tag written wins (moto appends a re-tagged key).
    ms = next((t["Value"] for t in reversed(tags) if t.get("Key") == HOLD_TAG), None)
    return float(ms) / 1000 if ms is not None else None


def transaction_items(backend, transact_items):
    out = []
    for entry in transact_items:
        (_, op), = entry.items()
        out.append(item_id(backend, op["TableName"], op.get("Key"), op.get("Item")))
    return out


class _NoTableCopy:
    """moto's models module's `copy`, except that a whole table is not deep-copied: the
    transaction wrapper below snapshots the items it touches instead."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, memo=None):
        return x if isinstance(x, Table) else copy.deepcopy(x, memo)


def with_item_snapshots(backend_cls):
    """A transaction rolls back by its touched items (and their tables' new stream records)."""
    transact = backend_cls.transact_write_items

    def transact_write_items(self, transact_items):
        snapshots, streams = [], {}
        for entry in transact_items:
            (_, op), = entry.items()
            table = self.get_table(op["TableName"])
            key = key_of(self, op["TableName"], op.get("Key"), op.get("Item"))
            h = DynamoType(key[table.hash_key_attr])
            r = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            current = table.items.get(h, {}).get(r) if r is not None else table.items.get(h)
            snapshots.append((table, h, r, copy.deepcopy(current)))
            if table.stream_shard is not None:
                streams.setdefault(id(table), (table.stream_shard, len(table.stream_shard.items)))
        try:
            return transact(self, transact_items)
        except Exception:
            for table, h, r, item in reversed(snapshots):
                slot = table.items if r is None else table.items[h]
                k = h if r is None else r
                if item is None:
                    slot.pop(k, None)
                else:
                    slot[k] = item
            for shard, length in streams.values():
                del shard.items[length:]
            raise

    backend_cls.transact_write_items = transact_write_items
    dynamodb_models.copy = _NoTableCopy()


def with_flights(backend_cls, contention):
    """Outermost (outside the write lock): a transaction's answer waits out its flight, then its
    items are free. One cancelled by a conflict at its check held nothing and answers at once."""
    transact = backend_cls.transact_write_items

    def transact_write_items(self, transact_items):
        items = transaction_items(self, transact_items)
        try:
            return transact(self, transact_items)
        finally:
            contention.land(items, lambda item: table_hold(self, item[0]))

    backend_cls.transact_write_items = functools.wraps(transact)(transact_write_items)


def with_contention(backend_cls, contention):
    """Wraps the backend's writes with `contention`: transactions first, single writes after."""
    transact = backend_cls.transact_write_items
    # moto applies a transaction's items through the single-item writes: those are the transaction's own.
    inside = threading.local()

    def transact_write_items(self, transact_items):
        conflicts = contention.transaction(transaction_items(self, transact_items))
        if conflicts:
            raise TransactionCanceledException([
                ("TransactionConflict", "Transaction is ongoing for the item", None) if i in conflicts else (None, None, None)
                for i in range(len(transact_items))
            ])
        inside.active = True
        try:
            return transact(self, transact_items)
        finally:
            inside.active = False

    backend_cls.transact_write_items = transact_write_items
    for name, key_arg in (("put_item", None), ("update_item", "key"), ("delete_item", "key")):
        original = getattr(backend_cls, name)

        def write(self, table_name, *args, _original=original, _key_arg=key_arg, **kwargs):
            first = kwargs.get("key" if _key_arg else "item_attrs", args[0] if args else None)
            if not getattr(inside, "active", False):
                item = item_id(self, table_name, first if _key_arg else None, None if _key_arg else first)
                contention.write(item)
            return _original(self, table_name, *args, **kwargs)

        setattr(backend_cls, name, functools.wraps(original)(write))


if os.environ.get("SHOP_EMU_SPEEDUPS", "on") != "off":
    with_item_snapshots(DynamoDBBackend)

_CONTENTION = None
if os.environ.get("SHOP_EMU_CONTENTION", "on") != "off":
    _CONTENTION = Contention(
        hold_seconds=float(os.environ.get("SHOP_EMU_TRANSACTION_HOLD_MS", "20")) / 1000,
        writes_per_second=int(os.environ.get("SHOP_EMU_ITEM_WRITES_PER_SECOND", "1000")),
    )
    with_contention(DynamoDBBackend, _CONTENTION)

# Serialized, so a transaction's check, writes and rollback are one step for every other writer.
for _name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
    setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))

if _CONTENTION is not None:
    with_flights(DynamoDBBackend, _CONTENTION)

_confirm_sign_up = CognitoIdpBackend.confirm_sign_up


def _confirm_and_verify_email(self, client_id, username):
    # Cognito refuses to confirm a confirmed user (NotAuthorizedException, whatever the code);
    # moto confirms it again.
    for pool in self.user_pools.values():
        if client_id in pool.clients:
            user = pool._get_user(username)
            if user is not None and user.status == "CONFIRMED":
                raise NotAuthorizedError("User cannot be confirmed. Current status is CONFIRMED")
    answer = _confirm_sign_up(self, client_id, username)
    for pool in self.user_pools.values():
        if client_id in pool.clients:
            user = self.admin_get_user(pool.id, username)
            if any(a["Name"] == "email" for a in user.attributes):
                user.update_attributes([{"Name": "email_verified", "Value": "true"}])
    return answer


CognitoIdpBackend.confirm_sign_up = _confirm_and_verify_email

_sign_up = CognitoIdpBackend.sign_up


def unwritable_attributes(client_config, attributes):
    """The names in `attributes` that a client with `client_config` may not write (none when the
    client sets no WriteAttributes: Cognito then lets it write every attribute)."""
    allowed = client_config.get("WriteAttributes")
    if allowed is None:
        return []
    return [a["Name"] for a in attributes or [] if a["Name"] not in allowed]


def _sign_up_within_write_attributes(self, client_id, username, password, attributes):
    for pool in self.user_pools.values():
        client = pool.clients.get(client_id)
        if client is not None and unwritable_attributes(client.extended_config, attributes):
            raise NotAuthorizedError("A client attempted to write unauthorized attribute")
    return _sign_up(self, client_id, username, password, attributes)


CognitoIdpBackend.sign_up = _sign_up_within_write_attributes


def tokens_carry_the_pools_issuer(pool_cls):
    """A pool created with `IssuerConfiguration: {"Type": "UPDATED"}` issues tokens whose `iss` is
    `https://issuer-cognito-idp.<region>.amazonaws.com/<pool>` (Cognito API reference,
    IssuerConfigurationType); moto always writes the ORIGINAL `https://cognito-idp...`. Its
    `create_jwt` applies `extra_data` last, so the issuer goes in there."""
    original = pool_cls.create_jwt

    def create_jwt(self, client_id, username, token_use, expires_in=60 * 60, extra_data=None):
        if (self.extended_config.get("IssuerConfiguration") or {}).get("Type") == "UPDATED":
            extra_data = {**(extra_data or {}), "iss": f"https://issuer-cognito-idp.{self.region}.amazonaws.com/{self.id}"}
        return original(self, client_id, username, token_use, expires_in, extra_data)

    pool_cls.create_jwt = create_jwt


tokens_carry_the_pools_issuer(CognitoIdpUserPool)


def copy_only_if_the_source_matches(response_cls):
    """CopyObject with `x-amz-copy-source-if-match` copies only while the source still has that
    ETag; S3 answers 412 PreconditionFailed otherwise (S3 API reference, CopyObject). moto honours
    `-if-none-match` and ignores `-if-match`."""
    from urllib.parse import parse_qs, unquote, urlparse

    from moto.s3.exceptions import PreconditionFailed

    original = response_cls.copy_object

    def copy_object(self):
        wanted = self.headers.get("x-amz-copy-source-if-match")
        if wanted:
            source = self.headers.get("x-amz-copy-source")
            if isinstance(source, bytes):
                source = source.decode("utf-8")
            parsed = urlparse(source)
            bucket, key = unquote(parsed.path).lstrip("/").split("/", 1)
            version = parse_qs(parsed.query).get("versionId", [None])[0]
            current = self.backend.get_object(bucket, key, version_id=version)
            if current is not None and wanted.strip('"') != current.etag.strip('"'):
                raise PreconditionFailed(failed_condition="x-amz-copy-source-If-Match")
        return original(self)

    response_cls.copy_object = copy_object


copy_only_if_the_source_matches(S3Response)

def cache_jsonpath_parsing():
    """Memoizes the interpreter's JSONPath parsing (module globals, looked up at each call)."""
    import jsonpath_ng
    import jsonpath_ng.ext
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    json_path.parse = functools.lru_cache(maxsize=4096)(jsonpath_ng.ext.parse)
    result_path.parse = functools.lru_cache(maxsize=4096)(jsonpath_ng.parse)


def cache_asl_programs():
    """Keeps the program of each state machine definition: the ANTLR parse and the preprocessor's
    visit that builds the evaluation components, once per definition instead of once per
    execution (the visit alone was a third of the emulator's CPU at 8 orders a second). Sharing
    is safe: the components hold no execution state (each execution's lives in its own
    Environment; the Map state's workers are made per evaluation), which the interpreter itself
    relies on when one Map iteration program runs in many worker threads at once."""
    from moto.stepfunctions.parser.asl.parse import asl_parser

    parse = asl_parser.AmazonStateLanguageParser.parse
    programs = {}
    lock = threading.Lock()

    def cached(definition):
        with lock:
            got = programs.get(definition)
        if got is None:
            got = parse(definition)
            with lock:
                if len(programs) < 256:
                    programs[definition] = got
        return got

    asl_parser.AmazonStateLanguageParser.parse = staticmethod(cached)


# The interpreter's task modules, which each import boto_client_for by name.
_TASK_MODULES = [f"moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_{s}"
                 for s in ("dynamodb", "aws_sdk", "sns", "sqs", "sfn", "events", "unsupported")]


def reuse_task_clients():
    """One boto3 client per (region, service, role) for the interpreter's tasks (clients are
    thread-safe), instead of a new one per task."""
    import importlib

    from moto.stepfunctions.parser.asl.utils import boto_client

    make = boto_client.boto_client_for
    clients = {}
    lock = threading.Lock()

    def client_for(region, service, state_credentials=None):
        # moto's boto_client_for signs with fixed keys whatever the state's role: one client per role.
        key = (region, service, getattr(state_credentials, "role_arn", None))
        with lock:
            if key not in clients:
                clients[key] = make(region, service, state_credentials)
            return clients[key]

    for name in _TASK_MODULES:
        importlib.import_module(name).boto_client_for = client_for


def cache_backend_lookup():
    """Remembers which backend serves a host: moto's dispatcher answers it for every request by
    listing its own modules on disk (a directory check per module) and then matching every
    service's URL patterns, a fixed answer per host (6 % of the emulator's CPU under load)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    lookup = DomainDispatcherApplication.get_backend_for_host
    known = {}

    def get_backend_for_host(self, host):
        if host not in known:
            backend = lookup(self, host)
            if backend is None or len(known) >= 1024:
                return backend
            known[host] = backend
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host


# SHOP_EMU_SPEEDUPS=off runs moto's interpreter and transactions as shipped (for a side-by-side
# benchmark, or to rule the patches out when chasing an emulator fault).
if os.environ.get("SHOP_EMU_SPEEDUPS", "on") != "off":
    cache_jsonpath_parsing()
    cache_asl_programs()
    reuse_task_clients()
    cache_backend_lookup()

if os.environ.get("SHOP_EMU_REQUEST_LOG", "off") != "on":
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

def with_ses_failures(backend_cls, rate, draw):
    """Refuses a fraction `rate` of the backend's sends (`draw()` uniform in [0, 1))."""
    send = backend_cls.send_email

    def send_email(self, *args, **kwargs):
        if draw() < rate:
            raise MessageRejectedError("chaos: the message was rejected")
        return send(self, *args, **kwargs)

    backend_cls.send_email = send_email


if float(os.environ.get("SHOP_EMU_SES_FAILURE_RATE", "0") or 0) > 0:
    import random

    from moto.sesv2.models import SESV2Backend

    with_ses_failures(SESV2Backend, float(os.environ["SHOP_EMU_SES_FAILURE_RATE"]), random.random)

COGNITO_SENDER = "no-reply@verificationemail.com"


def resend_confirmation_code(backend, ses, client_id, username, code):
    """Mails `code` to the unconfirmed user `username` of the pool of `client_id` through `ses`
    (moto's SES backend of the same account and region); Cognito's answer."""
    from moto.cognitoidp.exceptions import InvalidParameterException, ResourceNotFoundError
    from moto.cognitoidp.models import UserStatus

    pool = next((p for p in backend.user_pools.values() if client_id in p.clients), None)
    if pool is None:
        raise ResourceNotFoundError(client_id)
    user = backend.admin_get_user(pool.id, username)
    if user.status == UserStatus.CONFIRMED:
        raise InvalidParameterException("User is already confirmed.")
    email = next((a["Value"] for a in user.attributes if a["Name"] == "email"), None)
    if email is None:
        raise InvalidParameterException("User has no email to send a code to.")
    mail_code(ses, email, code_email(backend, pool, client_id, user, "CustomMessage_ResendCode", code))
    local, _, domain = email.partition("@")
    return {"CodeDeliveryDetails": {"Destination": f"{local[:1]}***@{domain[:1]}***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}}


# The registered triggers: (user pool id, trigger) -> the URL that runs the function.
TRIGGERS = {}


def trigger_failure(code, message):
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message)


def code_email(backend, pool, client_id, user, source, code, post=None):
    """(subject, body) of the email that carries `code` to `user`: the pool's CustomMessage
    trigger's, when one is registered, else Cognito's default. `post(url, event)` runs the trigger
    (default: an HTTP POST of the event, its JSON answer)."""
    default = ("Your verification code", f"Your confirmation code is {code}")
    url = TRIGGERS.get((pool.id, "CustomMessage"))
    if url is None:
        return default
    attributes = {a["Name"]: a["Value"] for a in user.attributes}
    attributes["cognito:user_status"] = str(user.status)
    attributes.setdefault("sub", user.id)
    event = {
        "version": "1",
        "triggerSource": source,
        "region": backend.region_name,
        "userPoolId": pool.id,
        "userName": user.username,
        "callerContext": {"awsSdkVersion": "shop-emulator", "clientId": client_id},
        "request": {"userAttributes": attributes, "codeParameter": "{####}", "linkParameter": "{##Click Here##}", "usernameParameter": None},
        "response": {"smsMessage": None, "emailMessage": None, "emailSubject": None},
    }
    try:
        answer = (post or post_json)(url, event)
    except Exception as e:  # the function failed or could not be reached
        raise trigger_failure("UserLambdaValidationException", f"CustomMessage failed with error {e}.")
    response = (answer or {}).get("response") or {}
    message = response.get("emailMessage")
    if message is None:
        return default
    if "{####}" not in message:
        raise trigger_failure("InvalidLambdaResponseException", "The custom message has no code placeholder {####}.")
    return (response.get("emailSubject") or default[0], message.replace("{####}", code))


def post_json(url, event):
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(event).encode(), headers={"content-type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=5) as r:
        return json.loads(r.read())


def mail_code(ses, email, subject_and_body):
    subject, body = subject_and_body
    ses.verify_email_identity(COGNITO_SENDER)
    ses.send_email(COGNITO_SENDER, subject, body, {"ToAddresses": [email]})


def add_trigger_registration():
    """`POST /moto-api/shop/triggers {"userPoolId", "trigger", "url"}`: the pool's trigger runs at `url`."""
    from moto.moto_api._internal import urls

    def register(request, full_url, headers):
        body = json.loads(request.get_data() or b"{}")
        TRIGGERS[(body["userPoolId"], body["trigger"])] = body["url"]
        return 200, {"Content-Type": "application/json"}, json.dumps({"registered": True})

    urls.url_paths["{0}/moto-api/shop/triggers"] = register


def mail_sign_up_codes():
    """SignUp mails a confirmation code to the new user's email, as Cognito's does (moto mails none)."""
    import random

    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.ses.models import ses_backends

    sign_up = CognitoIdpResponse.sign_up

    @functools.wraps(sign_up)
    def handler(self):
        answer = sign_up(self)
        client_id, username = self._get_param("ClientId"), self._get_param("Username")
        backend = self._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
        pool = next((p for p in backend.user_pools.values() if client_id in p.clients), None)
        user = pool._get_user(username) if pool is not None else None
        email = next((a["Value"] for a in user.attributes if a["Name"] == "email"), None) if user is not None else None
        if email is not None:
            ses = ses_backends[backend.account_id][backend.region_name]
            code = f"{random.randint(0, 999999):06d}"
            mail_code(ses, email, code_email(backend, pool, client_id, user, "CustomMessage_SignUp", code))
        return answer

    CognitoIdpResponse.sign_up = handler


def add_resend_confirmation_code():
    import random

    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.responses import ActionResult
    from moto.ses.models import ses_backends

    def handler(self):
        client_id, username = self._get_param("ClientId"), self._get_param("Username")
        backend = self._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
        ses = ses_backends[backend.account_id][backend.region_name]
        return ActionResult(resend_confirmation_code(backend, ses, client_id, username, f"{random.randint(0, 999999):06d}"))

    CognitoIdpResponse.resend_confirmation_code = handler


add_resend_confirmation_code()


def client_of(backend, client_id):
    """The app client `client_id` of one of `backend`'s pools, or None."""
    return next((p.clients[client_id] for p in backend.user_pools.values() if client_id in p.clients), None)


def check_secret_hash(app_client_secret, app_client_id, username, secret_hash):
    """Whether `secret_hash` is the SECRET_HASH of `username` for the client: Base64 of the
    HMAC-SHA256 of the username and client id, keyed with the secret, over their UTF-8 bytes, as
    Cognito computes it. moto 5.2.5 encodes them as Latin-1, so any other character in a username
    (`Ω`, an emoji) made its check fail with a 500."""
    import base64
    import hashlib
    import hmac

    digest = hmac.new(str(app_client_secret).encode("utf-8"), f"{username}{app_client_id}".encode("utf-8"), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), secret_hash or "")


def secret_hash_refusal(client, username, secret_hash):
    """Cognito's refusal of a call for `username` by `client` that lacks the right SECRET_HASH
    (None: the call may go on)."""
    if client is None or not client.generate_secret:
        return None
    if secret_hash is None:
        return f"Client {client.id} is configured with secret but SECRET_HASH was not received"
    if not check_secret_hash(client.secret, client.id, username, secret_hash):
        return f"Unable to verify secret hash for client {client.id}"
    return None


def require_secret_hashes():
    from moto.cognitoidp import models as cognito_models
    from moto.cognitoidp.responses import CognitoIdpResponse

    # moto's own checks (InitiateAuth, RespondToAuthChallenge) call the name it imported.
    cognito_models.check_secret_hash = check_secret_hash

    def checked(handler):
        @functools.wraps(handler)
        def call(self):
            client_id = self._get_param("ClientId")
            backend = self._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
            refusal = secret_hash_refusal(client_of(backend, client_id), self._get_param("Username"), self._get_param("SecretHash"))
            if refusal is not None:
                raise NotAuthorizedError(refusal)
            return handler(self)

        return call

    for name in ("sign_up", "confirm_sign_up", "resend_confirmation_code", "forgot_password", "confirm_forgot_password"):
        setattr(CognitoIdpResponse, name, checked(getattr(CognitoIdpResponse, name)))

    # moto checks the hash of InitiateAuth's SRP and refresh flows, not of USER_PASSWORD_AUTH.
    initiate_auth = CognitoIdpResponse.initiate_auth

    @functools.wraps(initiate_auth)
    def initiate_auth_checked(self):
        if self._get_param("AuthFlow") == "USER_PASSWORD_AUTH":
            client_id = self._get_param("ClientId")
            params = self._get_param("AuthParameters") or {}
            backend = self._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
            refusal = secret_hash_refusal(client_of(backend, client_id), params.get("USERNAME", ""), params.get("SECRET_HASH"))
            if refusal is not None:
                raise NotAuthorizedError(refusal)
        return initiate_auth(self)

    CognitoIdpResponse.initiate_auth = initiate_auth_checked


def tokens_from_refresh_token(backend, client_id, client_secret, refresh_token):
    """GetTokensFromRefreshToken's answer: new ID and access tokens (rotation off: no new refresh
    token) for a live refresh token issued to `client_id`, whose secret must be given if it has one."""
    pool = next((p for p in backend.user_pools.values() if client_id in p.clients), None)
    if pool is None:
        from moto.cognitoidp.exceptions import ResourceNotFoundError

        raise ResourceNotFoundError(client_id)
    client = pool.clients[client_id]
    if client.generate_secret and client_secret != client.secret:
        raise NotAuthorizedError(f"Unable to verify secret hash for client {client_id}")
    issued = pool.refresh_tokens.get(refresh_token)
    if issued is None or issued[0] != client_id:
        raise NotAuthorizedError("Invalid Refresh Token")
    access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(refresh_token)
    return {"AuthenticationResult": {"IdToken": id_token, "AccessToken": access_token, "ExpiresIn": expires_in, "TokenType": "Bearer"}}


def add_get_tokens_from_refresh_token():
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.responses import ActionResult

    def handler(self):
        client_id = self._get_param("ClientId")
        backend = self._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
        return ActionResult(tokens_from_refresh_token(backend, client_id, self._get_param("ClientSecret"), self._get_param("RefreshToken")))

    CognitoIdpResponse.get_tokens_from_refresh_token = handler


add_trigger_registration()
mail_sign_up_codes()
require_secret_hashes()
add_get_tokens_from_refresh_token()

if __name__ == "__main__":
    sys.exit(main())
