"""The administrators' list of escalation-risk phrases: read (with the defaults that apply until
one is stored), replaced as a whole, and tried on a text before it is stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib.domain.risk import DEFAULT_PHRASES, PhraseList, PhraseMatch, RiskPhrasesRequest, matched_phrases
from chalicelib.services.ports import PhraseStore


class RiskPhraseService:
    def __init__(self, store: PhraseStore, now: Callable[[], datetime]) -> None:
        self._store = store
        self._now = now

    def phrases(self) -> tuple[str, ...]:
        """What intake checks against now: the stored list, or the defaults while none is stored."""
        stored = self._store.get()
        return stored.phrases if stored is not None else DEFAULT_PHRASES

    def view(self) -> PhraseList:
        stored = self._store.get()
        if stored is None:
            return PhraseList(phrases=list(DEFAULT_PHRASES), source="defaults", updated_by=None, updated_at=None,
                              version=0, defaults=list(DEFAULT_PHRASES))
        return PhraseList(phrases=list(stored.phrases), source="stored", updated_by=stored.updated_by,
                          updated_at=stored.updated_at, version=stored.version, defaults=list(DEFAULT_PHRASES))

    def replace(self, request: RiskPhrasesRequest) -> PhraseList:
        """The list becomes exactly what was sent (an empty list turns the check off); cases
        registered from now on are checked against it, within a minute in every container."""
        self._store.put(tuple(request.phrases), request.actor, self._now(), request.version)
        return self.view()

    def check(self, text: str) -> PhraseMatch:
        """Which phrases of the current list a text would raise the flag with."""
        return PhraseMatch(matched=list(matched_phrases([text], self.phrases())))
