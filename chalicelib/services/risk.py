"""The administrators' list of escalation-risk phrases: read (with the defaults that apply until
one is stored), replaced as a whole, and tried on a text before it is stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.domain.risk import DEFAULT_PHRASES, RiskPhrasesRequest, matched_phrases
from chalicelib.services.ports import PhraseStore


class RiskPhraseService:
    def __init__(self, store: PhraseStore, now: Callable[[], datetime]) -> None:
        self._store = store
        self._now = now

    def phrases(self) -> tuple[str, ...]:
        """What intake checks against now: the stored list, or the defaults while none is stored."""
        stored = self._store.get()
        return stored.phrases if stored is not None else DEFAULT_PHRASES

    def view(self) -> dict[str, Any]:
        stored = self._store.get()
        return {"phrases": list(stored.phrases if stored else DEFAULT_PHRASES),
                "source": "stored" if stored else "defaults",
                "updated_by": stored.updated_by if stored else None,
                "updated_at": stored.updated_at.isoformat() if stored else None,
                "defaults": list(DEFAULT_PHRASES)}

    def replace(self, request: RiskPhrasesRequest) -> dict[str, Any]:
        """The list becomes exactly what was sent (an empty list turns the check off); cases
        registered from now on are checked against it, within a minute in every container."""
        self._store.put(tuple(request.phrases), request.actor, self._now())
        return self.view()

    def check(self, text: str) -> dict[str, Any]:
        """Which phrases of the current list a text would raise the flag with."""
        return {"matched": list(matched_phrases([text], self.phrases()))}
