"""The ports the services use: what they need from storage and the outside world, declared as
Protocols, with the types that cross them. Adapters implement them (chalicelib/adapters); tests
use in-memory fakes (tests/fakes.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.archive_records import ArchiveEntry, AuditExport, AuditRecord, LegalHold
from chalicelib.domain.customer_messages import CustomerMessage, CustomerMessageView
from chalicelib.domain.delivery import Delivery, DeliveryState, Medium, Pending, SentMessage
from chalicelib.domain.escalation import Alarm, Decision, DueItems, Escalation, OutgoingMessage
from chalicelib.domain.models import Case, CaseType, HistoryEvent, Status, Unit
from chalicelib.domain.staff import StaffMember
from chalicelib.domain.statistics import StatsDelta

if TYPE_CHECKING:  # the reports' models load only where reports are made
    from chalicelib.domain.reports import SampleOutcome, SpotCheckDraw


@dataclass(frozen=True)
class IntakeKey:
    """An intake's Idempotency-Key, claimed in the case's own transaction: even if the idempotency
    record is lost between two writes (a crash after the case was stored), the key cannot make a
    second case. Kept as long as the idempotency record."""

    key_hash: str
    expires_at: datetime


# --- the unit of work: what else a case's change writes, in the same transaction ------------------
@dataclass(frozen=True)
class AcknowledgedLevel:
    """A manager acknowledged `level` of a running deadline version: the clock's alarm records it,
    so daily reminders to the top stop once the top has acknowledged (rulebook §3)."""

    case_id: str
    clock: str
    deadline_version: int
    level: str


@dataclass(frozen=True)
class ArchiveConfirmation:
    """The case file is archived: its index entry, and the hot copy's expiry on the case's other
    items (`item_sks`; the rest are set one by one, beyond what a transaction holds)."""

    entry: ArchiveEntry
    item_sks: tuple[str, ...]


@dataclass(frozen=True)
class SpotCheckOutcome:
    """One sampled case's verified outcome; written once (a second outcome is refused)."""

    check_id: str
    result: SampleOutcome


@dataclass(frozen=True)
class FiledUnderCustomer:
    """A case filed under its customer's keyed hash (never the phone itself), so the customer's
    later cases find it (repeat complainants): at intake, and again when it is archived."""

    customer_key: str
    case_id: str
    unit_id: str
    type: CaseType
    received_at: datetime
    # Set when the case is archived: the link goes when the archived file may (rulebook §7), not
    # before (repeat complaints are counted across the retention period) and not after.
    expires_at: datetime | None = None


@dataclass(frozen=True)
class CustomerTrackingLink:
    """The case's tracking token, kept so every later message to the customer carries the same link
    (the tracking lookup itself uses only its SHA-256)."""

    case_id: str
    tracking_token: str


@dataclass(frozen=True)
class TrackingEntry:
    """The tracking lookup's entry (the token's SHA-256 → the case) for a case that had none."""

    case_id: str
    tracking_hash: str


@dataclass(frozen=True)
class CustomerMessageQueued:
    """A message to the customer, stored `queued` (and due) until a provider takes it."""

    message: CustomerMessage


@dataclass(frozen=True)
class SurveyReminderDue:
    """The satisfaction survey's one reminder, due `due` unless the customer rates first."""

    case_id: str
    due: datetime


# Written with the case or not at all: a case change and its cross-aggregate consequences.
AlsoWritten = (AcknowledgedLevel | ArchiveConfirmation | SpotCheckOutcome | FiledUnderCustomer | CustomerTrackingLink
               | TrackingEntry | CustomerMessageQueued | SurveyReminderDue)


@dataclass(frozen=True)
class CaseRecord:
    """Everything in a case's partition that a reader wants: the case, its history, its escalations."""

    case: Case
    history: list[HistoryEvent]
    escalations: list[Escalation]
    # Sort keys of every other item in the partition (events, escalations, alarms), e.g. for TTL.
    item_sks: list[str] = field(default_factory=list)
    # What became of each escalation's SMS and email to each person (chalicelib/domain/delivery.py).
    deliveries: list[Delivery] = field(default_factory=list)
    # What the customer was sent, as staff and the archive see it (addresses masked).
    customer_messages: list[CustomerMessageView] = field(default_factory=list)


