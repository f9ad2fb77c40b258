"""What clients may send: intake and one command per lifecycle action. Unknown fields are
refused (400), so a client can never set status, version, history or clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, StringConstraints

from chalicelib.domain.models import (
    STAFF_CHANNELS,
    CaseType,
    Cause,
    CauseCategory,
    Channel,
    Customer,
    FindingKind,
    FiveW,
    LongText,
    PraisedStaff,
    Remedy,
    RootCauseCode,
    ShortText,
    Strict,
    SuggestionOutcomeKind,
    UnitId,
)

# An example report (shown in the OpenAPI document; schemathesis sends it too, so fuzzing reaches
# past validation to a stored case).
_EXAMPLE_REPORT: dict[str, Any] = {
    "type": "complaint", "unit_id": "store-xh-01",
    "customer": {"name": "Wang Fang", "phone": "13800001234"},
    "five_w": {"when": "yesterday 15:00", "where": "checkout 2", "who": "cashier", "what": "charged twice",
               "how": "scanned twice"},
    "cause": {"category": "service"}, "expectation": "a refund of the double charge",
}


def _example(**extra: Any) -> ConfigDict:
    return ConfigDict(**Strict.model_config, json_schema_extra={"examples": [{**_EXAMPLE_REPORT, **extra}]})


# How far a client's clock may run ahead of ours before "received_at" counts as the future.
CLOCK_SKEW_SECONDS = 60
# How far back staff may date a receipt unless configured otherwise; nothing before EARLIEST_RECEIPT.
DEFAULT_BACKDATE_LIMIT = timedelta(days=30)
EARLIEST_RECEIPT = datetime(2000, 1, 1, tzinfo=UTC)
# The offsets in use on Earth run from UTC-12:00 to UTC+14:00; anything else is a typing error.
OFFSET_RANGE = (timedelta(hours=-12), timedelta(hours=14))


# The most people one praise names.
MAX_PRAISED_STAFF = 10
PraisedNames = Annotated[tuple[ShortText, ...], Field(max_length=MAX_PRAISED_STAFF)]


class PraisedRequest(Strict):
    """Rulebook §1 表扬: whom the customer praised: members of staff by name or staff id (the
    directory must know them), or a description when the customer could not name them."""

    staff: PraisedNames = ()
    description: LongText | None = None


class CaseReport(Strict):
    """What every channel reports about a contact (rulebook §2)."""

    type: CaseType
    unit_id: UnitId
    customer: Customer
    five_w: FiveW
    cause: Cause | None = None
    expectation: LongText | None = None
    praised: PraisedRequest | None = None


class IntakeRequest(CaseReport):
    """What staff register: the report, its channel, and (staff channels) when and by whom it came in."""

    model_config = _example(channel="in_store", receiver="Li Na")

    channel: Channel
    received_at: AwareDatetime | None = None
    receiver: ShortText | None = None


class PublicIntakeRequest(CaseReport):
    """What the public web form sends: no channel, receipt time or receiver to choose."""

    model_config = _example()

    def as_intake(self) -> IntakeRequest:
        return IntakeRequest(channel=Channel.WEB, **self.model_dump())


class HotlineIntakeRequest(CaseReport):
    """What a hotline system sends with its API key: the call, when it came in, who took it."""

    model_config = _example(receiver="hotline agent 7")

    received_at: AwareDatetime | None = None
    receiver: ShortText

    def as_intake(self) -> IntakeRequest:
        return IntakeRequest(channel=Channel.HOTLINE, **self.model_dump())


def intake_rule_violations(request: IntakeRequest, now: datetime,
                           backdate_limit: timedelta = DEFAULT_BACKDATE_LIMIT) -> dict[str, str]:
    """Rules that span fields (rulebook §1, §2); returns field → reason, empty when valid.
    A back-dated receipt starts its clocks in the past, so the escalation run tells every level at
    once: staff may back-date within `backdate_limit`, never to an impossible time."""
    problems: dict[str, str] = {}
    if request.channel is Channel.HOTLINE:
        for part in ("when", "where", "who", "how"):
            if getattr(request.five_w, part) is None:
                problems[f"five_w.{part}"] = "a hotline case must record all of the 5W"
    if request.type is CaseType.COMPLAINT and request.cause is None:
        problems["cause"] = "a complaint needs a cause category"
    problems.update(praise_rule_violations(request))
    if request.received_at is not None:
        if request.channel not in STAFF_CHANNELS:
            problems["received_at"] = "set by the service for web cases; leave it out"
        elif (request.received_at - now).total_seconds() > CLOCK_SKEW_SECONDS:
            problems["received_at"] = "cannot be in the future"
        elif not OFFSET_RANGE[0] <= (request.received_at.utcoffset() or timedelta(0)) <= OFFSET_RANGE[1]:
            problems["received_at"] = "the UTC offset must be between -12:00 and +14:00"
        elif request.received_at < EARLIEST_RECEIPT:
            problems["received_at"] = "cannot be before 2000-01-01"
        elif now - request.received_at > backdate_limit:
            problems["received_at"] = (f"at most {backdate_limit.days} days in the past; register an older "
                                       "contact with today's time and say when it came in, in the 5W")
    return problems


def praise_rule_violations(request: IntakeRequest) -> dict[str, str]:
    """Rulebook §1: a praise is recorded against the staff praised. Staff name them from the
    directory or describe them; the public form only describes them (staff link the names later,
    with `record-praise`, at the latest before the praise is resolved)."""
    praised = request.praised
    if praised is None:
        return {}
    if request.type is not CaseType.PRAISE:
        return {"praised": "only a praise names the staff praised"}
    if request.channel not in STAFF_CHANNELS and praised.staff:
        return {"praised.staff": "the web form describes the staff in `description`; staff link the names"}
    if not praised.staff and praised.description is None:
        return {"praised": "name the staff praised (staff) or describe them (description)"}
    return {}


# Fields of staff commands the service fills in (the signed-in user, the people a name resolved to):
# not part of what a client is asked to send.
SERVER_SET_FIELDS = frozenset({"actor", "actor_id", "handler_id", "receiver_id",
                               "decided_by_id", "praised_staff"})


class ActionCommand(Strict):
    """Every action names who does it and the version it was based on (or sends If-Match). The
    actor is the signed-in member of staff: the API sets `actor` (their name) and `actor_id`
    (their staff id) from the token, whatever a client sends."""

    actor: ShortText
    actor_id: ShortText | None = None
    version: Annotated[int, Field(ge=1)] | None = None
    note: LongText | None = None


class Accept(ActionCommand):
    """`receiver` (受理人): an active member of staff of the case's unit or above, by staff id or
    name; the signed-in user when left out. The service fills in `receiver_id`."""

    receiver: ShortText | None = None
    receiver_id: ShortText | None = None


class Assign(ActionCommand):
    """`handler` (处理人): an active member of staff of the case's unit or above, by staff id or
    name. The service fills in `handler_id`."""

    handler: ShortText
    handler_id: ShortText | None = None


class Forward(ActionCommand):
    to_unit_id: UnitId
    reason: LongText


class RecordFinding(ActionCommand):
    kind: FindingKind
    detail: LongText
    corrective_plan: LongText | None = None
    reported_to: ShortText | None = None
    investigator: ShortText | None = None


def _distinct(remedies: tuple[Remedy, ...]) -> tuple[Remedy, ...]:
    if len(set(remedies)) != len(remedies):
        raise ValueError("each remedy at most once")
    return remedies


# Rulebook §5 lists the remedies; a resolution names each it used once, at most MAX_REMEDIES.
MAX_REMEDIES = 10
Remedies = Annotated[tuple[Remedy, ...], Field(max_length=MAX_REMEDIES, json_schema_extra={"uniqueItems": True}),
                     AfterValidator(_distinct)]


class Resolve(ActionCommand):
    """`result` is the staff's record of what was done; `customer_message` is what the customer is
    told (their answer: sent to them if they agreed to be contacted, and shown on their tracking
    page). An inquiry's answer and a suggestion's reply are the customer message, so those need one."""

    result: LongText
    remedies: Remedies = ()
    customer_message: LongText | None = None


class RecordFeedback(ActionCommand):
    """Staff record the opinion the customer gave them by phone (marked as such on the case)."""

    satisfied: bool
    satisfaction: Annotated[int, Field(ge=1, le=5)]
    comment: LongText | None = None


class SurveyAnswer(Strict):
    """The customer's own answer to the satisfaction survey on their tracking page."""

    satisfaction: Annotated[int, Field(ge=1, le=5)]
    comment: LongText | None = None


