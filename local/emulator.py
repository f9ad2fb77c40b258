"""moto's server, made fit for a local stack that holds thousands of cases.

Two behaviours of moto's DynamoDB would make the emulator unlike DynamoDB:
- it is not thread-safe: a transaction deep-copies its table while another request writes to it
  ("dictionary changed size during iteration" → HTTP 500), so requests are served one at a time;
- every TransactWriteItems deep-copies the whole table for rollback, so each write costs
  O(items in the table). The snapshot here copies partitions two levels deep (item objects
  shared, since Put and Delete replace them) and deep-copies only the items the transaction
  Updates in place. Rollback restores exactly what moto's own copy would.

    python -m local.emulator PORT
"""

from __future__ import annotations

import copy
import os
import sys
from collections import defaultdict
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_updated_keys: dict[str, list[dict[str, Any]]] = {}


def _narrow_snapshot(table: Table) -> Table:
    snapshot = copy.copy(table)
    snapshot.items = defaultdict(dict)
    for hash_value, partition in table.items.items():
        snapshot.items[hash_value] = dict(partition) if isinstance(partition, dict) else partition
    for key in _updated_keys.get(table.name, []):
        hash_value = DynamoType(key[table.hash_key_attr])
        if table.range_key_attr is None:
            if hash_value in table.items:
                snapshot.items[hash_value] = copy.deepcopy(table.items[hash_value])
        else:
            range_value = DynamoType(key[table.range_key_attr])
            if range_value in table.items.get(hash_value, {}):
                snapshot.items[hash_value][range_value] = copy.deepcopy(table.items[hash_value][range_value])
    return snapshot


class _CopyForTransactions:
    """Stands in for the `copy` module inside moto.dynamodb.models."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table):
            return _narrow_snapshot(value)
        return copy.deepcopy(value, memo)


def install_narrow_transaction_snapshots() -> None:
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _updated_keys.clear()
        for item in transact_items:
            if "Update" in item:
                _updated_keys.setdefault(item["Update"]["TableName"], []).append(item["Update"]["Key"])
        try:
            original(self, transact_items)
        finally:
            _updated_keys.clear()

    dynamodb_models.copy = _CopyForTransactions  # type: ignore[assignment]
    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


def main() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.server import MotoRequestHandler
    from werkzeug.serving import run_simple

    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    install_narrow_transaction_snapshots()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
