"""The case, its parts and the organisation's units (rulebook §1–§5); pure pydantic, no AWS."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from chalicelib.domain.clocks import Clock

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
PHONE_PATTERN = r"^\+?[0-9][0-9 ()\-]{4,22}[0-9]$"


def _halfwidth(value: object) -> object:
    """Digits, plus, brackets and hyphens typed full-width (a Chinese keyboard's １３８ ０００…) are
    read as the ASCII characters they stand for."""
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


PhoneNumber = Annotated[str, BeforeValidator(_halfwidth),
                        StringConstraints(strip_whitespace=True, max_length=25, pattern=PHONE_PATTERN)]
UNIT_ID_PATTERN = r"^[a-z0-9][a-z0-9\-]{0,62}$"
UnitId = Annotated[str, StringConstraints(max_length=63, pattern=UNIT_ID_PATTERN)]


class CaseType(StrEnum):
    """Rulebook §1: 咨询, 建议, 投诉, 表扬."""

    INQUIRY = "inquiry"
    SUGGESTION = "suggestion"
    COMPLAINT = "complaint"
    PRAISE = "praise"


class Channel(StrEnum):
    """Rulebook §2: where a case came from."""

    HOTLINE = "hotline"
    WEB = "web"
    LETTER = "letter"
    IN_STORE = "in_store"
    MEDIA = "media"
    REGULATOR = "regulator"
    FORWARDED = "forwarded"


# Channels on which a member of staff registers the case and may back-date its receipt.
STAFF_CHANNELS = frozenset(set(Channel) - {Channel.WEB})


class CauseCategory(StrEnum):
    """Rulebook §3."""

    PRODUCT = "product"
    SERVICE = "service"
    EQUIPMENT_ENVIRONMENT = "equipment_environment"


class Status(StrEnum):
    """Lifecycle states; see lifecycle.py for the allowed moves."""

    RECEIVED = "received"
    ACCEPTED = "accepted"
    ASSIGNED = "assigned"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    CLOSED = "closed"



class FindingKind(StrEnum):
    """Rulebook §5: what the investigator concluded."""

    VIOLATION = "violation"
    ORDINARY_MISTAKE = "ordinary_mistake"
    CUSTOMER_ISSUE = "customer_issue"


class Remedy(StrEnum):
    """Rulebook §5: remedies within policy."""

    RETURN = "return"
    EXCHANGE = "exchange"
    PRICE_ADJUSTMENT = "price_adjustment"
    SERVICE_CHANGE = "service_change"
    COMPENSATION = "compensation"
    APOLOGY = "apology"
    EXPLANATION = "explanation"


class Strict(BaseModel):
    """Models a client sends: unknown fields are refused, so nothing can be set by accident."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
EmailAddress = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL_PATTERN)]


class ContactLanguage(StrEnum):
    """The language the customer is written to in (SMS, email, the tracking page's default)."""

    ZH = "zh"
    EN = "en"


class Customer(Strict):
    """Who the case is for. `contact_consent`: the customer agreed to hear from us about this case
    (receipt, answer, satisfaction survey) by SMS and/or email; without it nothing is sent. `value`
    is what the organisation knows of the customer's worth to it (a member tier, past spend:
    rulebook §5 weighs the remedy's cost against it); staff channels only."""

    name: ShortText
    phone: PhoneNumber
    email: EmailAddress | None = None
    contact_consent: bool = False
    language: ContactLanguage = ContactLanguage.ZH
    value: ShortText | None = None


class FiveW(Strict):
    """Rulebook §2: the 5W a hotline agent records; `what` is the customer's own account."""

    when: ShortText | None = None
    where: ShortText | None = None
    who: ShortText | None = None
    what: LongText
    how: LongText | None = None


class Cause(Strict):
    category: CauseCategory
    detail: LongText | None = None


class Finding(Strict):
    """Rulebook §5: the investigator's finding and what it obliges."""

    kind: FindingKind
    detail: LongText
    corrective_plan: LongText | None = None
    reported_to: ShortText | None = None
    investigator: ShortText
    recorded_at: datetime


class Resolution(Strict):
    """`result` is the staff's record; `customer_message` is what the customer is told (sent to
    them and shown on their tracking page), kept apart from internal notes."""

    result: LongText
    remedies: tuple[Remedy, ...] = ()
    customer_message: LongText | None = None
    resolved_by: ShortText
    resolved_at: datetime


class FeedbackSource(StrEnum):
    """Whose hand recorded the opinion: the customer's own survey, or staff after a phone call."""

    CUSTOMER = "customer"
    PHONE = "phone"


class Feedback(Strict):
    """Rulebook §5: the customer's opinion after handling (satisfaction 1–5)."""

    satisfied: bool
    satisfaction: int = Field(ge=1, le=5)
    comment: LongText | None = None
    recorded_at: datetime
    source: FeedbackSource | None = None
    recorded_by: ShortText | None = None


class SpecialExtension(Strict):
    """Why a complaint may take 7 working days instead of 3, and which manager approved it (and,
    when an agent asked for it, who asked)."""

    reason: LongText
    approver: ShortText
    approver_id: str | None = None
    approved_at: datetime
    requested_by: ShortText | None = None
    requested_at: datetime | None = None