class CaseRepository(Protocol):
    def add(self, case: Case, event: HistoryEvent, alarms: Sequence[Alarm] = (),
            escalations: Sequence[Escalation] = (), tracking_hash: str | None = None,
            intake_key: IntakeKey | None = None, stats: Sequence[StatsDelta] = (),
            also: Sequence[AlsoWritten] = ()) -> None: ...
    def tracked_case(self, tracking_hash: str) -> str | None: ...
    def case_of_intake_key(self, key_hash: str) -> str | None: ...
    def get(self, case_id: str) -> CaseRecord: ...
    def save(self, case: Case, event: HistoryEvent, expected_version: int,
             alarms: Sequence[Alarm] = (), stopped_clocks: Sequence[str] = (),
             also: Sequence[AlsoWritten] = (), stats: Sequence[StatsDelta] = ()) -> None: ...
    def list_by_unit(self, unit_id: str, status: Status | None, limit: int,
                     cursor: str | None) -> tuple[list[Case], str | None]: ...
    def cases_in(self, unit_id: str, statuses: Iterable[Status]) -> list[Case]: ...
    def received_between(self, unit_id: str, start: datetime, end: datetime,
                         statuses: frozenset[Status] | None = None) -> list[Case]: ...


class EscalationStore(Protocol):
    def due(self, now: datetime, limit: int) -> DueItems: ...
    def decide(self, decisions: Sequence[Decision], lease_until: datetime) -> list[Escalation]: ...
    def claim(self, retries: Sequence[Escalation], lease_until: datetime) -> list[Escalation]: ...
    def record(self, escalations: Sequence[Escalation], retry_at: datetime) -> None: ...


class Publisher(Protocol):
    def publish(self, messages: Sequence[OutgoingMessage]) -> dict[str, str | Exception]: ...


class UnitRegistry(Protocol):
    """The organisation's units (rulebook §4: territories are a unit and every unit below it)."""

    def all(self) -> list[Unit]: ...
    def get(self, unit_id: str, /) -> Unit | None: ...
    def lineage(self, unit_id: str) -> list[str]: ...
    def put(self, unit: Unit) -> None: ...


@dataclass(frozen=True)
class FileLock:
    """What the write-once store says protects one object version."""

    mode: str | None
    retain_until: datetime | None
    legal_hold: str


class ArchiveFiles(Protocol):
    """The write-once archive bucket: object versions locked in compliance mode (rulebook §7)."""

    def put_once(self, key: str, body: bytes, content_type: str, retain_until: datetime,
                 legal_hold: bool = False) -> str: ...
    def read(self, key: str, version_id: str) -> tuple[bytes, str | None]: ...
    def first_versions(self, prefix: str) -> dict[str, str]: ...
    def lock(self, key: str, version_id: str) -> FileLock: ...
    def presign(self, key: str, version_id: str, seconds: int) -> str: ...
    def set_legal_hold(self, key: str, version_id: str, on: bool) -> None: ...


class ArchiveIndex(Protocol):
    """What was archived where, the audit log of every access, and its daily exports."""

    def due(self, now: datetime, limit: int) -> tuple[list[str], int]: ...
    def set_expiry(self, case_id: str, sort_keys: Sequence[str], expires_at: datetime | None) -> None: ...
    def entries(self, case_id: str) -> list[ArchiveEntry]: ...
    def by_unit(self, unit_id: str, closed_from: date, closed_to: date, limit: int,
                cursor: str | None) -> tuple[list[ArchiveEntry], str | None]: ...
    def hold(self, entry: ArchiveEntry, hold: LegalHold) -> ArchiveEntry: ...
    def log(self, record: AuditRecord) -> None: ...
    def export_marker(self, day: date) -> AuditExport | None: ...
    def record_export(self, export: AuditExport) -> bool: ...
    def audit_log(self, case_id: str | None = None, day: date | None = None) -> list[AuditRecord]: ...


class StatisticsReader(Protocol):
    """Per unit and day counters; `items_read` counts what every call read."""

    items_read: int

    def days(self, unit_ids: Sequence[str], days: Sequence[date]) -> dict[tuple[str, date], dict[str, int]]: ...


class SentReports(Protocol):
    """Which scheduled report went out, so a retried run does not send it twice."""

    def was_sent(self, report_key: str) -> bool: ...
    def claim(self, report_key: str) -> bool: ...
    def release(self, report_key: str) -> None: ...


class SpotChecks(Protocol):
    """The branch's spot checks and their outcomes (rulebook §6)."""

    def create(self, check: SpotCheckDraw, replaces: str | None = None) -> bool: ...
    def holder(self, unit_id: str, date_from: date, date_to: date) -> str | None: ...
    def get(self, check_id: str) -> tuple[SpotCheckDraw, dict[str, SampleOutcome]] | None: ...


class UnitDirectory(Protocol):
    def all(self) -> list[Unit]: ...


class DigestClaim(Protocol):
    staff_id: str
    attempted: dict[str, str]
    results: dict[str, dict[str, Any]]


