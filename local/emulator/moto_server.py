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

TOTP: moto answers every software-token code as valid unless MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP
is true; it is set here so a wrong code is refused, as Cognito refuses it.

Arguments are moto_server's (`-H 127.0.0.1 -p 5000`).
"""
import functools
import os
import sys
import threading

os.environ.setdefault("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")

from moto.cognitoidp.models import CognitoIdpBackend, NotAuthorizedError  # noqa: E402
from moto.dynamodb.models import DynamoDBBackend  # noqa: E402
from moto.server import main

_WRITES = threading.RLock()


def _serialized(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _WRITES:
            return method(*args, **kwargs)
    return wrapper


for _name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item"):
    setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))

_confirm_sign_up = CognitoIdpBackend.confirm_sign_up


def _confirm_and_verify_email(self, client_id, username):
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

if __name__ == "__main__":
    sys.exit(main())
