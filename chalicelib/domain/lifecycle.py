"""The case lifecycle (rulebook §5): which action is allowed from which status, what it changes,
and the history event that records it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.domain import commands as cmd
from chalicelib.domain.calendar import UnitClock, working_days_deadline
from chalicelib.domain.clocks import (
    COMPLAINT_HANDLING_WORKING_DAYS,
    FOLLOW_UP_CLOCK,
    INQUIRY_ANSWER_LIMIT,
    RECTIFICATION_CLOCK,
    SPECIAL_COMPLAINT_HANDLING_WORKING_DAYS,
    Clock,
    end_of_local_day,
    initial_clocks,
)
from chalicelib.domain.errors import IllegalTransition, InvalidInput
from chalicelib.domain.models import (
    Acknowledgement,
    ArchivedFile,
    Case,
    CaseType,
    CustomerReply,
    Feedback,
    FeedbackSource,
    Finding,
    FindingKind,
    FollowUp,
    HistoryEvent,
    Importance,
    LegalHold,
    Praise,
    Rectification,
    Resolution,
    RootCause,
    SpecialExtension,
    SpecialRequest,
    SpotCheckVerdict,
    Status,
    SuggestionDecision,
    SuggestionOutcome,
)
from chalicelib.domain.roles import CASE_WORKERS, MANAGERS, Role


def _extensible(case: Case, now: datetime) -> bool:
    """A complaint's running handling clock can become special once, before it runs out."""
    handling = case.clocks.get("handling")
    return (case.type is CaseType.COMPLAINT and case.special is None and handling is not None
            and handling.running and now <= handling.due_at)


def _reply_awaited(case: Case) -> bool:
    """A suggestion whose customer was promised a reply is resolved by recording that reply."""
    reply = case.clocks.get("reply")
    return case.type is CaseType.SUGGESTION and reply is not None and reply.running


def _praise_unrecorded(case: Case) -> bool:
    """A praise is recorded against the staff praised (or their description) before it is resolved."""
    return case.type is CaseType.PRAISE and case.praise is None


def _follow_up_open(case: Case) -> bool:
    """A resolved complaint's follow-up is recorded once the customer was reached (an attempt
    that did not reach them may be followed by another). It may come after the case file was
    archived: it is then archived as an addendum, like a rectification."""
    clock = case.clocks.get(FOLLOW_UP_CLOCK)
    if case.type is not CaseType.COMPLAINT or clock is None:
        return False
    return clock.running if case.follow_up is None else not case.follow_up.reached


def applicable_actions(case: Case, escalated: bool, now: datetime) -> list[str]:
    """The actions that may be taken on the case now (its status, type and state allow them);
    `acknowledge` only once an escalation was sent about it."""
    return [name for name, action in ACTIONS.items()
            if case.status in action.allowed_from and action.applies(case, now)
            and (name != "acknowledge" or escalated)]


# Fields that change on every write and so are not worth a before/after entry.
_UNTRACKED = frozenset({"version", "updated_at", "clocks"})


def register(case_id: str, request: cmd.IntakeRequest, now: datetime, actor: str,
             unit_clock: UnitClock, actor_id: str | None = None) -> tuple[Case, HistoryEvent]:
    """A new case in status `received`, its clocks started at the moment of receipt and
    counted in the receiving unit's time zone and country calendar. `actor_id` is the staff id of
    the person who registered it (none for the web form or a hotline system)."""
    received_at = request.received_at or now
    case = Case(
        case_id=case_id,
        version=1,
        status=Status.RECEIVED,
        clocks=initial_clocks(request.type, received_at, unit_clock),
        created_at=now,
        updated_at=now,
        **request.model_dump(exclude={"received_at"}),
        received_at=received_at,
    )
    event = HistoryEvent(seq=1, at=now, actor=actor, actor_id=actor_id, action="receive", from_status=None,
                         to_status=Status.RECEIVED)
    return case, event