class DeliveryStore(Protocol):
    def enqueue(self, pendings: Sequence[Pending], now: datetime, gather: timedelta, window: timedelta) -> int: ...
    def due(self, now: datetime, limit: int) -> list[tuple[str, str]]: ...
    def claim(self, staff_id: str, due_key: str, now: datetime, lease_until: datetime) -> DigestClaim | None: ...
    def pendings(self, staff_id: str) -> list[Pending]: ...
    def attempting(self, staff_id: str, medium: Medium) -> None: ...
    def not_attempted(self, staff_id: str, medium: Medium) -> None: ...
    def release(self, staff_id: str, at: datetime) -> None: ...
    def result(self, staff_id: str, medium: Medium, result: dict[str, Any]) -> None: ...
    def finish(self, staff_id: str, deliveries: Sequence[Delivery], done: Sequence[Pending], now: datetime,
               sms_sent: bool, window: timedelta, messages: Sequence[SentMessage] = ()) -> None: ...
    def update_state(self, provider_id: str, state: DeliveryState, error: str | None) -> Delivery | None: ...
    def sent_to(self, staff_id: str, after: str = "") -> list[SentMessage]: ...
    def claim_report(self, staff_id: str, report_key: str, now: datetime) -> bool: ...
    def report_done(self, staff_id: str, report_key: str) -> None: ...
    def release_report(self, staff_id: str, report_key: str) -> None: ...
    def record_sent(self, staff_id: str, message: SentMessage, now: datetime, key: str) -> None:
        """One message in the person's own list of what was sent to them (a report's email)."""
        ...


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> str: ...


class EmailSender(Protocol):
    def send(self, to: str, subject: str, text: str, html: str) -> str: ...


class People(Protocol):
    def get(self, staff_id: str) -> StaffMember | None: ...


class StaffDirectory(Protocol):
    def put(self, member: StaffMember) -> None: ...
    def get(self, staff_id: str) -> StaffMember | None: ...
    def all(self) -> list[StaffMember]: ...


class Units(Protocol):
    def get(self, unit_id: str, /) -> Unit | None: ...
    def lineage(self, unit_id: str) -> list[str]: ...
    def all(self) -> list[Unit]: ...


class IdentityProvider(Protocol):
    def enrol(self, member: StaffMember, previous: StaffMember | None) -> str: ...


class StaffLookup(Protocol):
    def all(self) -> list[StaffMember]: ...
    def refresh(self) -> None: ...


class CalendarOverrides(Protocol):
    def get(self, country: str) -> dict[date, bool]: ...
    def merge(self, country: str, dates: dict[date, bool | None], actor: str,
              now: datetime) -> dict[date, bool]: ...


@dataclass(frozen=True)
class StoredPhrases:
    """The administrators' escalation-risk phrases as stored, and who stored them when."""

    phrases: tuple[str, ...]
    updated_by: str
    updated_at: datetime
    version: int


class PhraseStore(Protocol):
    def get(self) -> StoredPhrases | None: ...
    def put(self, phrases: tuple[str, ...], actor: str, now: datetime, expected_version: int) -> StoredPhrases:
        """Stores the list if the stored one is still `expected_version` (0: none stored yet);
        StaleVersion otherwise."""
        ...


@dataclass(frozen=True)
class CustomerLink:
    """One case in a customer's index: what it was and where, never the phone or the name."""

    case_id: str
    unit_id: str
    type: CaseType
    received_at: datetime


class CustomerLinks(Protocol):
    def cases_of(self, key: str, limit: int = ...) -> list[CustomerLink]: ...
    def current(self, case_ids: Iterable[str]) -> dict[str, tuple[str, str]]: ...


@dataclass(frozen=True)
class DueContact:
    """Something owed to a customer that is due: an unsent message, or (`message_id` None) the
    satisfaction survey's reminder; `due_read` is its place in the due index as read."""

    case_id: str
    message_id: str | None
    due_read: str


@dataclass(frozen=True)
class Claimed:
    """A due message (None: the survey reminder) taken for a lease, and whether a sender had
    already tried it (then it is not sent again)."""

    message: CustomerMessage | None
    attempted: bool


class CustomerOutbox(Protocol):
    """What the customer is sent: each message's state, the due index the `deliver` schedule
    retries from, the tracking link, and the per-number SMS allowance."""

    def write(self, writes: Sequence[AlsoWritten]) -> None: ...
    def tracking_token(self, case_id: str) -> str | None: ...
    def due(self, now: datetime, limit: int) -> list[DueContact]: ...
    def claim(self, due: DueContact, lease_until: datetime) -> Claimed | None: ...
    def claim_message(self, message: CustomerMessage, lease_until: datetime) -> Claimed | None: ...
    def attempting(self, message: CustomerMessage) -> None: ...
    def retry_at(self, message: CustomerMessage, at: datetime) -> None: ...
    def finished(self, message: CustomerMessage, now: datetime) -> None: ...
    def reminder_done(self, case_id: str) -> None: ...
    def update_state(self, provider_id: str, state: DeliveryState, error: str | None) -> CustomerMessage | None: ...
    def take_sms_allowance(self, number_key: str, now: datetime, per_day: int) -> bool: ...
    def messages(self, case_id: str) -> list[CustomerMessage]: ...