class SpecialRequest(Strict):
    """An agent's request for the 7-working-day limit, waiting for a manager's approval."""

    reason: LongText
    requested_by: ShortText
    requested_by_id: str | None = None
    requested_at: datetime


class Acknowledgement(Strict):
    """A manager saw an escalation and is on it; recorded, and the clock keeps running."""

    clock: ShortText
    level: ShortText
    by: ShortText
    by_id: str | None = None
    at: datetime
    deadline_version: int | None = None


class Importance(Strict):
    """Rulebook §7: an important record is kept longer than the one-year default."""

    reason: LongText
    by: ShortText
    at: datetime


ROOT_CAUSE_PATTERN = r"^[a-z0-9][a-z0-9\-]{1,39}$"
RootCauseCode = Annotated[str, StringConstraints(max_length=40, pattern=ROOT_CAUSE_PATTERN)]


class RootCause(Strict):
    """Rulebook §6: why it really happened and what changes so it does not recur. `code` is the
    unit's short name for the cause (e.g. `cashier-double-scan`); repeated codes show in reports."""

    category: CauseCategory
    code: RootCauseCode
    corrective_action: LongText
    recorded_by: ShortText
    recorded_at: datetime


class Rectification(Strict):
    """Rulebook §6 限期整改: a spot check found the result did not match; the unit must put it right
    by a deadline (the case's `rectification` clock, escalated like any other)."""

    spot_check_id: str
    reason: LongText
    ordered_by: ShortText
    ordered_at: datetime
    completed_by: ShortText | None = None
    completed_at: datetime | None = None
    result: LongText | None = None


class SpotCheckVerdict(Strict):
    """Rulebook §6 抽查验证: the branch verified this case's recorded result with the customer;
    `matches` false orders a rectification. Kept on the case, so it is archived with it."""

    spot_check_id: str
    matches: bool
    note: LongText
    by: ShortText
    at: datetime


class LegalHold(BaseModel):
    """An auditor's legal hold on the case's archived files (rulebook §7: kept while a dispute or an
    inquiry needs them, whatever the retention: while on, no version can be deleted). Recorded in
    the archive index, on the case and so in its addendum."""

    model_config = ConfigDict(frozen=True)

    on: bool
    by: str
    at: datetime
    reason: str


class RiskFlag(Strict):
    """Escalation-risk language found at intake (threats to go to the media, 12315, a lawyer…):
    the phrases of the administrators' list that matched. Staff may clear a false flag with a
    reason; the flag and its clearing stay on the record."""

    phrases: tuple[ShortText, ...]
    flagged_at: datetime
    cleared_reason: LongText | None = None
    cleared_by: ShortText | None = None
    cleared_by_id: str | None = None
    cleared_at: datetime | None = None

    @property
    def raised(self) -> bool:
        """The flag stands (it has not been cleared as false)."""
        return self.cleared_at is None


class ArchivedFile(Strict):
    """One archived closure of a case: where its file is, its checksum, how long it is locked."""

    case_version: int
    closed_at: datetime
    json_key: str
    json_version_id: str
    json_sha256: str
    html_key: str
    html_version_id: str
    html_sha256: str
    retain_until: datetime
    archived_at: datetime
    hot_copy_expires_at: datetime


# --- praise, suggestion decisions and follow-up care (rulebook §1, §5) -----------------------
class PraisedStaff(Strict):
    """A member of staff a customer praised, as the staff directory knows them."""

    staff_id: Annotated[str, StringConstraints(max_length=128)]
    name: ShortText
    unit_id: UnitId


class Praise(Strict):
    """Rulebook §1 表扬: whom the customer praised (people of the directory) or, when the customer
    could not name them, a description; it is counted for the staff member and the unit and read
    out at the unit's meeting."""

    staff: tuple[PraisedStaff, ...] = ()
    description: LongText | None = None
    recorded_by: ShortText | None = None
    recorded_at: datetime | None = None


class SuggestionOutcomeKind(StrEnum):
    """Rulebook §1 建议: whether the leader adopted the suggestion."""

    ADOPTED = "adopted"
    PARTLY_ADOPTED = "partly_adopted"
    NOT_ADOPTED = "not_adopted"


class SuggestionDecision(Strict):
    """The responsible leader's decision on a suggestion, recorded when the reply date is promised."""

    text: LongText
    decided_by: ShortText | None = None
    decided_by_id: str | None = None
    recorded_by: ShortText
    recorded_at: datetime


class SuggestionOutcome(Strict):
    """Whether the suggestion was adopted, and which leader decided it."""

    outcome: SuggestionOutcomeKind
    decided_by: ShortText
    decided_by_id: str | None = None
    recorded_by: ShortText
    recorded_at: datetime


class CustomerReply(Strict):
    """What the customer is told (customer-facing, kept apart from staff notes and results)."""

    text: LongText
    recorded_by: ShortText
    recorded_by_id: str | None = None
    recorded_at: datetime


