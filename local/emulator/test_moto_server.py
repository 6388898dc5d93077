"""The emulator's patches, each against the AWS behaviour it copies (local/emulator/moto_server.py)."""
import json
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import moto_server as emu  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402

# The emulator's stand-in region for these in-process tests (no real region is meant).
REGION = "test-region-1"
from moto.dynamodb.exceptions import TransactionCanceledException  # noqa: E402


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def item(key):
    return ("Products", json.dumps({"id": {"S": key}}, sort_keys=True))


class ContentionTest(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.c = emu.Contention(hold_seconds=0.02, writes_per_second=3, clock=self.clock, sleep=self.clock.sleep)

    def test_a_transaction_touching_a_held_item_conflicts_on_that_item_only(self):
        self.assertEqual(self.c.transaction([item("a"), item("b")]), [])
        self.assertEqual(self.c.transaction([item("c"), item("b")]), [1])
        # Cancelled by the conflict, it holds nothing: c is free.
        self.assertEqual(self.c.transaction([item("c")]), [])

    def test_a_transaction_holds_its_items_only_until_it_lands_after_its_flight(self):
        self.c.transaction([item("a")])
        self.clock.now += 5.0
        self.assertEqual(self.c.transaction([item("a")]), [0], "still in flight: time alone frees nothing")
        started = self.clock.now = 200.0
        self.c.held = {}
        self.c.transaction([item("a")])
        self.c.land([item("a")])
        self.assertGreaterEqual(round(self.clock.now - started, 6), 0.02, "landed before its flight ended")
        self.assertEqual(self.c.transaction([item("a")]), [], "answered, but still holding")

    def test_landing_a_transaction_cancelled_at_its_check_frees_nobody_elses_items(self):
        import threading
        other = threading.Thread(target=lambda: self.c.transaction([item("a")]))
        other.start()
        other.join()
        self.assertEqual(self.c.transaction([item("a")]), [0])
        self.c.land([item("a")])
        self.assertIn(item("a"), self.c.held, "a conflicting transaction freed the holder's item")

    def test_a_single_write_to_a_held_item_is_a_transaction_conflict(self):
        self.c.transaction([item("a")])
        with self.assertRaises(emu.TransactionConflict) as e:
            self.c.write(item("a"))
        self.assertTrue(e.exception.error_type.endswith("#TransactionConflictException"))
        self.c.write(item("b"))

    def test_writes_above_the_item_rate_are_throttled_for_the_rest_of_the_second(self):
        for _ in range(3):
            self.c.write(item("a"))
        with self.assertRaises(emu.Throttled) as e:
            self.c.write(item("a"))
        self.assertTrue(e.exception.error_type.endswith("#ThrottlingException"))
        self.c.write(item("b"))
        self.clock.now += 1.0
        self.c.write(item("a"))


class PruneTest(unittest.TestCase):
    def test_a_long_session_forgets_items_it_no_longer_needs_and_keeps_current_holds(self):
        clock = Clock()
        c = emu.Contention(hold_seconds=0.02, writes_per_second=1000, clock=clock)
        for n in range(50_001):
            c.write(item(f"old{n}"))
        c.transaction([item("held")])
        clock.now += 2.0
        c.write(item("new"))
        self.assertLessEqual(len(c.writes), 2, "old items were kept")
        self.assertIn(item("held"), c.held, "a hold younger than a minute was dropped")


class FakeTable:
    hash_key_attr, range_key_attr = "id", None

    def __init__(self, tags=()):
        self.tags = list(tags)


class FakeBackend:
    """The writes moto's backend has, recording what reached them; the transaction applies its
    items through the single-item writes, as moto's does."""

    def __init__(self):
        self.done = []
        self.tables = {"Products": FakeTable(), "Slow": FakeTable([{"Key": emu.HOLD_TAG, "Value": "500"}])}

    def get_table(self, name):
        return self.tables[name]

    def put_item(self, table_name, item_attrs, *rest, **kw):
        self.done.append(("put", table_name, item_attrs["id"]["S"]))

    def update_item(self, table_name, key, *rest, **kw):
        self.done.append(("update", table_name, key["id"]["S"]))

    def delete_item(self, table_name, key, *rest, **kw):
        self.done.append(("delete", table_name, key["id"]["S"]))

    def transact_write_items(self, transact_items):
        for entry in transact_items:
            (kind, op), = entry.items()
            if kind == "Put":
                self.put_item(op["TableName"], op["Item"])
            elif kind == "Update":
                self.update_item(op["TableName"], op["Key"], "SET x = :x")


def update(key):
    return {"Update": {"TableName": "Products", "Key": {"id": {"S": key}}}}


class WiringTest(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        cls = type("Backend", (FakeBackend,), {})
        # Without flights: a transaction stays in flight after its call, as if still unanswered.
        emu.with_contention(cls, emu.Contention(hold_seconds=0.02, writes_per_second=1000, clock=self.clock))
        self.db = cls()

    def test_an_overlapping_transaction_is_cancelled_with_transaction_conflict_in_its_reasons(self):
        self.db.transact_write_items([update("hot"), {"Put": {"TableName": "Products", "Item": {"id": {"S": "new"}}}}])
        with self.assertRaises(TransactionCanceledException) as e:
            self.db.transact_write_items([update("cold"), update("hot")])
        reasons = json.loads(e.exception.description)["CancellationReasons"]
        self.assertEqual([r["Code"] for r in reasons], ["None", "TransactionConflict"])
        self.assertEqual(self.db.done, [("update", "Products", "hot"), ("put", "Products", "new")], "the cancelled one wrote nothing")

    def test_a_transaction_applies_its_own_items_without_conflicting_with_itself(self):
        self.db.transact_write_items([update("a"), update("b")])
        self.assertEqual(len(self.db.done), 2)

    def test_a_single_write_to_an_item_a_transaction_holds_is_refused_and_a_read_would_not_be(self):
        self.db.transact_write_items([update("hot")])
        with self.assertRaises(emu.TransactionConflict):
            self.db.put_item("Products", {"id": {"S": "hot"}})
        with self.assertRaises(emu.TransactionConflict):
            self.db.delete_item("Products", {"id": {"S": "hot"}})
        self.db.update_item("Products", {"id": {"S": "cold"}}, "SET x = :x")


class FlightTest(unittest.TestCase):
    """`with_flights`: the answer waits out the flight, and the items are free once it is sent."""

    def setUp(self):
        self.clock = Clock()
        cls = type("Backend", (FakeBackend,), {})
        self.contention = emu.Contention(hold_seconds=0.02, writes_per_second=1000, clock=self.clock, sleep=self.clock.sleep)
        emu.with_contention(cls, self.contention)
        emu.with_flights(cls, self.contention)
        self.db = cls()

    def test_a_transaction_answers_after_its_flight_and_frees_its_items_then(self):
        started = self.clock.now
        self.db.transact_write_items([update("hot")])
        self.assertGreaterEqual(round(self.clock.now - started, 6), 0.02)
        self.assertEqual(self.contention.held, {})
        self.db.transact_write_items([update("hot")])
        self.db.put_item("Products", {"id": {"S": "hot"}})

    def test_a_table_tagged_with_a_hold_stays_in_flight_that_long_read_while_it_waits(self):
        slow = {"Update": {"TableName": "Slow", "Key": {"id": {"S": "x"}}}}
        started = self.clock.now
        self.db.transact_write_items([slow, update("p")])
        self.assertGreaterEqual(self.clock.now - started, 0.5)
        # Re-tagged to 0 while in flight: it lands at the next look.
        tags = self.db.tables["Slow"].tags
        self.clock.sleep = lambda s: (tags.append({"Key": emu.HOLD_TAG, "Value": "0"}), setattr(self.clock, "now", self.clock.now + s))
        self.contention.sleep = self.clock.sleep
        started = self.clock.now
        self.db.transact_write_items([slow])
        self.assertLess(self.clock.now - started, 0.1)


class SesFailureTest(unittest.TestCase):
    def test_the_given_fraction_of_sends_is_refused_as_ses_refuses_a_message(self):
        class Backend:
            sent = 0

            def send_email(self, *args, **kwargs):
                Backend.sent += 1

        draws = iter([0.05, 0.5, 0.09, 0.95])
        emu.with_ses_failures(Backend, 0.1, lambda: next(draws))
        outcomes = []
        for _ in range(4):
            try:
                Backend().send_email("from", {}, "s", "b")
                outcomes.append("sent")
            except emu.MessageRejectedError as e:
                self.assertEqual(e.code, "MessageRejected")
                outcomes.append("refused")
        self.assertEqual(outcomes, ["refused", "sent", "refused", "sent"])
        self.assertEqual(Backend.sent, 2)


class WriteAttributesTest(unittest.TestCase):
    def test_only_the_clients_write_attributes_may_be_written_when_it_names_them(self):
        attrs = [{"Name": "email", "Value": "a@example.com"}, {"Name": "name", "Value": "Ada"}]
        self.assertEqual(emu.unwritable_attributes({"WriteAttributes": ["name"]}, attrs), ["email"])
        self.assertEqual(emu.unwritable_attributes({"WriteAttributes": ["email", "name"]}, attrs), [])
        self.assertEqual(emu.unwritable_attributes({}, attrs), [], "a client without the setting writes everything")


if __name__ == "__main__":
    unittest.main()


class SnapshotRollbackTest(unittest.TestCase):
    """On moto itself (in-process): a cancelled transaction undoes its writes, as DynamoDB's
    all-or-nothing transactions never showed them, without copying whole tables."""

    def test_a_cancelled_transaction_leaves_its_items_and_the_stream_as_they_were(self):
        import time

        import boto3
        from moto import mock_aws
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        region = "eu-west-1"
        with mock_aws():
            db = boto3.client("dynamodb", region_name=region, aws_access_key_id="k", aws_secret_access_key="s")
            db.create_table(TableName="Products", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
                            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
            for key, qty in (("a", "1"), ("b", "0")):
                db.put_item(TableName="Products", Item={"id": {"S": key}, "qty": {"N": qty}})
            table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].tables["Products"]
            records = len(table.stream_shard.items)
            take = lambda key: {"Update": {"TableName": "Products", "Key": {"id": {"S": key}},  # noqa: E731
                                           "UpdateExpression": "SET qty = qty - :one", "ConditionExpression": "qty >= :one",
                                           "ExpressionAttributeValues": {":one": {"N": "1"}}}}
            with self.assertRaises(db.exceptions.TransactionCanceledException) as e:
                db.transact_write_items(TransactItems=[take("a"), take("b")])
            self.assertEqual([r["Code"] for r in e.exception.response["CancellationReasons"]], ["None", "ConditionalCheckFailed"])
            self.assertEqual(db.get_item(TableName="Products", Key={"id": {"S": "a"}})["Item"]["qty"]["N"], "1")
            self.assertEqual(len(table.stream_shard.items), records, "the undone write left a stream record")
            db.transact_write_items(TransactItems=[take("a")])
            self.assertEqual(db.get_item(TableName="Products", Key={"id": {"S": "a"}})["Item"]["qty"]["N"], "0")
            self.assertEqual(len(table.stream_shard.items), records + 1)


REGION = "eu-west-1"


def cognito_pool(**client):
    """Inside `mock_aws()`: a Cognito client, a new pool, its app client (created with `client`'s
    arguments) and the SES outbox of the region."""
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    idp = boto3.client("cognito-idp", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
    pool = idp.create_user_pool(PoolName="p")["UserPool"]["Id"]
    made = idp.create_user_pool_client(UserPoolId=pool, ClientName="c", **client)["UserPoolClient"]
    return idp, pool, made, ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages


class ResendConfirmationCodeTest(unittest.TestCase):
    """On moto itself (in-process), through the SDK: the operation moto lacks, as Cognito answers it."""

    def test_an_unconfirmed_user_gets_a_new_code_by_email_and_a_confirmed_one_is_refused(self):
        from moto import mock_aws

        with mock_aws():
            idp, pool, made, mails = cognito_pool()
            client = made["ClientId"]
            idp.sign_up(ClientId=client, Username="Ada", Password="Str0ng!Passw0rd",
                        UserAttributes=[{"Name": "email", "Value": "ada@example.com"}])
            sent = idp.resend_confirmation_code(ClientId=client, Username="Ada")["CodeDeliveryDetails"]
            self.assertEqual((sent["DeliveryMedium"], sent["AttributeName"], sent["Destination"]), ("EMAIL", "email", "a***@e***"))
            self.assertEqual(mails[-1].destinations["ToAddresses"], ["ada@example.com"])
            self.assertRegex(mails[-1].body, r"^Your confirmation code is \d{6}$")
            with self.assertRaises(idp.exceptions.UserNotFoundException):
                idp.resend_confirmation_code(ClientId=client, Username="Nobody")
            idp.admin_confirm_sign_up(UserPoolId=pool, Username="Ada")
            with self.assertRaises(idp.exceptions.InvalidParameterException):
                idp.resend_confirmation_code(ClientId=client, Username="Ada")


class ClientSecretTest(unittest.TestCase):
    """On moto itself (in-process), through the SDK: a client with a secret authorizes nothing
    without it, as on Cognito, and GetTokensFromRefreshToken (which moto lacks) takes the secret."""

    def test_calls_without_the_secret_hash_are_refused_and_refresh_takes_the_secret(self):
        import base64
        import hashlib
        import hmac

        from moto import mock_aws

        with mock_aws():
            idp, pool, made, _ = cognito_pool(GenerateSecret=True, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
            client, secret = made["ClientId"], made["ClientSecret"]

            def hash_of(username):
                return base64.b64encode(hmac.new(secret.encode(), (username + client).encode("utf-8"), hashlib.sha256).digest()).decode()

            user = {"Username": "Ada", "Password": "Str0ng!Passw0rd", "UserAttributes": [{"Name": "email", "Value": "ada@example.com"}]}
            for hash_ in ({}, {"SecretHash": hash_of("Bob")}):
                with self.assertRaises(idp.exceptions.NotAuthorizedException):
                    idp.sign_up(ClientId=client, **user, **hash_)
            idp.sign_up(ClientId=client, SecretHash=hash_of("Ada"), **user)
            # Any character Cognito takes in a username is hashed as UTF-8 (moto alone: a 500).
            idp.sign_up(ClientId=client, SecretHash=hash_of("Ωmega_𒇗"), **{**user, "Username": "Ωmega_𒇗"})
            idp.admin_confirm_sign_up(UserPoolId=pool, Username="Ωmega_𒇗")
            idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
                "USERNAME": "Ωmega_𒇗", "PASSWORD": "Str0ng!Passw0rd", "SECRET_HASH": hash_of("Ωmega_𒇗")})
            with self.assertRaises(idp.exceptions.NotAuthorizedException):
                idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "Ωmega_𒇗", "PASSWORD": "Str0ng!Passw0rd"})
            for call in (idp.resend_confirmation_code, idp.confirm_sign_up):
                extra = {"ConfirmationCode": "123456"} if call == idp.confirm_sign_up else {}
                with self.assertRaises(idp.exceptions.NotAuthorizedException):
                    call(ClientId=client, Username="Ada", **extra)
            idp.confirm_sign_up(ClientId=client, Username="Ada", ConfirmationCode="123456", SecretHash=hash_of("Ada"))
            signed_in = idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
                "USERNAME": "Ada", "PASSWORD": "Str0ng!Passw0rd", "SECRET_HASH": hash_of("Ada")})["AuthenticationResult"]
            refresh = signed_in["RefreshToken"]
            with self.assertRaises(idp.exceptions.NotAuthorizedException):
                idp.get_tokens_from_refresh_token(ClientId=client, RefreshToken=refresh)
            with self.assertRaises(idp.exceptions.NotAuthorizedException):
                idp.get_tokens_from_refresh_token(ClientId=client, RefreshToken=refresh, ClientSecret="w" * len(secret))
            fresh = idp.get_tokens_from_refresh_token(ClientId=client, RefreshToken=refresh, ClientSecret=secret)["AuthenticationResult"]
            self.assertEqual(idp.get_user(AccessToken=fresh["AccessToken"])["Username"], "Ada")
            self.assertNotIn("RefreshToken", fresh)
            idp.global_sign_out(AccessToken=fresh["AccessToken"])
            with self.assertRaises(idp.exceptions.NotAuthorizedException):
                idp.get_tokens_from_refresh_token(ClientId=client, RefreshToken=refresh, ClientSecret=secret)


