"""What one intake costs: its server-side time against a bare route, and the DynamoDB write units.

In one run, in-process moto, through Chalice's test client:
- the median time of POST /cases (a staff intake with an Idempotency-Key), and of a bare Chalice
  route that validates a small body with pydantic and writes one item to the same table; the ratio;
- every write one intake makes, from the requests the DynamoDB client sends, in write request units
  (1 per started KB of item; twice that inside a transaction), against the least an intake could
  write: one transaction of the case and its history event.

    .venv/bin/python bench/intake_cost.py --cases 200
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def item_bytes(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names plus values (strings in UTF-8,
    numbers about one byte per two digits, maps and lists their members plus a few bytes)."""
    def value_bytes(value: dict[str, Any]) -> int:
        (kind, inner), = value.items()
        if kind == "S":
            return len(inner.encode())
        if kind == "N":
            return len(inner.lstrip("-").replace(".", "")) // 2 + 2
        if kind == "BOOL" or kind == "NULL":
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + value_bytes(v) + 1 for k, v in inner.items())
        if kind == "L":
            return 3 + sum(value_bytes(v) + 1 for v in inner)
        if kind in ("SS", "NS"):
            return sum(len(str(v).encode()) for v in inner)
        return len(json.dumps(inner))
    return sum(len(name.encode()) + value_bytes(value) for name, value in item.items())


def entity(item_or_key: dict[str, Any]) -> str:
    """What a written item is, from its keys (the table's key formats)."""
    pk = item_or_key.get("pk", {}).get("S", "")
    sk = item_or_key.get("sk", {}).get("S", "")
    if pk.startswith("CASE#"):
        return {"CASE": "case"}.get(sk, sk.split("#")[0].lower() or "case item")
    return pk.split("#")[0].lower() or "item"


class WriteMeter:
    """Counts the writes the DynamoDB client sends (a botocore hook on the default session)."""

    def __init__(self) -> None:
        self.units: Counter[str] = Counter()
        self.items: Counter[str] = Counter()

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        if name == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (kind, body), = entry.items()
                if kind == "ConditionCheck":
                    continue
                what = entity(body.get("Item") or body.get("Key") or {})
                size = item_bytes(body["Item"]) if "Item" in body else 1024  # updates: counters, < 1 KB
                self._count(f"{what} ({kind.lower()}, in a transaction)", 2 * math.ceil(max(size, 1) / 1024))
        elif name in ("PutItem", "UpdateItem", "DeleteItem"):
            what = entity(params.get("Item") or params.get("Key") or {})
            size = item_bytes(params["Item"]) if "Item" in params else 1024
            self._count(f"{what} ({name.removesuffix('Item').lower()})", math.ceil(max(size, 1) / 1024))

    def _count(self, label: str, units: int) -> None:
        self.units[label] += units
        self.items[label] += 1

    def reset(self) -> None:
        self.units.clear()
        self.items.clear()