class CustomerFeedback(RecordFeedback):
    """`record-feedback` as the customer's own (the tracking page's survey), never a client's
    command: built by the service from a SurveyAnswer."""

    @classmethod
    def of(cls, answer: SurveyAnswer) -> CustomerFeedback:
        # Rulebook §5 asks whether they are satisfied: 4 or 5 of 5 is "satisfied".
        return cls(actor="customer", satisfied=answer.satisfaction >= 4, satisfaction=answer.satisfaction,
                   comment=answer.comment)


class Close(ActionCommand):
    reason: LongText


class Reopen(ActionCommand):
    reason: LongText


class MarkSpecial(ActionCommand):
    """Rulebook §1/§8: a special complaint may take 7 working days, with a reason, approved by a
    manager of the unit or above — the signed-in manager, directly or by approving an agent's
    request (then the request's reason stands unless another is given)."""

    reason: LongText | None = None


class RequestSpecial(ActionCommand):
    """An agent asks for the 7-working-day limit; it takes effect when a manager approves it."""

    reason: LongText


class PromiseReply(ActionCommand):
    """Rulebook §1/§8: the leader decided; the customer is promised a reply by this date. The
    decision is kept on the case; `decided_by` is the leader (a member of staff of the unit or
    above, by name or staff id; the service fills in `decided_by_id`)."""

    reply_by: date
    decision: LongText | None = None
    decided_by: ShortText | None = None
    decided_by_id: ShortText | None = None


