"""DynamoDB: per-user write allowance shared by every container (fixed one-minute windows).

One item per (user, window): `pk = RATE#<user>`, `sk = W#<window start>`, `hits` raised by a
conditional update that refuses the call once `hits` reaches the limit; `expires_at` (the table's
TTL attribute) removes the item a little after its window. One write per call, no read, no scan."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib.domain.errors import TooManyRequests


class DynamoRateLimit:
    def __init__(self, client: Any, table_name: str, per_window: int, window_seconds: int = 60,
                 clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table_name
        self._limit = per_window
        self._window = window_seconds
        self._clock = clock

    def hit(self, who: str) -> None:
        """Count one call of `who`; TooManyRequests (429, Retry-After: the rest of the window) once
        the window's allowance is used up. A refused call is not counted."""
        now = self._clock()
        start = int(now // self._window) * self._window
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"RATE#{who}"}, "sk": {"S": f"W#{start}"}},
                UpdateExpression="ADD hits :one SET expires_at = if_not_exists(expires_at, :expires), "
                                 "entity = :entity",
                ConditionExpression="attribute_not_exists(hits) OR hits < :limit",
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(self._limit)},
                                           ":expires": {"N": str(start + 2 * self._window)},
                                           ":entity": {"S": "rate-limit"}})
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise TooManyRequests(f"more than {self._limit} changes a minute from this user; "
                                  "try again shortly", retry_after=int(start + self._window - now) + 1) from exc