def apply_action(case: Case, action: str, command: cmd.ActionCommand, now: datetime,
                 unit_clock: UnitClock | None = None) -> tuple[Case, HistoryEvent]:
    """Apply one lifecycle action, refusing it with the reason when the status does not allow it.
    `unit_clock` is needed only by actions that recompute a working-day deadline."""
    declared = ACTIONS[action]
    allowed = declared.allowed_from
    if case.status not in allowed:
        wanted = ", ".join(sorted(s.value for s in allowed))
        raise IllegalTransition(
            f"cannot {action.replace('-', ' ')} a case that is {case.status.value}; "
            f"allowed only when it is {wanted}"
        )
    update = declared.change(case, command, now, unit_clock)
    updated = case.model_copy(update={**update, "version": case.version + 1, "updated_at": now})
    event = HistoryEvent(
        seq=updated.version,
        at=now,
        actor=command.actor,
        actor_id=command.actor_id,
        action=action,
        from_status=case.status,
        to_status=updated.status,
        changes={**_diff(case, updated), **_deadline_changes(case, updated)},
        note=command.note or getattr(command, "reason", None),
    )
    return updated, event


def _diff(before: Case, after: Case) -> dict[str, dict[str, Any]]:
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return {
        key: {"before": old[key], "after": new[key]}
        for key in new
        if key not in _UNTRACKED and old.get(key) != new[key]
    }


def _deadline_changes(before: Case, after: Case) -> dict[str, dict[str, Any]]:
    """A moved deadline is a change worth its own before/after line in the history."""
    return {
        f"deadlines.{name}": {"before": before.clocks[name].due_at.isoformat(),
                              "after": clock.due_at.isoformat()}
        for name, clock in after.clocks.items()
        if name in before.clocks and before.clocks[name].due_at != clock.due_at
    }


def _check_extensible(case: Case, now: datetime) -> Clock:
    """Rulebook §1/§8: 3 working days become 7, only for a complaint, once, before the 3 run out."""
    handling = case.clocks.get("handling")
    if case.type is not CaseType.COMPLAINT or handling is None:
        raise IllegalTransition(f"only complaints have a handling limit to extend, not a {case.type.value}")
    if case.special is not None:
        raise IllegalTransition("this complaint is already marked special")
    if handling.stopped_at is not None:
        raise IllegalTransition("the complaint's handling clock has stopped (it was resolved or closed); "
                                "reopen it first")
    if now > handling.due_at:
        raise IllegalTransition("the 3-working-day handling deadline has passed; it can no longer be extended")
    return handling


def _request_special(case: Case, command: cmd.RequestSpecial, now: datetime,
                     _unit_clock: UnitClock | None) -> dict[str, Any]:
    """An agent asks; nothing changes until a manager approves (the limit is checked again then)."""
    _check_extensible(case, now)
    if case.special_request is not None:
        raise IllegalTransition("a special extension was already requested; a manager approves it")
    return {"special_request": SpecialRequest(reason=command.reason, requested_by=command.actor,
                                              requested_by_id=command.actor_id, requested_at=now)}


def _mark_special(case: Case, command: cmd.MarkSpecial, now: datetime,
                  unit_clock: UnitClock | None) -> dict[str, Any]:
    """A manager's approval: 7 working days counted from the day the handling clock started (the
    day of receipt, or of reopening), recorded with the reason and who asked and approved."""
    handling = _check_extensible(case, now)
    request = case.special_request
    reason = command.reason or (request.reason if request else None)
    if reason is None:
        raise InvalidInput("a special extension needs a reason", {"reason": "required (no request is pending)"})
    if unit_clock is None:
        raise ValueError("mark-special needs the unit's time zone and calendar")
    due_at, provisional = working_days_deadline(handling.started_at, SPECIAL_COMPLAINT_HANDLING_WORKING_DAYS,
                                                unit_clock)
    extended = handling.moved_to(due_at, provisional)
    special = SpecialExtension(reason=reason, approver=command.actor, approver_id=command.actor_id, approved_at=now,
                               requested_by=request.requested_by if request else None,
                               requested_at=request.requested_at if request else None)
    return {"special": special, "special_request": None, "clocks": {**case.clocks, "handling": extended}}


def _stop_clocks(case: Case, names: Iterable[str], now: datetime, goal_met: bool) -> dict[str, Any]:
    """The update that stops the named clocks the case has (a stopped clock stays as it was)."""
    stopping = set(names) & set(case.clocks)
    return {"clocks": {name: clock.stop(now, goal_met) if name in stopping else clock
                       for name, clock in case.clocks.items()}}


