"""A DynamoDB client wrapper for the benchmarks: counts the items every read returned, at the
client, so a figure does not depend on what the service says it read."""

from __future__ import annotations

from typing import Any


class CountingClient:
    def __init__(self, real: Any) -> None:
        self._real = real
        self.items_read = 0
        self.scans = 0

    def query(self, **kwargs: Any) -> Any:
        page = self._real.query(**kwargs)
        self.items_read += len(page["Items"])
        return page

    def get_item(self, **kwargs: Any) -> Any:
        found = self._real.get_item(**kwargs)
        self.items_read += "Item" in found
        return found

    def batch_get_item(self, **kwargs: Any) -> Any:
        found = self._real.batch_get_item(**kwargs)
        self.items_read += sum(len(items) for items in found["Responses"].values())
        return found

    def scan(self, **kwargs: Any) -> Any:
        self.scans += 1
        page = self._real.scan(**kwargs)
        self.items_read += len(page["Items"])
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)
