"""Use cases of the case service: intake, reading, listing and lifecycle actions."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from chalicelib.domain import commands as cmd
from chalicelib.domain import lifecycle
from chalicelib.domain.auth import MANAGERS, Principal, in_territory, may_act
from chalicelib.domain.calendar import (
    CalendarDates,
    CalendarLoaded,
    MovedDeadline,
    UnitClock,
    WorkingCalendar,
    country_of,
)
from chalicelib.domain.case_document import CaseDocument, CaseSummary, Page, case_document
from chalicelib.domain.clocks import DEFAULT_FOLLOW_UP_DAYS
from chalicelib.domain.customer_messages import NEXT_STEPS, CustomerMessageView
from chalicelib.domain.customers import in_the_units_language
from chalicelib.domain.delivery import Delivery
from chalicelib.domain.errors import (
    AlreadyRegistered,
    CaseIdTaken,
    CaseNotFound,
    IdempotencyConflict,
    InvalidInput,
    RequestInProgress,
    StaleVersion,
    VersionRequired,
)
from chalicelib.domain.escalation import Escalation, Ladder, alarm_changes, notices_at_intake
from chalicelib.domain.follow_up import with_follow_up
from chalicelib.domain.identifiers import is_case_id, new_case_id
from chalicelib.domain.models import Case, HistoryEvent, Praise, PraisedStaff, Status, Unit
from chalicelib.domain.public_status import PublicStatus, Receipt, rated_by_customer
from chalicelib.domain.risk import flag_at_intake
from chalicelib.domain.staff import StaffMember, e164
from chalicelib.domain.statistics import stat_deltas
from chalicelib.observability import count, logger
from chalicelib.services.customer_contact import CustomerContactService, Outgoing
from chalicelib.services.customers import CustomerHistory
from chalicelib.services.ports import (
    AcknowledgedLevel,
    CalendarOverrides,
    CaseRecord,
    CaseRepository,
    IntakeKey,
    StaffLookup,
    UnitRegistry,
)

_call_token: ContextVar[str] = ContextVar("intake_call_token", default="")
# The case this call just created, so the response needs no read-back; a replay reads the store.
_created: ContextVar[tuple[Case, HistoryEvent, list[Escalation]] | None] = ContextVar("intake_created", default=None)


@dataclass(frozen=True)
class IntakeOutcome:
    case: CaseDocument
    replayed: bool


class CaseService:
    def __init__(self, cases: CaseRepository, units: UnitRegistry,
                 now: Callable[[], datetime], idempotency: Any | None = None,
                 ladder: Ladder | None = None, calendars: CalendarOverrides | None = None,
                 send_notices: Callable[[Sequence[Escalation]], None] | None = None,
                 backdate_limit: timedelta = cmd.DEFAULT_BACKDATE_LIMIT, staff: StaffLookup | None = None,
                 follow_up_days: int = DEFAULT_FOLLOW_UP_DAYS,
                 risk_phrases: Callable[[], Sequence[str]] | None = None,
                 customers: CustomerHistory | None = None, contact: CustomerContactService | None = None) -> None:
        """`idempotency` is a callable wrapper (powertools idempotent_function) or None;
        `send_notices` sends media/regulator notices at once (the escalation run retries them);
        `backdate_limit` is how far back staff may date a receipt; `staff` is the staff directory
        (handlers, receivers and managers are people in it); `follow_up_days` is when a resolved
        complaint's follow-up contact is due (rulebook §5); `risk_phrases` gives the current list
        of escalation-risk phrases (none: no case is flagged); `customers` links the cases of one
        customer (none: no case shows earlier ones); `contact` tells the customer
        (services/customer_contact.py: receipts at intake, the answer at resolve)."""
        self._follow_up_days = follow_up_days
        self._cases = cases
        self._contact = contact
        self._staff = staff
        self._backdate_limit = backdate_limit
        self._units = units
        self._now = now
        self._ladder = ladder or Ladder()
        self._calendars = calendars
        self._send_notices = send_notices
        self._risk_phrases = risk_phrases
        self._customers = customers
        self._register_once = idempotency(self._register_new) if idempotency else None
        self._idempotency_config = getattr(idempotency, "config", None)

    def bind_lambda_context(self, context: Any) -> None:
        """Lets idempotency expire an in-progress record when the invocation would time out."""
        if context is not None and self._idempotency_config is not None:
            self._idempotency_config.register_lambda_context(context)

    # --- intake -----------------------------------------------------------------------
    def register(self, request: cmd.IntakeRequest, idempotency_key: str | None,
                 by: Principal | str) -> IntakeOutcome:
        """Rulebook §1: every case is registered; the same Idempotency-Key never makes a second.
        `by` is the signed-in user (who may register only for units in their territory) or, for a
        trusted caller such as a test or an import, the actor's name."""
        principal = by if isinstance(by, Principal) else None
        actor = principal.name if principal else str(by)
        self._check_intake(request, principal)
        request = self._in_the_units_language(request)
        call = {"key": idempotency_key,
                "payload": {"request": request.model_dump(mode="json"), "actor": actor,
                            "actor_id": principal.subject if principal else None}}
        _created.set(None)
        if idempotency_key is None or self._register_once is None:
            self._register_new(call)
            return IntakeOutcome(self._created_view(principal), replayed=False)
        token = uuid.uuid4().hex
        _call_token.set(token)
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )
        try:
            stored = self._register_once(request=call)
        except IdempotencyValidationError as exc:
            raise IdempotencyConflict(
                "this Idempotency-Key was already used with a different request body") from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise RequestInProgress(
                "a request with this Idempotency-Key is still being processed; retry shortly") from exc
        if stored.get("token") == token:
            return IntakeOutcome(self._created_view(principal), replayed=False)
        logger.info("idempotent replay", extra={"case_id": stored["case_id"]})
        return IntakeOutcome(self._view(stored["case_id"], principal), replayed=True)

    def register_public(self, request: cmd.PublicIntakeRequest) -> Receipt:
        """A complainant files through the public web form. The receipt carries the case
        number, the statutory date by which they will hear back, and a tracking token: the only
        way to read the case's status later. The lookup holds only its SHA-256; a customer who agreed
        to be written to has it kept with the case, so every later message carries the same link."""
        intake = self._in_the_units_language(request.as_intake())
        if intake.customer.value is not None:
            raise InvalidInput("the case cannot be registered as sent",
                               {"customer.value": "not a field you can set: staff record the customer's value"})
        self._check_intake(intake, None)
        token = secrets.token_urlsafe(24)
        _created.set(None)
        self._register_new({"key": None, "payload": {"request": intake.model_dump(mode="json"),
                                                      "actor": "web form", "tracking_hash": _hashed(token),
                                                      "tracking_token": token}})
        created = _created.get()
        assert created is not None
        case = created[0]
        return Receipt(**dict(self._public_view(case)), tracking_token=token, status_url=f"/public/track/{token}",
                       next_steps=NEXT_STEPS[case.type.value])

    def track(self, token: str) -> PublicStatus:
        """What a complainant may see with their token: status and deadlines, no staff notes."""
        case_id = self._cases.tracked_case(_hashed(token)) if 16 <= len(token) <= 64 else None
        if case_id is None:
            raise CaseNotFound("no case for this tracking token")
        record = self._cases.get(case_id)
        return self._public_view(record.case, rated_by_customer(record.history))

    def _public_view(self, case: Case, rated: bool = False) -> PublicStatus:
        unit = self._units.get(case.unit_id)
        return PublicStatus.of(case, unit.name if unit else case.unit_id, self._time_zone(case.unit_id),
                               self._now(), rated)

    def _in_the_units_language(self, request: cmd.IntakeRequest) -> cmd.IntakeRequest:
        unit = self._units.get(request.unit_id)
        if unit is None:
            return request
        return request.model_copy(update={"customer": in_the_units_language(request.customer, unit.calendar)})

    def _check_intake(self, request: cmd.IntakeRequest, by: Principal | None) -> None:
        """The rulebook's intake rules, and a unit that exists and (for staff) is in their territory."""
        problems = cmd.intake_rule_violations(request, self._now(), self._backdate_limit)
        unit = self._units.get(request.unit_id)
        if unit is None or not self._visible(by, request.unit_id):
            problems["unit_id"] = f"no unit {request.unit_id!r} in the organisation"
        else:
            if "customer.phone" not in problems:
                try:  # the call-back number (rulebook §1), read in the unit's country unless it names its own
                    e164(request.customer.phone, country_of(unit.calendar))
                except ValueError as exc:
                    problems["customer.phone"] = (f"{exc}: give a number the customer can be called back on "
                                                  "(a number abroad with its country code, e.g. +44 7911 123456)")
            if request.praised is not None and request.praised.staff and "praised" not in problems \
                    and "praised.staff" not in problems:
                try:
                    self._praised_people(request.praised.staff, request.unit_id, "praised.staff")
                except InvalidInput as refused:
                    problems.update(refused.fields)
        if problems:
            raise InvalidInput("the case cannot be registered as sent", problems)

    def _created_view(self, by: Principal | None) -> CaseDocument:
        created = _created.get()
        assert created is not None, "_register_new ran in this call"
        case, event, notices = created
        return self._document(case, [event], notices, by)

    def _document(self, case: Case, history: Sequence[HistoryEvent], escalations: Sequence[Escalation],
                  by: Principal | None, deliveries: Sequence[Delivery] = (),
                  told: Sequence[CustomerMessageView] | None = None) -> CaseDocument:
        """The case as the user reads it, offering the actions the case allows now and the user's
        role may call (a console offers exactly those); without a user, every action the case allows.
        `told` is what the customer was sent, as the case's partition read it; None reads it anew
        (a message was just sent)."""
        now = self._now()

        def actions(current: Case, escalated: bool) -> list[str]:
            return [action for action in lifecycle.applicable_actions(current, escalated, now)
                    if by is None or may_act(by, action)]

        earlier = (self._customers.earlier(case, lambda unit_id: self._visible(by, unit_id))
                   if self._customers is not None else [])
        if told is None:
            told = (self._contact.messages(case.case_id)
                    if self._contact is not None and case.customer.contact_consent else [])
        return case_document(case, history, escalations, now, self._time_zone(case.unit_id), actions, deliveries,
                             earlier, told)

    def _register_new(self, request: dict[str, Any]) -> dict[str, Any]:
        """The one place a case is created; `request` is {"key", "payload"} as idempotency hashes it."""
        payload = request["payload"]
        intake = cmd.IntakeRequest.model_validate(payload["request"])
        clock = self.unit_clock(intake.unit_id)
        assert clock is not None, "register() checked the unit"
        for _attempt in range(3):
            now = self._now()
            case, event = lifecycle.register(new_case_id(), intake, now, payload["actor"], clock,
                                             payload.get("actor_id"))
            if intake.praised is not None:
                case = case.model_copy(update={"praise": Praise(
                    staff=self._praised_people(intake.praised.staff, intake.unit_id, "praised.staff"),
                    description=intake.praised.description, recorded_by=payload["actor"], recorded_at=now)})
            if self._risk_phrases is not None:
                case, event = flag_at_intake(case, event, self._risk_phrases(), now)
            alarms, _ = alarm_changes(None, case, self._ladder)
            notices = notices_at_intake(case, self._units, now)
            receipt = self._customer_receipt(case, payload.get("tracking_token"))
            try:
                self._cases.add(case, event, alarms, notices,
                                tracking_hash=payload.get("tracking_hash") or receipt.tracking_hash,
                                intake_key=self._intake_key(request["key"], now),
                                stats=stat_deltas(None, case, now, clock),
                                also=[*(self._customers.link_items(case) if self._customers else ()),
                                      *receipt.writes])
            except CaseIdTaken:
                continue  # the drawn id is taken: draw another
            except AlreadyRegistered as done:
                # The key's first call stored its case but died before idempotency recorded it.
                logger.info("intake key already made a case", extra={"case_id": done.case_id})
                return {"case_id": done.case_id, "token": None}
            logger.thread_safe_append_keys(case_id=case.case_id)
            logger.info("case received", extra={"type": case.type.value,
                                                "channel": case.channel.value,
                                                "unit_id": case.unit_id})
            count("CasesReceived", channel=case.channel.value, type=case.type.value)
            _created.set((case, event, notices))
            self._notify(notices)
            self._tell_customer(receipt)
            return {"case_id": case.case_id, "token": _call_token.get()}
        raise RuntimeError("could not draw a free case id in 3 attempts")

    def _intake_key(self, key: str | None, now: datetime) -> IntakeKey | None:
        if key is None or self._idempotency_config is None:
            return None
        keep = timedelta(seconds=self._idempotency_config.expires_after_seconds)
        return IntakeKey(hashlib.sha256(key.encode()).hexdigest(), now + keep)

    def _notify(self, notices: Sequence[Escalation]) -> None:
        """The case is stored with its notices pending; a failure here only delays them a run."""
        if not notices or self._send_notices is None:
            return
        try:
            self._send_notices(notices)
        except Exception:
            logger.exception("media/regulator notice not sent at intake; the escalation run retries it")
            count("EscalationPublishFailed", len(notices))

    # --- telling the customer, and the customer's own rating -----------------------------
    def _customer_receipt(self, case: Case, tracking_token: str | None) -> Outgoing:
        """The receipt the new case owes its customer (written in the case's own transaction)."""
        if self._contact is None:
            return Outgoing()
        return self._contact.at_intake(case, tracking_token)[0]

    def _owed_to_customer(self, action: str, updated: Case, command: cmd.ActionCommand) -> Outgoing | None:
        """What an action owes the customer, written in its own transaction: the answer on
        `resolve`, the reply to a suggestion when it is recorded, and the date it was promised by
        (rulebook §1: every matter answered)."""
        if self._contact is None:
            return None
        if action in ("resolve", "record-suggestion-reply"):  # the reply resolves a promised suggestion
            return self._contact.on_resolve(updated)
        if action == "promise-reply":
            return self._contact.on_reply_promised(updated)
        return None

    def _tell_customer(self, outgoing: Outgoing | None) -> None:
        """After the commit; a provider's failure leaves the message due for the next run."""
        if outgoing is None or not outgoing.messages or self._contact is None:
            return
        try:
            self._contact.send(outgoing.messages)
        except Exception:
            logger.exception("customer messages not sent now; the deliver schedule retries them")

    def rate(self, token: str, answer: cmd.SurveyAnswer) -> PublicStatus:
        """Rulebook §5: the customer rates the handling on their tracking page; their own rating
        (marked as theirs) closes the case. One rating per case: a second is refused (409)."""
        from chalicelib.domain.errors import IllegalTransition

        case_id = self._cases.tracked_case(_hashed(token)) if 16 <= len(token) <= 64 else None
        if case_id is None:
            raise CaseNotFound("no case for this tracking token")
        logger.thread_safe_append_keys(case_id=case_id)
        record = self._cases.get(case_id)
        case = record.case
        if rated_by_customer(record.history):
            raise IllegalTransition("this case has already been rated; thank you")
        if case.status is not Status.RESOLVED:
            raise IllegalTransition("the survey opens once the case has been answered"
                                    if case.status is not Status.CLOSED else "this case is closed")
        now, clock = self._now(), self.unit_clock(case.unit_id)
        updated, event = lifecycle.apply_action(case, "record-feedback", cmd.CustomerFeedback.of(answer), now, clock)
        alarms, stopped = alarm_changes(case, updated, self._ladder)
        self._cases.save(updated, event, expected_version=case.version, alarms=alarms, stopped_clocks=stopped,
                         stats=stat_deltas(case, updated, now, clock) if clock else [])
        logger.info("customer rated the case", extra={"satisfaction": answer.satisfaction})
        count("CustomerRatings", rating=str(answer.satisfaction))
        return self._public_view(updated, rated=True)

    # --- reading ----------------------------------------------------------------------
    def get(self, case_id: str, by: Principal | None = None) -> CaseDocument:
        return self._view(case_id, by)

    def _visible(self, by: Principal | None, unit_id: str) -> bool:
        """A user sees their unit and the units below it; None is a trusted internal caller."""
        return by is None or in_territory(by, unit_id, self._units.lineage)

    def _load(self, case_id: str, by: Principal | None = None) -> CaseRecord:
        """A case outside the user's territory is "not found", exactly like one that does not exist."""
        if not is_case_id(case_id):
            raise CaseNotFound(f"no case {case_id[:40]!r}")
        logger.thread_safe_append_keys(case_id=case_id)
        record = self._cases.get(case_id)
        if not self._visible(by, record.case.unit_id):
            raise CaseNotFound(f"no case {case_id}")
        return record

    def _view(self, case_id: str, by: Principal | None = None) -> CaseDocument:
        record = self._load(case_id, by)
        return self._document(record.case, record.history, record.escalations, by, record.deliveries,
                              record.customer_messages)

    def unit_clock(self, unit_id: str) -> UnitClock | None:
        return unit_clock(self._units, self._calendars, unit_id)

    def _is_manager(self, by: Principal | None, actor: str, unit_id: str) -> bool:
        """Rulebook §4 (tiered responsibility): the signed-in user holds a manager's role in the
        staff directory on the unit or on a unit above it. A trusted caller (no token) names the
        person, who must be such a manager in the directory."""
        lineage = self._units.lineage(unit_id)
        if by is not None:
            return bool(by.roles & MANAGERS) and by.unit_id in lineage
        return any(member.name == actor and member.manages(lineage) for member in self._people())

    def _people(self) -> list[StaffMember]:
        return self._staff.all() if self._staff is not None else []

    def _colleague(self, field: str, wanted: str, unit_id: str) -> StaffMember:
        """The active member of staff of the unit or a unit above it named by id or by name."""
        lineage = self._units.lineage(unit_id)

        def matching() -> list[StaffMember]:
            return [m for m in self._people() if m.active and m.unit_id in lineage and wanted in (m.staff_id, m.name)]

        found = matching()
        if not found and self._staff is not None:  # added a moment ago, maybe in another container
            self._staff.refresh()
            found = matching()
        if len(found) == 1:
            return found[0]
        reason = ("more than one person has that name here: give the staff id" if found
                  else "not an active member of staff of this unit or a unit above it")
        raise InvalidInput(f"the {field} must be a member of the unit's staff", {field: reason})

    def _time_zone(self, unit_id: str) -> str:
        unit = self._units.get(unit_id)
        return unit.time_zone if unit else "UTC"

    def of_unit(self, unit_id: str, status: Status | None, page_size: int, cursor: str | None,
             by: Principal | None = None) -> Page[CaseSummary]:
        """Rulebook §4: a unit reads its own register, optionally by status, newest first."""
        if self._units.get(unit_id) is None or not self._visible(by, unit_id):
            raise InvalidInput("the list cannot be read as asked",
                               {"unit_id": f"no unit {unit_id[:40]!r} in the organisation"})
        cases, next_cursor = self._cases.list_by_unit(unit_id, status, page_size, cursor)
        now, tz = self._now(), self._time_zone(unit_id)
        return Page([CaseSummary.of(case, now, tz) for case in cases], next_cursor)

    # --- lifecycle --------------------------------------------------------------------
    def act(self, case_id: str, action: str, command: cmd.ActionCommand,
            if_match: int | None, by: Principal | None = None) -> CaseDocument:
        """One lifecycle action under optimistic locking; the version check is the conditional write."""
        expected = _expected_version(command.version, if_match)
        record = self._load(case_id, by)
        case, history, escalations = record.case, record.history, record.escalations
        if case.version != expected:
            raise StaleVersion(f"case {case_id} is at version {case.version}, not {expected}; "
                               "reload it and try again")
        if isinstance(command, cmd.Forward) and self._units.get(command.to_unit_id) is None:
            raise InvalidInput("the case cannot be forwarded there",
                               {"to_unit_id": f"no unit {command.to_unit_id!r} in the organisation"})
        if isinstance(command, cmd.MarkSpecial) and not self._is_manager(by, command.actor, case.unit_id):
            raise InvalidInput("a special extension is approved by a manager of the unit or a unit above it; "
                               "an agent requests it (request-special)",
                               {"actor": "not a manager of this unit or a unit above it"})
        if isinstance(command, cmd.Assign):
            member = self._colleague("handler", command.handler, case.unit_id)
            command = command.model_copy(update={"handler": member.name, "handler_id": member.staff_id})
        if isinstance(command, cmd.Accept) and command.receiver is not None:
            member = self._colleague("receiver", command.receiver, case.unit_id)
            command = command.model_copy(update={"receiver": member.name, "receiver_id": member.staff_id})
        command = self._people_named(command, case)
        also: list[AcknowledgedLevel] = []
        if isinstance(command, cmd.Acknowledge):
            self._check_acknowledgement(case, command, escalations, by)
            if _already_acknowledged(case, command):  # the same manager's second click: nothing new
                return self._document(case, history, escalations, by, record.deliveries, record.customer_messages)
            also = self._acknowledged_alarm(case, command)
        target_unit = command.to_unit_id if isinstance(command, cmd.Forward) else case.unit_id
        now, unit_clock = self._now(), self.unit_clock(target_unit)
        updated, event = lifecycle.apply_action(case, action, command, now, unit_clock)
        updated = with_follow_up(case, updated, now, self._time_zone(updated.unit_id), self._follow_up_days)
        alarms, stopped = alarm_changes(case, updated, self._ladder)
        stats = stat_deltas(case, updated, now, unit_clock) if unit_clock else []
        answer = self._owed_to_customer(action, updated, command)
        self._cases.save(updated, event, expected_version=expected, alarms=alarms, stopped_clocks=stopped,
                         stats=stats, also=[*also, *(answer.writes if answer else [])])
        self._tell_customer(answer)
        logger.info("case changed", extra={"action": action, "from_status": case.status.value,
                                           "to_status": updated.status.value,
                                           "version": updated.version})
        count("CaseTransitions", action=action)
        return self._document(updated, [*history, event], escalations, by, record.deliveries,
                              None if answer and answer.messages else record.customer_messages)

    def _people_named(self, command: cmd.ActionCommand, case: Case) -> cmd.ActionCommand:
        """The praised staff and the deciding leader are people of the staff directory (of the
        case's unit or a unit above it), named by name or staff id; the command gets their ids."""
        if isinstance(command, cmd.RecordPraise):
            return command.model_copy(update={
                "praised_staff": self._praised_people(command.staff, case.unit_id, "staff")})
        if isinstance(command, cmd.PromiseReply | cmd.RecordSuggestionReply) and command.decided_by is not None:
            leader = self._colleague("decided_by", command.decided_by, case.unit_id)
            return command.model_copy(update={"decided_by": leader.name, "decided_by_id": leader.staff_id})
        if isinstance(command, cmd.PromiseReply | cmd.RecordSuggestionReply):
            return command.model_copy(update={"decided_by_id": None})
        return command

    def _praised_people(self, names: Sequence[str], unit_id: str, field: str) -> tuple[PraisedStaff, ...]:
        """Each name or staff id as the directory's person, once each; 400 naming every one not found."""
        people: dict[str, PraisedStaff] = {}
        problems: dict[str, str] = {}
        for n, wanted in enumerate(names):
            try:
                member = self._colleague(field, wanted, unit_id)
            except InvalidInput as refused:
                problems[f"{field}.{n}"] = next(iter(refused.fields.values()))
                continue
            people.setdefault(member.staff_id, PraisedStaff(staff_id=member.staff_id, name=member.name,
                                                            unit_id=member.unit_id))
        if problems:
            raise InvalidInput("the staff praised must be people of the unit's staff", problems)
        return tuple(people.values())

    def _check_acknowledgement(self, case: Case, command: cmd.Acknowledge,
                               escalations: Sequence[Escalation], by: Principal | None) -> None:
        """Only a manager of the unit (or above) acknowledges, and only an escalation that was sent."""
        problems = {}
        if not self._is_manager(by, command.actor, case.unit_id):
            problems["actor"] = "not a manager of this unit or a unit above it"
        if not any(e.clock == command.clock and command.level in e.levels for e in escalations):
            problems["level"] = f"no {command.level!r} escalation of the {command.clock!r} clock on this case"
        if problems:
            raise InvalidInput("the escalation cannot be acknowledged", problems)

    def _acknowledged_alarm(self, case: Case, command: cmd.Acknowledge) -> list[AcknowledgedLevel]:
        """While the clock runs, its alarm learns the acknowledged level (daily reminders to the
        top of the organisation stop once the top has acknowledged)."""
        clock = case.clocks.get(command.clock)
        if clock is None or not clock.running:
            return []
        return [AcknowledgedLevel(case.case_id, command.clock, clock.deadline_version, command.level)]

    # --- calendars --------------------------------------------------------------------
    def calendar(self, country: str) -> CalendarDates:
        overrides = self._calendars.get(country.upper()) if self._calendars else {}
        return CalendarDates.of(country.upper(), overrides)

    def load_calendar_overrides(self, country: str, dates: dict[date, bool | None], actor: str) -> CalendarLoaded:
        """Official dates loaded without a deploy; every open working-day clock of the
        country's units is counted again and each moved deadline is recorded in its history."""
        if self._calendars is None:
            raise RuntimeError("no calendar store configured")
        country = country.upper()
        now = self._now()
        self._calendars.merge(country, dates, actor, now)
        moved: list[MovedDeadline] = []
        for unit in self._units.all():
            if country_of(unit.calendar) != country:  # a subdivision follows its country's dates
                continue
            clock = self.unit_clock(unit.unit_id)
            assert clock is not None
            for case in self._open_cases(unit.unit_id):
                moved += self._recompute(case, clock, now, actor, f"official {country} calendar dates loaded")
        logger.info("calendar overrides loaded", extra={"country": country, "dates": len(dates),
                                                        "deadlines_moved": len(moved)})
        return CalendarLoaded(**dict(self.calendar(country)), moved=moved)

    def _open_cases(self, unit_id: str) -> list[Case]:
        """Cases whose working-day clocks may still run (resolved ones have stopped theirs)."""
        return self._cases.cases_in(unit_id, (Status.RECEIVED, Status.ACCEPTED, Status.ASSIGNED,
                                              Status.INVESTIGATING))

    def recount_unit_deadlines(self, unit_id: str, actor: str, reason: str) -> list[MovedDeadline]:
        """The open working-day deadlines of one unit counted again in its (changed) calendar."""
        clock = self.unit_clock(unit_id)
        if clock is None:
            return []
        now = self._now()
        moved = [change for case in self._open_cases(unit_id) for change in
                 self._recompute(case, clock, now, actor, reason)]
        logger.info("unit deadlines recounted", extra={"unit_id": unit_id, "deadlines_moved": len(moved)})
        return moved

    def _recompute(self, case: Case, clock: UnitClock, now: datetime, actor: str,
                   reason: str) -> list[MovedDeadline]:
        for _attempt in range(3):
            changed = lifecycle.recompute_deadlines(case, clock, now, actor, reason)
            if changed is None:
                return []
            updated, event = changed
            alarms, stopped = alarm_changes(case, updated, self._ladder)
            try:
                self._cases.save(updated, event, case.version, alarms=alarms, stopped_clocks=stopped)
            except StaleVersion:
                case = self._cases.get(case.case_id).case  # changed meanwhile: count it again
                continue
            return [MovedDeadline(case_id=case.case_id, clock=name.removeprefix("deadlines."),
                                  before=datetime.fromisoformat(change["before"]),
                                  after=datetime.fromisoformat(change["after"]))
                    for name, change in event.changes.items() if name.startswith("deadlines.")]
        raise StaleVersion(f"case {case.case_id} kept changing while its deadlines were recomputed; "
                           "load the overrides again")

    def units(self) -> list[Unit]:
        return self._units.all()


def unit_clock(units: UnitRegistry, calendars: CalendarOverrides | None, unit_id: str) -> UnitClock | None:
    """Where the unit's working days are counted: its time zone and its country's calendar with
    the official dates an administrator loaded."""
    unit = units.get(unit_id)
    if unit is None:
        return None
    overrides = calendars.get(country_of(unit.calendar)) if calendars else None
    return UnitClock(unit.time_zone, WorkingCalendar(unit.calendar, overrides))


def _already_acknowledged(case: Case, command: cmd.Acknowledge) -> bool:
    """The same (clock, level, deadline version) acknowledged before: a second click changes nothing."""
    clock = case.clocks.get(command.clock)
    version = clock.deadline_version if clock else None
    return any(ack.clock == command.clock and ack.level == command.level and ack.deadline_version == version
               for ack in case.acknowledgements)


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _expected_version(body_version: int | None, if_match: int | None) -> int:
    if body_version is not None and if_match is not None and body_version != if_match:
        raise InvalidInput("If-Match and body version disagree",
                           {"version": f"body says {body_version}, If-Match says {if_match}"})
    expected = body_version if body_version is not None else if_match
    if expected is None:
        raise VersionRequired("send the case version you are changing, as If-Match or `version`")
    return expected