def _accept(case: Case, command: cmd.Accept, now: datetime, _unit_clock: UnitClock | None) -> dict[str, Any]:
    named = command.receiver is not None
    return {"status": Status.ACCEPTED, "receiver": command.receiver if named else command.actor,
            "receiver_id": command.receiver_id if named else command.actor_id,
            **_stop_clocks(case, ["acceptance"], now, goal_met=True)}


def _assign(case: Case, command: cmd.Assign, now: datetime, _unit_clock: UnitClock | None) -> dict[str, Any]:
    return {"status": Status.ASSIGNED if case.status is not Status.INVESTIGATING else case.status,
            "handler": command.handler, "handler_id": command.handler_id}


def _forward(case: Case, command: cmd.Forward, now: datetime, unit_clock: UnitClock | None) -> dict[str, Any]:
    """Rulebook §2: a case outside the unit's scope goes to the right unit, which must accept it.
    `unit_clock` is the new unit's: working days now count in its time zone and calendar."""
    if command.to_unit_id == case.unit_id:
        raise InvalidInput("a case cannot be forwarded to the unit that holds it",
                           {"to_unit_id": "must differ from the case's current unit"})
    moved: dict[str, Any] = {"unit_id": command.to_unit_id, "status": Status.RECEIVED, "handler": None,
                             "handler_id": None, "forwarded_from": (*case.forwarded_from, case.unit_id)}
    if unit_clock is not None:
        moved["clocks"] = recomputed_clocks(case, unit_clock)
    return moved


def handling_working_days(case: Case) -> int:
    return SPECIAL_COMPLAINT_HANDLING_WORKING_DAYS if case.special else COMPLAINT_HANDLING_WORKING_DAYS


def recomputed_clocks(case: Case, unit_clock: UnitClock) -> dict[str, Clock]:
    """The case's clocks with each running working-day deadline counted again (a new unit, or a
    calendar whose official dates were loaded); stopped clocks keep their record."""
    handling = case.clocks.get("handling")
    if handling is None or not handling.running:
        return dict(case.clocks)
    due_at, provisional = working_days_deadline(handling.started_at, handling_working_days(case), unit_clock)
    return {**case.clocks, "handling": handling.moved_to(due_at, provisional)}


def recompute_deadlines(case: Case, unit_clock: UnitClock, now: datetime, actor: str,
                        reason: str) -> tuple[Case, HistoryEvent] | None:
    """Official calendar dates were loaded; the case's open deadlines follow them and the
    history says so. None when nothing moved."""
    clocks = recomputed_clocks(case, unit_clock)
    if clocks == case.clocks:
        return None
    return _recorded(case, {"clocks": clocks}, now, actor, "recompute-deadlines", reason, _deadline_changes)


def _record_finding(case: Case, command: cmd.RecordFinding, now: datetime,
                    _unit_clock: UnitClock | None) -> dict[str, Any]:
    """Rulebook §5: a violation is reported to the department leader; a mistake needs a plan."""
    if case.type is not CaseType.COMPLAINT:
        raise IllegalTransition(f"findings are recorded on complaints, not on a {case.type.value}")
    problems = {}
    if command.kind is FindingKind.ORDINARY_MISTAKE and not command.corrective_plan:
        problems["corrective_plan"] = "an ordinary mistake needs a corrective plan (整改方案)"
    if command.kind is FindingKind.VIOLATION and not command.reported_to:
        problems["reported_to"] = "a violation must name the leader it was reported to"
    if problems:
        raise InvalidInput("the finding is incomplete", problems)
    finding = Finding(kind=command.kind, detail=command.detail,
                      corrective_plan=command.corrective_plan, reported_to=command.reported_to,
                      investigator=command.investigator or case.handler or command.actor,
                      recorded_at=now)
    if case.status in (Status.RESOLVED, Status.CLOSED):
        # A later finding (a regulator's, a review's) on a handled or archived case: recorded
        # beside the outcome, the one it replaces kept in the history; an archived case gets it
        # as an addendum to its file (rulebook §7).
        return {"finding": finding}
    return {"status": Status.INVESTIGATING, "finding": finding}


