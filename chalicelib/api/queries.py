"""A request's query string read into typed values for a service. Every unusable parameter is
collected, so one 400 names them all, with the reason; services never see a raw string."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import Enum
from typing import TypeVar

from chalicelib.domain.errors import InvalidInput

E = TypeVar("E", bound=Enum)


class Query:
    def __init__(self, params: Mapping[str, str] | None) -> None:
        self._params = dict(params or {})
        self.problems: dict[str, str] = {}

    def text(self, name: str, required: str | None = None) -> str | None:
        """A free parameter (an id, a cursor); `required` is the reason given when it is missing."""
        value = self._params.get(name) or None
        if value is None and required:
            self.problems[name] = required
        return value

    def day(self, name: str, required: bool = True) -> date | None:
        """A YYYY-MM-DD parameter."""
        value = self._params.get(name)
        if not value:
            if required:
                self.problems[name] = "required, as YYYY-MM-DD"
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.problems[name] = "a date as YYYY-MM-DD"
            return None

    def page_size(self, default: int, maximum: int, name: str = "limit") -> int:
        """A list's page size; ASCII digits only, and few of them: int() of a 5,000-digit (or a
        superscript) string raises."""
        value = self._params.get(name)
        usable = value is not None and value.isascii() and value.isdigit() and len(value) <= 6
        size = default if value is None else int(value) if usable else 0
        if not 1 <= size <= maximum:
            self.problems[name] = f"between 1 and {maximum}"
        return size

    def choice(self, name: str, kind: type[E]) -> E | None:
        value = self._params.get(name)
        if not value:
            return None
        try:
            return kind(value)
        except ValueError:
            self.problems[name] = "one of " + ", ".join(str(member.value) for member in kind)
            return None

    def checked(self, message: str) -> None:
        """Raises the one 400 for every problem found (none: the values are usable)."""
        if self.problems:
            raise InvalidInput(message, self.problems)
