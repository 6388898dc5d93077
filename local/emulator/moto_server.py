#!/usr/bin/env python3
"""moto's server (`moto_server`), with DynamoDB writes serialized as DynamoDB serializes them.

moto 5.2.5's TransactWriteItems deep-copies every table it touches, applies the operations and, when
one fails, puts the copies back: all without a lock. A write that commits meanwhile is silently
undone by that rollback (a lost stock decrement: an oversell that real DynamoDB never shows), and a
write during the copy crashes it (`dictionary changed size during iteration`, an HTTP 500). Here
every DynamoDB write runs under one lock, so a transaction's copy, writes and rollback are atomic
with respect to all other writes, as DynamoDB's serializable transactions are. Reads are untouched.
Arguments are moto_server's (`-H 127.0.0.1 -p 5000`).
"""
import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
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

if __name__ == "__main__":
    sys.exit(main())