def _resolve(case: Case, command: cmd.Resolve, now: datetime, _unit_clock: UnitClock | None) -> dict[str, Any]:
    if case.type is CaseType.COMPLAINT and case.finding is None:
        raise IllegalTransition("a complaint needs a recorded finding before it can be resolved")
    if _praise_unrecorded(case):
        raise IllegalTransition("record whom the customer praised (record-praise) before resolving the praise")
    if _reply_awaited(case):
        raise IllegalTransition("the customer was promised a reply: record the outcome and the reply "
                                "(record-suggestion-reply), which resolves the suggestion")
    if case.type in (CaseType.INQUIRY, CaseType.SUGGESTION) and not command.customer_message:
        what = "an inquiry's answer" if case.type is CaseType.INQUIRY else "a suggestion's reply"
        raise InvalidInput(f"{what} is what the customer is told",
                           {"customer_message": "required: the answer the customer receives"})
    resolution = Resolution(result=command.result, remedies=command.remedies,
                            customer_message=command.customer_message, resolved_by=command.actor, resolved_at=now)
    return {"status": Status.RESOLVED, "resolution": resolution,
            **_stop_clocks(case, ["answer", "handling", "reply"], now, goal_met=True)}


def _promise_reply(case: Case, command: cmd.PromiseReply, now: datetime,
                   unit_clock: UnitClock | None) -> dict[str, Any]:
    """Rulebook §1/§8: the suggestion's reply clock starts at the leader's decision and ends at
    the end of the promised date, unit-local; promising a new date moves the deadline."""
    if case.type is not CaseType.SUGGESTION:
        raise IllegalTransition(f"a reply date is promised for suggestions, not for a {case.type.value}")
    if unit_clock is None:
        raise ValueError("promise-reply needs the unit's time zone")
    due_at = end_of_local_day(command.reply_by, unit_clock.time_zone)
    if due_at <= now:
        raise InvalidInput("the promised reply date has already passed",
                           {"reply_by": "today or a later date, in the unit's time zone"})
    current = case.clocks.get("reply")
    reply = (current.moved_to(due_at, provisional=False) if current is not None and current.running
             else Clock(name="reply", started_at=now, due_at=due_at,
                        deadline_version=current.deadline_version + 1 if current else 1))
    decision = case.suggestion_decision
    if command.decision is not None:
        decision = SuggestionDecision(text=command.decision, decided_by=command.decided_by,
                                      decided_by_id=command.decided_by_id, recorded_by=command.actor,
                                      recorded_at=now)
    elif command.decided_by is not None:
        raise InvalidInput("name the leader together with the decision",
                           {"decision": "required when `decided_by` is given"})
    return {"reply_promised_by": command.reply_by, "clocks": {**case.clocks, "reply": reply},
            "suggestion_decision": decision}


def _clock_running(case: Case) -> bool:
    return any(clock.running for clock in case.clocks.values())


def _acknowledge(case: Case, command: cmd.Acknowledge, now: datetime,
                 _unit_clock: UnitClock | None) -> dict[str, Any]:
    """Recorded on the case and in its history; the clock keeps running. A closed case is
    acknowledged only while one of its clocks still runs (a follow-up call, a rectification):
    its escalations, and the daily reminders to the top, stop once the top has acknowledged."""
    clock = case.clocks.get(command.clock)
    if case.status is Status.CLOSED and (clock is None or not clock.running):
        raise IllegalTransition(f"the case is closed and its {command.clock} clock has stopped: "
                                "there is nothing left to acknowledge")
    ack = Acknowledgement(clock=command.clock, level=command.level, by=command.actor, by_id=command.actor_id,
                          at=now, deadline_version=clock.deadline_version if clock else None)
    return {"acknowledgements": (*case.acknowledgements, ack)}


def _record_feedback(case: Case, command: cmd.RecordFeedback, now: datetime,
                     _unit_clock: UnitClock | None) -> dict[str, Any]:
    """Rulebook §5: after handling, ask the customer's opinion; recording it closes the case. The
    customer's own survey answer is marked as theirs; staff record what was said on the phone."""
    own = isinstance(command, cmd.CustomerFeedback)
    feedback = Feedback(satisfied=command.satisfied, satisfaction=command.satisfaction,
                        comment=command.comment, recorded_at=now,
                        source=FeedbackSource.CUSTOMER if own else FeedbackSource.PHONE,
                        recorded_by=None if own else command.actor)
    return {"status": Status.CLOSED, "feedback": feedback, "closed_reason": "customer feedback",
            "closed_at": now}