class CodeEmailTest(unittest.TestCase):
    """On moto itself (in-process), through the SDK: SignUp and resend mail the code, written by
    the pool's CustomMessage trigger when one is registered."""

    def setUp(self):
        self.posted = []
        self.answer = None
        self.real_post = emu.post_json
        emu.post_json = lambda url, event: (self.posted.append((url, event)), self.answer(event))[1]

    def tearDown(self):
        emu.post_json = self.real_post
        emu.TRIGGERS.clear()

    def test_sign_up_and_resend_mail_the_code_in_the_triggers_words(self):
        from moto import mock_aws

        with mock_aws():
            idp, pool, made, mails = cognito_pool()
            client = made["ClientId"]

            def sign_up(name, email):
                idp.sign_up(ClientId=client, Username=name, Password="Str0ng!Passw0rd",
                            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "name", "Value": name}])

            sign_up("Ada", "ada@example.com")
            self.assertEqual((mails[-1].destinations["ToAddresses"], mails[-1].subject), (["ada@example.com"], "Your verification code"))
            self.assertRegex(mails[-1].body, r"^Your confirmation code is \d{6}$")

            emu.TRIGGERS[(pool, "CustomMessage")] = "http://runner/trigger"
            self.answer = lambda e: {**e, "response": {"emailSubject": "Hi", "emailMessage": f"{e['request']['userAttributes']['name']}: {{####}}"}}
            sign_up("Bob", "bob@example.com")
            url, event = self.posted[-1]
            self.assertEqual((url, event["triggerSource"], event["userName"], event["request"]["codeParameter"]),
                             ("http://runner/trigger", "CustomMessage_SignUp", "Bob", "{####}"))
            self.assertEqual(event["request"]["userAttributes"]["email"], "bob@example.com")
            self.assertEqual(mails[-1].subject, "Hi")
            self.assertRegex(mails[-1].body, r"^Bob: \d{6}$")
            idp.resend_confirmation_code(ClientId=client, Username="Bob")
            self.assertEqual(self.posted[-1][1]["triggerSource"], "CustomMessage_ResendCode")
            self.assertRegex(mails[-1].body, r"^Bob: \d{6}$")

            # A trigger that drops the code, or fails, fails the call as on Cognito.
            self.answer = lambda e: {**e, "response": {"emailSubject": "Hi", "emailMessage": "no code"}}
            with self.assertRaises(idp.exceptions.InvalidLambdaResponseException):
                idp.resend_confirmation_code(ClientId=client, Username="Bob")

            def fail(e):
                raise OSError("connection refused")

            self.answer = fail
            with self.assertRaises(idp.exceptions.UserLambdaValidationException):
                idp.resend_confirmation_code(ClientId=client, Username="Bob")


