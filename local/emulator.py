"""moto's server, made fit for a local stack that holds thousands of cases.

Two behaviours of moto's DynamoDB would make the emulator unlike DynamoDB:
- it is not thread-safe: a transaction deep-copies its table while another request writes to it
  ("dictionary changed size during iteration" → HTTP 500), so requests are served one at a time;
- TransactWriteItems deep-copies the whole table for rollback, once per item of the
  transaction, so a 100-item transaction costs 100 × O(items in the table). Here the rollback
  keeps only the items the transaction touches (a reference for Put, Delete and ConditionCheck,
  which replace or leave their item; a deep copy for Update, which changes it in place) and
  puts exactly those back, which is all moto's own copy would restore.

    python -m local.emulator PORT
"""

from __future__ import annotations

import copy
import os
import sys
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table


class _NoTableCopy:
    """Stands in for the `copy` module inside moto.dynamodb.models: the "backup" of a table is the
    table itself; `transact_write_items` below restores the touched items instead."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _item_key(table: Table, op_type: str, op: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    key = op["Item"] if op_type == "Put" else op["Key"]
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return DynamoType(key[table.hash_key_attr]), range_value


def _current(table: Table, hash_value: DynamoType, range_value: DynamoType | None) -> Any:
    partition = table.items.get(hash_value) if hash_value in table.items else None
    if range_value is None:
        return partition
    return partition.get(range_value) if partition else None


def _restore(table: Table, hash_value: DynamoType, range_value: DynamoType | None, saved: Any) -> None:
    if range_value is None:
        if saved is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = saved
        return
    partition = table.items[hash_value]
    if saved is None:
        partition.pop(range_value, None)
        if not partition:
            table.items.pop(hash_value, None)
    else:
        partition[range_value] = saved


def install_narrow_transaction_snapshots() -> None:
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            table = self.tables.get(op.get("TableName"))
            if table is None or op_type not in ("Put", "Delete", "Update", "ConditionCheck"):
                continue
            hash_value, range_value = _item_key(table, op_type, op)
            item = _current(table, hash_value, range_value)
            saved.append((table, hash_value, range_value, copy.deepcopy(item) if op_type == "Update" else item))
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(saved):
                _restore(table, hash_value, range_value, item)
            raise

    dynamodb_models.copy = _NoTableCopy  # type: ignore[assignment]
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