def _close(case: Case, command: cmd.Close, now: datetime, _unit_clock: UnitClock | None) -> dict[str, Any]:
    """Explicit close: any clock still running is stopped without its goal met, but a resolved
    complaint's follow-up contact is still due (rulebook §5)."""
    return {"status": Status.CLOSED, "closed_reason": command.reason, "closed_at": now,
            **_stop_clocks(case, set(case.clocks) - {FOLLOW_UP_CLOCK}, now, goal_met=False)}


def _reopen(case: Case, command: cmd.Reopen, now: datetime, unit_clock: UnitClock | None) -> dict[str, Any]:
    """Back to work: to the handler if there is one; the old result stays in the history.
    Rulebook §8: a reopened case is a matter not yet answered, so its limits start again — a
    complaint's handling from the day of reopening (3 working days, 7 if special), an inquiry's
    answer from the moment — as a new deadline version, warned and escalated like the first.
    An archived case file is final: the customer's new contact is a new case."""
    if case.archive is not None:
        raise IllegalTransition(f"the case file was archived on {case.archive.archived_at.date().isoformat()}; "
                                "register a new case that refers to this one")
    return {"status": Status.ASSIGNED if case.handler else Status.ACCEPTED,
            "resolution": None, "feedback": None, "closed_reason": None, "closed_at": None,
            "clocks": restarted_clocks(case, now, unit_clock)}


def restarted_clocks(case: Case, now: datetime, unit_clock: UnitClock | None) -> dict[str, Clock]:
    """The clocks of a reopened case: its answering limits (handling, answer) run again from now."""
    clocks = dict(case.clocks)
    handling = clocks.get("handling")
    if handling is not None:
        if unit_clock is None:
            raise ValueError("reopening a complaint needs the unit's time zone and calendar")
        due_at, provisional = working_days_deadline(now, handling_working_days(case), unit_clock)
        clocks["handling"] = Clock(name="handling", started_at=now, due_at=due_at, provisional=provisional,
                                   deadline_version=handling.deadline_version + 1)
    answer = clocks.get("answer")
    if answer is not None:
        clocks["answer"] = Clock(name="answer", started_at=now, due_at=now + INQUIRY_ANSWER_LIMIT,
                                 deadline_version=answer.deadline_version + 1)
    return clocks


def _mark_important(case: Case, command: cmd.MarkImportant, now: datetime,
                    _unit_clock: UnitClock | None) -> dict[str, Any]:
    """Rulebook §7: important records are kept longer; decided before the file is archived,
    because a compliance-mode lock is set once at upload (an auditor's legal hold still works)."""
    if case.archive is not None:
        raise IllegalTransition("the case file is already archived with its retention; "
                                "an auditor can place a legal hold on it instead")
    if case.important is not None:
        raise IllegalTransition("this case is already marked important")
    return {"important": Importance(reason=command.reason, by=command.actor, at=now)}


def _record_root_cause(case: Case, command: cmd.RecordRootCause, now: datetime,
                       _unit_clock: UnitClock | None) -> dict[str, Any]:
    """Rulebook §6: each complaint is reviewed for its root cause; it can be corrected until the
    case file is archived."""
    if case.type is not CaseType.COMPLAINT:
        raise IllegalTransition(f"root causes are recorded for complaints, not for a {case.type.value}")
    if case.archive is not None:
        raise IllegalTransition("the case file is already archived")
    cause = RootCause(category=command.category, code=command.code, corrective_action=command.corrective_action,
                      recorded_by=command.actor, recorded_at=now)
    return {"root_cause": cause}


def record_spot_check(case: Case, verdict: SpotCheckVerdict, now: datetime) -> tuple[Case, HistoryEvent]:
    """Rulebook §6: a spot check's verified result is part of the case's record; on an archived
    case it is archived as an addendum."""
    return _recorded(case, {"spot_checks": (*case.spot_checks, verdict)}, now, verdict.by, "spot-check",
                     verdict.note)


def record_legal_hold(case: Case, hold: LegalHold, now: datetime) -> tuple[Case, HistoryEvent]:
    """Rulebook §7: a legal hold placed or lifted on the archived files is recorded on the case, so
    its addendum carries it while the hot copy lives (the audit log's daily export keeps it after)."""
    return _recorded(case, {"legal_hold": hold}, now, hold.by, "legal-hold-on" if hold.on else "legal-hold-off",
                     hold.reason)