class IssuerFormatTest(unittest.TestCase):
    """A pool's issuer format reaches its tokens' `iss`, as Cognito writes it."""

    def test_an_updated_pool_issues_from_issuer_cognito_idp_and_an_original_one_from_cognito_idp(self):
        import base64
        from moto.cognitoidp.models import CognitoIdpBackend

        def iss(extended_config):
            backend = CognitoIdpBackend(REGION, DEFAULT_ACCOUNT_ID)
            pool = backend.create_user_pool("p", extended_config)
            client = backend.create_user_pool_client(pool.id, False, {"ClientName": "c"})
            backend.sign_up(client.id, "Ada", "Str0ng!Passw0rd", [])
            token, _ = pool.create_jwt(client.id, "Ada", "id")
            body = token.split(".")[1]
            return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))["iss"]

        self.assertRegex(iss({"IssuerConfiguration": {"Type": "UPDATED"}}), rf"^https://issuer-cognito-idp\.{REGION}\.amazonaws\.com/{REGION}_")
        self.assertRegex(iss({}), rf"^https://cognito-idp\.{REGION}\.amazonaws\.com/{REGION}_")


class ConfirmTwiceTest(unittest.TestCase):
    """Cognito refuses to confirm a confirmed user; moto confirmed it again."""

    def test_a_confirmed_user_cannot_be_confirmed_again(self):
        from moto.cognitoidp.models import CognitoIdpBackend, NotAuthorizedError

        backend = CognitoIdpBackend(REGION, DEFAULT_ACCOUNT_ID)
        pool = backend.create_user_pool("p", {})
        client = backend.create_user_pool_client(pool.id, False, {"ClientName": "c"})
        backend.sign_up(client.id, "Ada", "Str0ng!Passw0rd", [])
        backend.confirm_sign_up(client.id, "Ada")
        with self.assertRaises(NotAuthorizedError):
            backend.confirm_sign_up(client.id, "Ada")