class Acknowledge(ActionCommand):
    """A manager acknowledges an escalation of one clock at one level (the actor is the manager)."""

    clock: ShortText
    level: ShortText


class MarkImportant(ActionCommand):
    """Rulebook §7: an important record is archived for longer; the reason is kept with it."""

    reason: LongText


class RecordRootCause(ActionCommand):
    """Rulebook §6: a handled complaint's root cause and the corrective action taken."""

    category: CauseCategory
    code: RootCauseCode
    corrective_action: LongText


class CompleteRectification(ActionCommand):
    """The unit reports the rectification a spot check ordered as done; its clock stops."""

    result: LongText


# --- praise, suggestion outcomes and follow-up care (rulebook §1, §5) ------------------------
class RecordPraise(ActionCommand):
    """Rulebook §1 表扬: name the staff praised (by name or staff id, from the directory), or
    describe them when the customer could not name them. Replaces what was recorded before.
    The service fills in `praised_staff`."""

    staff: PraisedNames = ()
    description: LongText | None = None
    praised_staff: Annotated[tuple[PraisedStaff, ...], Field(max_length=MAX_PRAISED_STAFF)] = ()


class RecordSuggestionReply(ActionCommand):
    """Rulebook §1 建议: the leader's outcome (adopted, partly adopted, not adopted; `decided_by`
    defaults to the leader named when the reply was promised) and the reply given to the customer
    (customer-facing, kept apart from notes). Recording it resolves the suggestion and stops its
    reply clock."""

    outcome: SuggestionOutcomeKind
    decided_by: ShortText | None = None
    decided_by_id: ShortText | None = None
    reply: LongText


class RecordFollowUp(ActionCommand):
    """Rulebook §5 跟踪反馈: the follow-up contact after a complaint was resolved: reached or not,
    satisfied now, an extra service offered (`offer`) and whether it was accepted."""

    reached: bool
    satisfied: bool | None = None
    offer: LongText | None = None
    offer_accepted: bool | None = None
    comment: LongText | None = None


class ClearRiskFlag(ActionCommand):
    """Staff judged the escalation-risk language found at intake a false alarm (a photo "曝光"
    over-exposed, a customer quoting a reporter's article); why is kept with the flag."""

    reason: LongText


class FileFormat(StrEnum):
    JSON = "json"
    HTML = "html"


class RetrieveArchivedFile(Strict):
    """An auditor asks for a short-lived link to a case file; the request is logged."""

    actor: ShortText
    format: FileFormat = FileFormat.JSON


class VerifyArchivedFiles(Strict):
    actor: ShortText


class SetLegalHold(Strict):
    """An auditor places (`hold`: true) or lifts a legal hold on every archived file of a case."""

    actor: ShortText
    hold: bool
    reason: LongText


class StartSpotCheck(Strict):
    """Rulebook §6: the branch samples `share` of a unit's handled cases received in the period."""

    actor: ShortText
    unit_id: UnitId
    from_date: date
    to_date: date
    share: Annotated[float, Field(gt=0, le=1)]


class SpotCheckResult(Strict):
    """One sampled case verified: does the recorded result match what was found? A mismatch orders
    rectification within `rectify_within_working_days` (default: the service's setting)."""

    actor: ShortText
    case_id: Annotated[str, StringConstraints(max_length=17, pattern=r"^CD-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$")]
    matches: bool
    note: LongText
    rectify_within_working_days: Annotated[int, Field(ge=1, le=30)] | None = None


class DayKind(StrEnum):
    HOLIDAY = "holiday"
    WORKING = "working"
    DEFAULT = "default"  # a date loaded by mistake: the calendar library's own answer again


class CalendarOverridesRequest(Strict):
    """Official dates an administrator loads: each date is a holiday or a (make-up) working day,
    or `default` to take back a date loaded before."""

    actor: ShortText
    dates: Annotated[dict[date, DayKind], Field(min_length=1, max_length=400)]

    def working_days(self) -> dict[date, bool | None]:
        """Each date's override: working (True), a holiday (False), or none any more (None)."""
        return {day: None if kind is DayKind.DEFAULT else kind is DayKind.WORKING for day, kind in self.dates.items()}


class StaffImport(Strict):
    """A bulk import of staff: rows as objects (JSON) or the text of a CSV file with a header row
    (name, unit_id, roles separated by `;`, phone, email, language, active, and staff_id to change
    an existing person)."""

    rows: list[dict[str, Any]] | None = Field(default=None, max_length=5000)
    csv: Annotated[str, StringConstraints(max_length=2_000_000)] | None = None