def order_rectification(case: Case, verdict: SpotCheckVerdict, working_days: int, now: datetime,
                        unit_clock: UnitClock) -> tuple[Case, HistoryEvent]:
    """Rulebook §6 限期整改: the spot check's mismatch becomes an order with a deadline of
    `working_days` after today (unit-local), a clock like any other, so it is warned about and
    escalated up the organisation when late."""
    if case.rectification is not None and case.rectification.completed_at is None:
        raise IllegalTransition("a rectification is already open on this case")
    due_at, provisional = working_days_deadline(now, working_days, unit_clock)
    order = Rectification(spot_check_id=verdict.spot_check_id, reason=verdict.note, ordered_by=verdict.by,
                          ordered_at=now)
    clock = Clock(name=RECTIFICATION_CLOCK, started_at=now, due_at=due_at, provisional=provisional,
                  deadline_version=(case.clocks[RECTIFICATION_CLOCK].deadline_version + 1
                                    if RECTIFICATION_CLOCK in case.clocks else 1))
    return _recorded(case, {"rectification": order, "clocks": {**case.clocks, RECTIFICATION_CLOCK: clock},
                            "spot_checks": (*case.spot_checks, verdict)}, now, verdict.by, "order-rectification",
                     verdict.note)


def _complete_rectification(case: Case, command: cmd.CompleteRectification, now: datetime,
                            _unit_clock: UnitClock | None) -> dict[str, Any]:
    order = case.rectification
    if order is None or order.completed_at is not None:
        raise IllegalTransition("there is no open rectification order on this case")
    done = order.model_copy(update={"completed_by": command.actor, "completed_at": now, "result": command.result})
    return {"rectification": done, **_stop_clocks(case, ["rectification"], now, goal_met=True)}


# --- praise, suggestion outcomes and follow-up care (rulebook §1, §5) ------------------------
def _record_praise(case: Case, command: cmd.RecordPraise, now: datetime,
                   _unit_clock: UnitClock | None) -> dict[str, Any]:
    """Rulebook §1 表扬: the praise is recorded against the staff praised (the service resolved the
    names in the directory), or their description; until the case file is archived."""
    if case.type is not CaseType.PRAISE:
        raise IllegalTransition(f"praised staff are recorded on a praise, not on a {case.type.value}")
    if case.archive is not None:
        raise IllegalTransition("the case file is already archived")
    if not command.praised_staff and command.description is None:
        raise InvalidInput("the praise names nobody", {"staff": "name the staff praised, or describe them "
                                                                "(description)"})
    return {"praise": Praise(staff=command.praised_staff, description=command.description,
                             recorded_by=command.actor, recorded_at=now)}


def _record_suggestion_reply(case: Case, command: cmd.RecordSuggestionReply, now: datetime,
                             _unit_clock: UnitClock | None) -> dict[str, Any]:
    """Rulebook §1 建议: reply to the customer (whether the suggestion was adopted) after the leader
    decided. The reply is what resolves the suggestion, and recording it stops the reply clock."""
    if case.type is not CaseType.SUGGESTION:
        raise IllegalTransition(f"a suggestion's outcome is recorded on suggestions, not on a {case.type.value}")
    decision = case.suggestion_decision
    leader, leader_id = command.decided_by, command.decided_by_id
    if leader is None and decision is not None and decision.decided_by is not None:
        leader, leader_id = decision.decided_by, decision.decided_by_id
    if leader is None:
        raise InvalidInput("say which leader decided", {"decided_by": "required: no leader was named when the "
                                                                      "reply was promised"})
    outcome = SuggestionOutcome(outcome=command.outcome, decided_by=leader, decided_by_id=leader_id,
                                recorded_by=command.actor, recorded_at=now)
    reply = CustomerReply(text=command.reply, recorded_by=command.actor, recorded_by_id=command.actor_id,
                          recorded_at=now)
    resolution = Resolution(result=command.reply, customer_message=command.reply, resolved_by=command.actor,
                            resolved_at=now)
    return {"status": Status.RESOLVED, "suggestion_outcome": outcome, "customer_reply": reply,
            "resolution": resolution, **_stop_clocks(case, ["reply"], now, goal_met=True)}