class CopySourceIfMatchTest(unittest.TestCase):
    """S3 copies a source only while it still has the ETag the copy names."""

    def test_a_copy_bound_to_an_etag_the_source_no_longer_has_is_refused_with_412(self):
        import boto3
        from botocore.exceptions import ClientError
        from moto import mock_aws

        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
            s3.create_bucket(Bucket="copy-test")
            checked = s3.put_object(Bucket="copy-test", Key="uploads/x", Body=b"checked")["ETag"]
            s3.copy_object(Bucket="copy-test", Key="public/x", CopySource="copy-test/uploads/x", CopySourceIfMatch=checked)
            s3.put_object(Bucket="copy-test", Key="uploads/x", Body=b"swapped after the check")
            with self.assertRaises(ClientError) as refused:
                s3.copy_object(Bucket="copy-test", Key="public/y", CopySource="copy-test/uploads/x", CopySourceIfMatch=checked)
            self.assertEqual(refused.exception.response["Error"]["Code"], "PreconditionFailed")
            self.assertNotIn("Contents", s3.list_objects_v2(Bucket="copy-test", Prefix="public/y"))


class ProgramCacheTest(unittest.TestCase):
    """The launcher builds each definition's program once (`cache_asl_programs`)."""

    def test_a_definition_is_parsed_once_and_its_program_shared(self):
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

        one = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
        other = json.dumps({"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}})
        first, _ = AmazonStateLanguageParser.parse(one)
        again, _ = AmazonStateLanguageParser.parse(one)
        self.assertIs(first, again)
        self.assertIsNot(AmazonStateLanguageParser.parse(other)[0], first)


class BackendLookupTest(unittest.TestCase):
    """`cache_backend_lookup`: a host's backend is looked up once, and answered the same after."""

    def test_a_hosts_backend_is_looked_up_once_and_unknown_hosts_are_not_kept(self):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        app = DomainDispatcherApplication(lambda service: None)
        first = app.get_backend_for_host("dynamodb.stand-in-region-1.amazonaws.com")
        self.assertEqual(first, "dynamodb")
        calls = []
        from moto import backends
        listing = backends.list_of_moto_modules
        backends.list_of_moto_modules = lambda: calls.append(1) or listing()
        try:
            self.assertEqual(app.get_backend_for_host("dynamodb.stand-in-region-1.amazonaws.com"), "dynamodb")
            self.assertEqual(calls, [], "looked up again")
            self.assertIsNone(app.get_backend_for_host("nothing.example"))
            self.assertIsNone(app.get_backend_for_host("nothing.example"))
            self.assertEqual(len(calls), 2, "an unknown host was kept")
        finally:
            backends.list_of_moto_modules = listing