class FollowUp(Strict):
    """Rulebook §5 跟踪反馈: the follow-up contact after a complaint was resolved — whether the
    customer was reached, whether they are satisfied now, and any extra service offered."""

    reached: bool
    satisfied: bool | None = None
    offer: LongText | None = None
    offer_accepted: bool | None = None
    comment: LongText | None = None
    recorded_by: ShortText
    recorded_by_id: str | None = None
    recorded_at: datetime
    on_time: bool


class CaseFacts(BaseModel):
    """Everything a case holds but its raw clocks: what the register must hold (§2) and what was
    done about it (§5–§7). The case (with its clocks) and the case document (with its deadlines as
    read at a moment) are both these facts and more: one list of fields, declared once."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    version: int
    type: CaseType
    channel: Channel
    unit_id: str
    status: Status
    customer: Customer
    five_w: FiveW
    cause: Cause | None = None
    expectation: LongText | None = None
    received_at: datetime
    receiver: str | None = None
    receiver_id: str | None = None
    handler: str | None = None
    handler_id: str | None = None
    finding: Finding | None = None
    resolution: Resolution | None = None
    feedback: Feedback | None = None
    closed_reason: str | None = None
    closed_at: datetime | None = None
    important: Importance | None = None
    root_cause: RootCause | None = None
    rectification: Rectification | None = None
    spot_checks: tuple[SpotCheckVerdict, ...] = ()
    legal_hold: LegalHold | None = None
    risk: RiskFlag | None = None
    archive: ArchivedFile | None = None
    special: SpecialExtension | None = None
    special_request: SpecialRequest | None = None
    reply_promised_by: date | None = None
    praise: Praise | None = None
    suggestion_decision: SuggestionDecision | None = None
    suggestion_outcome: SuggestionOutcome | None = None
    customer_reply: CustomerReply | None = None
    follow_up: FollowUp | None = None
    acknowledgements: tuple[Acknowledgement, ...] = ()
    forwarded_from: tuple[str, ...] = ()
    created_at: datetime
    updated_at: datetime


class Case(CaseFacts):
    """One registered contact (客户投诉登记) with everything the register must hold (§2) and the
    deadline clocks that run on it (§8)."""

    clocks: dict[str, Clock] = Field(default_factory=dict)


class HistoryEvent(BaseModel):
    """One change to a case: who, when, what, and each changed field before/after."""

    model_config = ConfigDict(frozen=True)

    seq: int
    at: datetime
    actor: str
    actor_id: str | None = None
    action: str
    from_status: Status | None
    to_status: Status
    changes: dict[str, dict[str, Any]] = Field(default_factory=dict)
    note: str | None = None


def _known_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {name!r}") from exc
    return name


class UnitKind(StrEnum):
    """Rulebook §4: branch → county company → store / department."""

    BRANCH = "branch"
    COUNTY = "county"
    STORE = "store"
    DEPARTMENT = "department"


class ManagerContact(Strict):
    """A person a unit's escalations are for, as the staff directory lists them."""

    name: ShortText
    role: ShortText
    phone: PhoneNumber | None = None
    email: Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN)] | None = None
    staff_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    language: Annotated[str, StringConstraints(max_length=8)] = "zh"


CALENDAR_PATTERN = r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"
# The people of one unit its escalations are for (drawn from the staff directory).
MAX_MANAGERS = 20


class UnitView(Strict):
    """A unit as anyone signed in reads it (GET /units): where it sits, and the time zone and
    calendar its clocks use: a country (`CN`) or a country's subdivision whose holidays differ
    (`GB-ENG`, `GB-SCT`). No manager phone numbers or emails."""

    unit_id: UnitId
    name: ShortText
    kind: UnitKind
    parent_id: UnitId | None = None
    time_zone: Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_time_zone)]
    calendar: Annotated[str, StringConstraints(max_length=6, pattern=CALENDAR_PATTERN)]

    @classmethod
    def of(cls, unit: Unit) -> UnitView:
        return cls.model_validate(unit.public_view())


class Unit(UnitView):
    """A unit of the organisation as the service keeps it: its public view, and the managers its
    escalations are for."""

    managers: Annotated[tuple[ManagerContact, ...], Field(max_length=MAX_MANAGERS)] = ()

    def public_view(self) -> dict[str, Any]:
        """What GET /units shows: no manager phone numbers or emails."""
        return self.model_dump(mode="json", exclude={"managers"})


# What each input pattern means, in words a person can act on: a refused field says this rather
# than the regular expression (the OpenAPI document keeps the pattern itself).
PATTERN_MEANINGS = {
    PHONE_PATTERN: "a phone number: 6 to 25 digits, with spaces, brackets, hyphens and a leading + allowed",
    EMAIL_PATTERN: "an email address such as name@example.com",
    UNIT_ID_PATTERN: "a unit id: lowercase letters, digits and hyphens, such as store-xh-01",
    CALENDAR_PATTERN: "a calendar: a country code such as CN, or a region such as GB-ENG",
    ROOT_CAUSE_PATTERN: "a root-cause code: 2 to 40 lowercase letters, digits and hyphens, such as cashier-double-scan",
}