def _record_follow_up(case: Case, command: cmd.RecordFollowUp, now: datetime,
                      _unit_clock: UnitClock | None) -> dict[str, Any]:
    """Rulebook §5: follow up later, and offer a relevant extra service once the complaint is
    resolved. Reaching the customer stops the follow-up clock; a call that did not reach them is
    recorded and the clock runs on (still on the register, still warned about), and the later call
    replaces the record (the history keeps both)."""
    clock = case.clocks.get(FOLLOW_UP_CLOCK)
    if case.follow_up is not None and case.follow_up.reached:
        raise IllegalTransition("the follow-up contact is already recorded")
    if clock is None or not _follow_up_open(case):
        raise IllegalTransition("a follow-up is recorded on a resolved complaint (a reopened one is resolved "
                                "again first)")
    problems: dict[str, str] = {}
    if command.reached:
        if command.satisfied is None:
            problems["satisfied"] = "required when the customer was reached"
        if command.offer is not None and command.offer_accepted is None:
            problems["offer_accepted"] = "say whether the customer accepted the offer"
    else:
        for name in ("satisfied", "offer", "offer_accepted"):
            if getattr(command, name) is not None:
                problems[name] = "leave it out: the customer was not reached"
    if command.offer is None and command.offer_accepted is not None:
        problems["offer_accepted"] = "only with an offer"
    if problems:
        raise InvalidInput("the follow-up is incomplete", problems)
    on_time = now <= clock.due_at
    follow_up = FollowUp(reached=command.reached, satisfied=command.satisfied, offer=command.offer,
                         offer_accepted=command.offer_accepted, comment=command.comment,
                         recorded_by=command.actor, recorded_by_id=command.actor_id, recorded_at=now,
                         on_time=on_time)
    return {"follow_up": follow_up,
            **(_stop_clocks(case, [FOLLOW_UP_CLOCK], now, goal_met=True) if command.reached else {})}


def _clear_risk_flag(case: Case, command: cmd.ClearRiskFlag, now: datetime,
                     _unit_clock: UnitClock | None) -> dict[str, Any]:
    """Escalation-risk language that was a false alarm: the flag stays on the record, cleared,
    with who cleared it and why."""
    if case.risk is None or not case.risk.raised:
        raise IllegalTransition("this case has no raised escalation-risk flag")
    if case.archive is not None:
        raise IllegalTransition("the case file is already archived")
    return {"risk": case.risk.model_copy(update={"cleared_reason": command.reason, "cleared_by": command.actor,
                                                 "cleared_by_id": command.actor_id, "cleared_at": now})}


def record_archive(case: Case, archived: ArchivedFile, now: datetime) -> tuple[Case, HistoryEvent]:
    """The closed case's file is in the archive; the case and its history say where. A
    change after archiving is archived as an addendum, recorded the same way."""
    from chalicelib.domain.archive import changed_since_archived

    addendum = changed_since_archived(case)
    if case.status is not Status.CLOSED or (case.archive is not None and not addendum):
        raise IllegalTransition(f"only a closed, unarchived case is archived (this one is {case.status.value})")
    return _recorded(case, {"archive": archived}, now, "archive", "archive-addendum" if addendum else "archive",
                     f"retained until {archived.retain_until.date().isoformat()}")


def _recorded(case: Case, update: dict[str, Any], now: datetime, actor: str, action: str, note: str,
              changes: Any = None) -> tuple[Case, HistoryEvent]:
    """A change made by the service itself (not a client's action): the next version, and the
    history event that records it, the status unchanged."""
    updated = case.model_copy(update={**update, "version": case.version + 1, "updated_at": now})
    event = HistoryEvent(seq=updated.version, at=now, actor=actor, action=action, from_status=case.status,
                         to_status=case.status, changes=(changes or _diff)(case, updated), note=note)
    return updated, event


@dataclass(frozen=True)
class CaseAction:
    """One thing staff can do to a case, declared once: the command it takes, the statuses it is
    allowed from, who may take it, the change it makes and — beyond the status — when it applies.
    `applies` mirrors the refusals inside `change`, so what is offered is what is accepted."""

    command: type[cmd.ActionCommand]
    allowed_from: frozenset[Status]
    roles: frozenset[Role]
    change: Callable[..., dict[str, Any]]
    applies: Callable[[Case, datetime], bool] = lambda case, now: True


