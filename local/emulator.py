"""moto's server, made fit for a local stack that holds thousands of cases.

Three behaviours of moto's DynamoDB would make the emulator unlike DynamoDB:
- it is not thread-safe: a transaction deep-copies its table while another request writes to it
  ("dictionary changed size during iteration" → HTTP 500), so requests are served one at a time;
- TransactWriteItems deep-copies the whole table for rollback, once per item of the
  transaction, so a 100-item transaction costs 100 × O(items in the table). Here the rollback
  keeps only the items the transaction touches (a reference for Put, Delete and ConditionCheck,
  which replace or leave their item; a deep copy for Update, which changes it in place) and
  puts exactly those back, which is all moto's own copy would restore;
- a Query on the table's own key walks every item of the table to find one partition; here it
  reads that partition only, as DynamoDB does (GSI Queries still walk the table).
Where moto is more lenient than AWS (SNS subjects, Object Lock, presigned URLs), local/aws_limits.py
makes it refuse what AWS refuses.

    python -m local.emulator PORT
"""

from __future__ import annotations

import copy
import os
import sys
import threading
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


_query_partition = threading.local()


def install_partition_queries() -> None:
    """A base-table Query reads only its partition: moto's `all_items` is narrowed while it runs."""
    original_query, original_all_items = Table.query, Table.all_items

    def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        # moto passes index_name positionally, after the six arguments that follow hash_key
        index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
        narrow = index_name is None and hash_key is not None and bool(self.range_key_attr)
        _query_partition.key = hash_key if narrow else None
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _query_partition.key = None

    def all_items(self: Table) -> Any:
        key = getattr(_query_partition, "key", None)
        if key is None:
            return original_all_items(self)
        return list(self.items.get(key, {}).values())

    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]


def main() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from moto.server import MotoRequestHandler
    from werkzeug.serving import run_simple

    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    install_narrow_transaction_snapshots()
    install_partition_queries()
    from local.aws_limits import install_aws_limits

    install_aws_limits()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