class StoreClock:
    """Time spent inside DynamoDB calls (here: moto), from botocore's before-call and after-call."""

    def __init__(self) -> None:
        self.started: list[float] = []
        self.spent = 0.0

    def before(self, **_: Any) -> None:
        self.started.append(time.perf_counter())

    def after(self, **_: Any) -> None:
        self.spent += time.perf_counter() - self.started.pop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "STAFF_WRITES_PER_MINUTE": "1000000",
                       "POWERTOOLS_METRICS_NAMESPACE": "bench", "POWERTOOLS_LOG_LEVEL": "WARNING"})
    os.environ.pop("AWS_ENDPOINT_URL", None)

    import boto3
    from chalice import Chalice
    from chalice.test import Client
    from moto import mock_aws
    from pydantic import BaseModel, Field

    from local.aws_limits import aws_limits

    with mock_aws(), aws_limits():
        from tests.conftest import ISSUER_DIR, STAGE, complaint, sample_token, seed_sample_staff  # noqa: I001
        from chalicelib.adapters.unit_registry import DynamoUnitRegistry
        from chalicelib.config import Settings
        from chalicelib.domain.models import Unit
        from local.issuer import auth_environment
        from local.provision import provision, stage_environment
        from local.stack import SAMPLE_ORGANISATION

        env = {**stage_environment(provision(boto3.session.Session(region_name="us-east-1"), STAGE)),
               **auth_environment(ISSUER_DIR)}
        os.environ.update(env)
        table = env["TABLE_NAME"]
        registry = DynamoUnitRegistry(boto3.client("dynamodb"), table)
        for unit in json.loads(SAMPLE_ORGANISATION.read_text()):
            registry.put(Unit.model_validate(unit))
        seed_sample_staff(Settings(table_name=table, escalation_topic_arn=env["ESCALATION_TOPIC_ARN"]),
                          boto3.client("dynamodb"), boto3.client("sns"))

        import app as app_module

        bare = Chalice(app_name="bare")
        bare_clients: list[Any] = []  # made on the first call, after the meters are hooked in

        class Small(BaseModel):
            unit_id: str = Field(max_length=40)
            text: str = Field(max_length=2000)

        @bare.route("/bare", methods=["POST"])
        def bare_write() -> dict[str, str]:
            body = Small.model_validate_json(bare.current_request.raw_body)
            bare_clients[:] = bare_clients or [boto3.client("dynamodb")]
            bare_clients[0].put_item(TableName=table, Item={"pk": {"S": f"BARE#{time.perf_counter_ns()}"},
                                                        "sk": {"S": "X"}, "unit_id": {"S": body.unit_id},
                                                        "text": {"S": body.text}})
            return {"ok": "yes"}

        meter, store = WriteMeter(), StoreClock()
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.register("provide-client-params.dynamodb.*", meter)
        events.register("before-call.dynamodb.*", store.before)
        events.register("after-call.dynamodb.*", store.after)
        signed_in = {"Authorization": f"Bearer {sample_token('Li Na')}", "Content-Type": "application/json"}
        intake_ms, bare_ms, intake_store_ms, bare_store_ms = [], [], [], []
        with Client(app_module.app) as api, Client(bare) as plain:
            for n in range(args.cases + 5):  # the first few warm the caches (units, staff, keys)
                body = json.dumps(complaint(expectation=f"a refund, case {n}"))
                meter.reset()
                store.spent = 0.0
                start = time.perf_counter()
                answer = api.http.post("/cases", headers={**signed_in, "Idempotency-Key": f"cost-{n}"}, body=body)
                elapsed = (time.perf_counter() - start) * 1000
                in_store = store.spent * 1000
                assert answer.status_code == 201, answer.body
                one_intake = (Counter(meter.units), Counter(meter.items))
                store.spent = 0.0
                start = time.perf_counter()
                answer = plain.http.post("/bare", headers={"Content-Type": "application/json"},
                                         body=json.dumps({"unit_id": "store-xh-01", "text": f"a refund {n}"}))
                bare_elapsed = (time.perf_counter() - start) * 1000
                assert answer.status_code == 200, answer.body
                if n >= 5:
                    intake_ms.append(elapsed)
                    bare_ms.append(bare_elapsed)
                    intake_store_ms.append(in_store)
                    bare_store_ms.append(store.spent * 1000)

    units, items = one_intake
    minimum = 2 * 2  # the case and its history event, each under 1 KB, in one transaction
    total = sum(units.values())
    print(f"intakes: {args.cases} (after 5 to warm up), in-process moto, Chalice test client")
    ours = statistics.median(i - s for i, s in zip(intake_ms, intake_store_ms, strict=True))
    bare_ours = statistics.median(b - s for b, s in zip(bare_ms, bare_store_ms, strict=True))
    print(f"{'median ms':<30} {'total':>8} {'in DynamoDB':>12} {'our code':>9}")
    print(f"{'POST /cases':<30} {statistics.median(intake_ms):8.1f} {statistics.median(intake_store_ms):12.1f} "
          f"{ours:9.1f}")
    print(f"{'bare route (validate, 1 put)':<30} {statistics.median(bare_ms):8.1f} "
          f"{statistics.median(bare_store_ms):12.1f} {bare_ours:9.1f}")
    print(f"ratio intake / bare, total:    {statistics.median(intake_ms) / statistics.median(bare_ms):.2f} "
          "(moto copies the whole table for each item of a transaction; DynamoDB does not)")
    print(f"ratio intake / bare, our code: {ours / bare_ours:.2f}")
    print(f"write request units per intake: {total} (minimum {minimum}: case + event in one transaction; "
          f"{total / minimum:.2f}x)")
    for label, unit_count in sorted(units.items(), key=lambda kv: -kv[1]):
        print(f"  {unit_count:3d} WRU  {items[label]} x {label}")


if __name__ == "__main__":
    main()