S = Status
OPEN = frozenset({S.RECEIVED, S.ACCEPTED, S.ASSIGNED, S.INVESTIGATING})
WORKED = frozenset({S.ACCEPTED, S.ASSIGNED, S.INVESTIGATING})

# Every case action. The routes (/cases/{id}/<name>), the access table, the OpenAPI document,
# `available_actions` and the console's buttons all read this table.
ACTIONS: dict[str, CaseAction] = {
    "accept": CaseAction(cmd.Accept, frozenset({S.RECEIVED}), CASE_WORKERS, _accept),
    "assign": CaseAction(cmd.Assign, WORKED, CASE_WORKERS, _assign),
    "forward": CaseAction(cmd.Forward, OPEN, CASE_WORKERS, _forward),
    "record-finding": CaseAction(cmd.RecordFinding, frozenset({S.ASSIGNED, S.INVESTIGATING, S.RESOLVED, S.CLOSED}),
                                 CASE_WORKERS,
                                 _record_finding, lambda c, now: c.type is CaseType.COMPLAINT),
    "resolve": CaseAction(cmd.Resolve, WORKED, CASE_WORKERS, _resolve,
                          lambda c, now: ((c.type is not CaseType.COMPLAINT or c.finding is not None)
                                          and not _reply_awaited(c) and not _praise_unrecorded(c))),
    "record-feedback": CaseAction(cmd.RecordFeedback, frozenset({S.RESOLVED}), CASE_WORKERS, _record_feedback),
    "close": CaseAction(cmd.Close, OPEN | {S.RESOLVED}, CASE_WORKERS, _close),
    "reopen": CaseAction(cmd.Reopen, frozenset({S.RESOLVED, S.CLOSED}), CASE_WORKERS, _reopen,
                         lambda c, now: c.archive is None),
    # a manager approves an extension; an agent may only ask for one
    "mark-special": CaseAction(cmd.MarkSpecial, OPEN, MANAGERS, _mark_special, _extensible),
    "request-special": CaseAction(cmd.RequestSpecial, OPEN, CASE_WORKERS, _request_special,
                                  lambda c, now: _extensible(c, now) and c.special_request is None),
    "promise-reply": CaseAction(cmd.PromiseReply, WORKED, CASE_WORKERS, _promise_reply,
                                lambda c, now: c.type is CaseType.SUGGESTION),
    # an escalation is acknowledged by a manager (on a closed case, while a clock still runs on it)
    "acknowledge": CaseAction(cmd.Acknowledge, frozenset(Status), MANAGERS, _acknowledge,
                              lambda c, now: c.status is not S.CLOSED or _clock_running(c)),
    # keeping a record longer is a manager's decision
    "mark-important": CaseAction(cmd.MarkImportant, frozenset(Status), MANAGERS, _mark_important,
                                 lambda c, now: c.important is None and c.archive is None),
    "record-root-cause": CaseAction(cmd.RecordRootCause, frozenset({S.INVESTIGATING, S.RESOLVED, S.CLOSED}),
                                    CASE_WORKERS, _record_root_cause,
                                    lambda c, now: c.type is CaseType.COMPLAINT and c.archive is None),
    "complete-rectification": CaseAction(
        cmd.CompleteRectification, frozenset(Status), CASE_WORKERS, _complete_rectification,
        lambda c, now: c.rectification is not None and c.rectification.completed_at is None),
    # praise, suggestion outcomes and follow-up care
    "record-praise": CaseAction(cmd.RecordPraise, frozenset(Status), CASE_WORKERS, _record_praise,
                                lambda c, now: c.type is CaseType.PRAISE and c.archive is None),
    "record-suggestion-reply": CaseAction(cmd.RecordSuggestionReply, WORKED, CASE_WORKERS,
                                          _record_suggestion_reply, lambda c, now: c.type is CaseType.SUGGESTION),
    "record-follow-up": CaseAction(cmd.RecordFollowUp, frozenset({S.RESOLVED, S.CLOSED}), CASE_WORKERS,
                                   _record_follow_up, lambda c, now: _follow_up_open(c)),
    # escalation-risk language judged a false alarm
    "clear-risk-flag": CaseAction(cmd.ClearRiskFlag, frozenset(Status), CASE_WORKERS, _clear_risk_flag,
                                  lambda c, now: c.risk is not None and c.risk.raised and c.archive is None),
}
