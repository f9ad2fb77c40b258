"""Escalation-risk language (rulebook §2: a media or regulator case is told to the owner and the
regional specialist at once; a customer who threatens to go there is the same risk, earlier).

At intake the customer's account (the 5W) and expectation are checked against a list of phrases
administrators keep as data (`PUT /risk-phrases`); until they change it, `DEFAULT_PHRASES` apply.
Matching ignores case, full-width/half-width forms and runs of spaces; a phrase that begins or
ends with a Latin letter or digit matches only whole words or numbers ("court" is not in
"courteous", "12315" is not inside a longer card number), with an English plural allowed
("lawyer" matches "lawyers"). Chinese is matched as written. Pure: no AWS.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from chalicelib.domain.calendar import LocalTime
from chalicelib.domain.models import Case, HistoryEvent, RiskFlag, Strict

# The clock name of the immediate notices a flagged case sends (like a media case's "notice").
RISK_CLOCK = "risk"

# What the service watches for until an administrator stores a list of their own.
DEFAULT_PHRASES: tuple[str, ...] = (
    # media
    "曝光", "记者", "找媒体", "电视台", "报社", "发到网上",
    "journalist", "reporter", "go to the press", "go to the papers", "go to the media", "contact the media",
    # regulators and consumer bodies
    "12315", "消协", "消费者协会", "市场监管", "工商局",
    "trading standards", "consumer association", "ombudsman",
    # lawyers and courts
    "律师", "起诉", "法院", "打官司",
    "lawyer", "solicitor", "legal action", "sue you", "take you to court", "small claims court",
)

Phrase = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MAX_PHRASES = 500


class RiskPhrasesRequest(Strict):
    """The whole list of phrases an administrator stores (it replaces the one before)."""

    actor: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    phrases: Annotated[list[Phrase], Field(max_length=MAX_PHRASES)]
    # The version of the list this change starts from (GET /risk-phrases; 0 while the defaults
    # apply): two administrators editing at once cannot undo each other's change unseen.
    version: Annotated[int, Field(ge=0, le=1_000_000)]

    @field_validator("phrases")
    @classmethod
    def _distinct(cls, phrases: list[str]) -> list[str]:
        """Each phrase once, compared as they are matched (so "12315" and "１２３１５" are one)."""
        seen: dict[str, str] = {}
        for phrase in phrases:
            key = normalise(phrase)
            if key in seen:
                raise ValueError(f"{phrase!r} is listed twice (as {seen[key]!r})")
            seen[key] = phrase
        return phrases


class RiskPhraseTry(Strict):
    """A text to try against the current list before storing a change."""

    actor: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class PhraseList(BaseModel):
    """The escalation-risk phrases intake checks against: the stored list, or the defaults."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    phrases: list[str]
    source: Literal["stored", "defaults"]
    updated_by: str | None
    updated_at: LocalTime | None
    version: int  # send it back with a change; 0 while the defaults apply
    defaults: list[str]


class PhraseMatch(BaseModel):
    """The phrases of the current list a text would raise the flag with."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    matched: list[str]


def normalise(text: str) -> str:
    """Full-width forms to their plain ones (NFKC), lower case, one space for any run of spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@lru_cache(maxsize=4096)
def _pattern(phrase: str) -> re.Pattern[str]:
    words = normalise(phrase)
    body = r"\s+".join(re.escape(word) for word in words.split(" "))
    before = r"(?<![a-z0-9])" if words[:1].isascii() and words[:1].isalnum() else ""
    last = words[-1:]
    if last.isascii() and last.isalpha():
        after = r"(?:s|es)?(?![a-z0-9])"
    elif last.isascii() and last.isdigit():
        after = r"(?![a-z0-9])"
    else:
        after = ""
    return re.compile(before + body + after)


def matched_phrases(texts: Iterable[str | None], phrases: Sequence[str]) -> tuple[str, ...]:
    """The phrases (as the list spells them, in its order) found in any of the texts."""
    text = "\n".join(normalise(t) for t in texts if t)
    return tuple(phrase for phrase in phrases if normalise(phrase) and _pattern(phrase).search(text))


def intake_texts(case: Case) -> list[str | None]:
    """What the customer told us at intake: the 5W and what they expect."""
    w = case.five_w
    return [w.when, w.where, w.who, w.what, w.how, case.expectation]


def flag_at_intake(case: Case, event: HistoryEvent, phrases: Sequence[str],
                   now: datetime) -> tuple[Case, HistoryEvent]:
    """The new case with its risk flag (and the registration event recording it) when its text
    holds any phrase of the list; unchanged otherwise."""
    found = matched_phrases(intake_texts(case), phrases)
    if not found:
        return case, event
    flag = RiskFlag(phrases=found, flagged_at=now)
    changes = {**event.changes, "risk": {"before": None, "after": flag.model_dump(mode="json")}}
    return case.model_copy(update={"risk": flag}), event.model_copy(update={"changes": changes})
