"""The lifecycle state machine and intake rules (rulebook §1, §2, §5), no AWS."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib.domain import commands as cmd
from chalicelib.domain import lifecycle
from chalicelib.domain.calendar import UnitClock, WorkingCalendar
from chalicelib.domain.errors import IllegalTransition, InvalidInput
from chalicelib.domain.follow_up import with_follow_up
from chalicelib.domain.models import Case, CaseType, Finding, FindingKind, RiskFlag, SpotCheckVerdict, Status

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
CLOCK = UnitClock("Asia/Shanghai", WorkingCalendar("CN"))
ACTOR = {"actor": "Li Na"}

COMMANDS: dict[str, cmd.ActionCommand] = {
    "accept": cmd.Accept(**ACTOR),
    "assign": cmd.Assign(handler="Chen Jie", **ACTOR),
    "forward": cmd.Forward(to_unit_id="store-xh-02", reason="wrong store", **ACTOR),
    "record-finding": cmd.RecordFinding(kind=FindingKind.CUSTOMER_ISSUE, detail="misread label",
                                        **ACTOR),
    "resolve": cmd.Resolve(result="explained the promotion",
                           customer_message="The promotion runs until Sunday; the price is at the till.", **ACTOR),
    "record-feedback": cmd.RecordFeedback(satisfied=True, satisfaction=5, **ACTOR),
    "close": cmd.Close(reason="duplicate of an earlier call", **ACTOR),
    "reopen": cmd.Reopen(reason="customer called back", **ACTOR),
    "mark-special": cmd.MarkSpecial(reason="needs the supplier's lab report", **ACTOR),
    "request-special": cmd.RequestSpecial(reason="needs the supplier's lab report", **ACTOR),
    "promise-reply": cmd.PromiseReply(reply_by=date(2026, 11, 27), decision="trial in spring", **ACTOR),
    "acknowledge": cmd.Acknowledge(clock="acceptance", level="breach", **ACTOR),
    "mark-important": cmd.MarkImportant(reason="the customer went to the press", **ACTOR),
    "record-root-cause": cmd.RecordRootCause(category="service", code="cashier-double-scan",
                                             corrective_action="scanner beeps twice; retrained cashiers", **ACTOR),
    "complete-rectification": cmd.CompleteRectification(result="refund made, cashier retrained", **ACTOR),
    "record-praise": cmd.RecordPraise(description="the young cashier at checkout 2", **ACTOR),
    "record-suggestion-reply": cmd.RecordSuggestionReply(outcome="adopted", decided_by="Sun Li",
                                                         reply="From May we stock oat milk.", **ACTOR),
    "record-follow-up": cmd.RecordFollowUp(reached=True, satisfied=True, offer="a 20 yuan voucher",
                                           offer_accepted=True, **ACTOR),
    "clear-risk-flag": cmd.ClearRiskFlag(reason="曝光 meant the photo was over-exposed", **ACTOR),
}
# Actions that only make sense for one type of case.
ACTION_CASE_TYPE = {"promise-reply": CaseType.SUGGESTION, "record-suggestion-reply": CaseType.SUGGESTION,
                    "record-praise": CaseType.PRAISE}
EXPECTED_STATUS = {
    "accept": Status.ACCEPTED, "forward": Status.RECEIVED, "record-finding": Status.INVESTIGATING,
    "resolve": Status.RESOLVED, "record-feedback": Status.CLOSED, "close": Status.CLOSED,
}


def intake(**overrides: object) -> cmd.IntakeRequest:
    body = {
        "type": "complaint", "channel": "web", "unit_id": "store-xh-01",
        "customer": {"name": "Wang Fang", "phone": "13800001234"},
        "five_w": {"what": "charged twice for milk"},
        "cause": {"category": "service", "detail": "cashier error"},
    }
    body.update(overrides)
    return cmd.IntakeRequest.model_validate(body)


def case_in(status: Status, case_type: CaseType = CaseType.COMPLAINT) -> Case:
    case, _ = lifecycle.register("CD-AAAA-BBBB-CCCC", intake(type=case_type.value), NOW, "web", CLOCK)
    finding = Finding(kind=FindingKind.CUSTOMER_ISSUE, detail="d", investigator="x", recorded_at=NOW)
    return case.model_copy(update={"status": status, "finding": finding})


def mismatch(check_id: str, note: str) -> SpotCheckVerdict:
    return SpotCheckVerdict(spot_check_id=check_id, matches=False, note=note, by="Sun Li", at=NOW)


LEGAL = [(name, s) for name, action in lifecycle.ACTIONS.items() for s in sorted(action.allowed_from)]
ILLEGAL = [(name, s) for name, action in lifecycle.ACTIONS.items() for s in sorted(set(Status) - action.allowed_from)]


@pytest.mark.parametrize(("action", "status"), LEGAL)
def test_every_legal_transition_is_applied_and_recorded(action: str, status: Status) -> None:
    before = case_in(status, ACTION_CASE_TYPE.get(action, CaseType.COMPLAINT))
    if action == "complete-rectification":
        before, _ = lifecycle.order_rectification(before, mismatch("SC-1", "refund not made"), 3, NOW, CLOCK)
    if action == "record-follow-up":
        resolved = with_follow_up(case_in(Status.ASSIGNED), case_in(Status.RESOLVED), NOW, "Asia/Shanghai", 7)
        before = resolved.model_copy(update={"status": status})
    if action == "clear-risk-flag":
        before = before.model_copy(update={"risk": RiskFlag(phrases=("曝光",), flagged_at=NOW)})
    after, event = lifecycle.apply_action(before, action, COMMANDS[action], NOW, CLOCK)
    assert after.version == before.version + 1
    assert event.seq == after.version
    assert (event.action, event.actor, event.from_status) == (action, "Li Na", status)
    assert event.to_status == after.status
    if action == "record-finding" and status in (Status.RESOLVED, Status.CLOSED):
        assert after.status is status  # a later finding (a regulator's) leaves the outcome as it is
        assert event.changes["finding"]["before"]["detail"] == "d" and after.finding.detail == "misread label"
    elif action in EXPECTED_STATUS:
        assert after.status is EXPECTED_STATUS[action]


@pytest.mark.parametrize(("action", "status"), ILLEGAL)
def test_every_illegal_transition_is_refused_with_the_reason(action: str, status: Status) -> None:
    with pytest.raises(IllegalTransition, match=f"is {status.value}; allowed only when"):
        lifecycle.apply_action(case_in(status, ACTION_CASE_TYPE.get(action, CaseType.COMPLAINT)), action,
                               COMMANDS[action], NOW, CLOCK)


def test_history_event_holds_each_changed_field_before_and_after() -> None:
    _, event = lifecycle.apply_action(case_in(Status.ACCEPTED), "assign", COMMANDS["assign"], NOW)
    assert event.changes == {"status": {"before": "accepted", "after": "assigned"},
                             "handler": {"before": None, "after": "Chen Jie"}}


def test_complaint_cannot_be_resolved_before_a_finding_is_recorded() -> None:
    case = case_in(Status.ASSIGNED).model_copy(update={"finding": None})
    with pytest.raises(IllegalTransition, match="needs a recorded finding"):
        lifecycle.apply_action(case, "resolve", COMMANDS["resolve"], NOW)


def test_inquiry_answered_on_the_spot_resolves_straight_from_accepted() -> None:
    case = case_in(Status.ACCEPTED, CaseType.INQUIRY).model_copy(update={"finding": None})
    after, _ = lifecycle.apply_action(case, "resolve", COMMANDS["resolve"], NOW)
    assert after.status is Status.RESOLVED
    assert after.clocks["answer"].stopped_at == NOW and after.clocks["answer"].goal_met
    assert after.resolution is not None and after.resolution.customer_message.startswith("The promotion")


def test_an_inquiry_is_not_resolved_without_the_answer_the_customer_receives() -> None:
    case = case_in(Status.ACCEPTED, CaseType.INQUIRY).model_copy(update={"finding": None})
    with pytest.raises(InvalidInput) as refused:
        lifecycle.apply_action(case, "resolve", cmd.Resolve(result="called back", **ACTOR), NOW)
    assert "customer_message" in refused.value.fields
    assert case.clocks["answer"].running  # the answer clock runs until the answer is given


def test_feedback_staff_record_is_marked_as_given_by_phone_and_the_customers_own_as_theirs() -> None:
    resolved = case_in(Status.RESOLVED, CaseType.COMPLAINT)
    by_staff, _ = lifecycle.apply_action(resolved, "record-feedback", COMMANDS["record-feedback"], NOW)
    assert by_staff.feedback is not None and by_staff.feedback.source == "phone"
    assert by_staff.feedback.recorded_by == ACTOR["actor"]
    own, event = lifecycle.apply_action(resolved, "record-feedback",
                                        cmd.CustomerFeedback.of(cmd.SurveyAnswer(satisfaction=2, comment="slow")), NOW)
    assert own.status is Status.CLOSED and own.feedback is not None
    assert (own.feedback.source, own.feedback.satisfaction, own.feedback.satisfied) == ("customer", 2, False)
    assert own.feedback.recorded_by is None and event.actor == "customer"


def test_findings_are_only_for_complaints() -> None:
    with pytest.raises(IllegalTransition, match="not on a suggestion"):
        lifecycle.apply_action(case_in(Status.ASSIGNED, CaseType.SUGGESTION), "record-finding",
                               COMMANDS["record-finding"], NOW)


def test_ordinary_mistake_needs_a_corrective_plan_and_violation_a_leader() -> None:
    mistake = cmd.RecordFinding(kind=FindingKind.ORDINARY_MISTAKE, detail="slow", **ACTOR)
    with pytest.raises(InvalidInput) as raised:
        lifecycle.apply_action(case_in(Status.ASSIGNED), "record-finding", mistake, NOW)
    assert "corrective_plan" in raised.value.fields
    violation = cmd.RecordFinding(kind=FindingKind.VIOLATION, detail="rude", **ACTOR)
    with pytest.raises(InvalidInput) as raised:
        lifecycle.apply_action(case_in(Status.ASSIGNED), "record-finding", violation, NOW)
    assert "reported_to" in raised.value.fields


def test_forward_moves_the_case_to_the_new_unit_which_must_accept_it() -> None:
    case = case_in(Status.ASSIGNED).model_copy(update={"handler": "Chen Jie"})
    after, event = lifecycle.apply_action(case, "forward", COMMANDS["forward"], NOW)
    assert (after.unit_id, after.status, after.handler) == ("store-xh-02", Status.RECEIVED, None)
    assert after.forwarded_from == ("store-xh-01",)
    assert event.changes["unit_id"] == {"before": "store-xh-01", "after": "store-xh-02"}
    assert event.note == "wrong store"


def test_forward_to_the_same_unit_is_refused() -> None:
    same = cmd.Forward(to_unit_id="store-xh-01", reason="x", **ACTOR)
    with pytest.raises(InvalidInput):
        lifecycle.apply_action(case_in(Status.RECEIVED), "forward", same, NOW)


def test_reopen_returns_to_the_handler_and_clears_the_old_result() -> None:
    closed = case_in(Status.CLOSED).model_copy(update={"handler": "Chen Jie", "closed_reason": "x"})
    after, event = lifecycle.apply_action(closed, "reopen", COMMANDS["reopen"], NOW, CLOCK)
    assert after.status is Status.ASSIGNED and after.closed_reason is None
    assert event.changes["closed_reason"]["before"] == "x"


def test_reopened_complaint_gets_a_new_handling_deadline_three_working_days_after_the_day_of_reopening() -> None:
    # resolved on time; reopened on Monday 2026-11-30 10:00 Shanghai → Tue 1, Wed 2, Thu 3 December
    case = case_in(Status.INVESTIGATING)
    resolved, _ = lifecycle.apply_action(case, "resolve", COMMANDS["resolve"], NOW, CLOCK)
    assert resolved.clocks["handling"].state(NOW) == "met"
    reopened_at = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    reopened, event = lifecycle.apply_action(resolved, "reopen", COMMANDS["reopen"], reopened_at, CLOCK)
    handling = reopened.clocks["handling"]
    assert handling.running and handling.started_at == reopened_at
    assert handling.view(reopened_at, "Asia/Shanghai")["deadline"] == "2026-12-03T23:59:59+08:00"
    assert handling.deadline_version == resolved.clocks["handling"].deadline_version + 1
    assert event.changes["deadlines.handling"]["after"] == handling.due_at.isoformat()
    # and it can still be made special: 7 working days from the day of reopening (Wed 9 December)
    assert "mark-special" in lifecycle.applicable_actions(reopened, False, reopened_at)
    special, _ = lifecycle.apply_action(reopened, "mark-special", COMMANDS["mark-special"], reopened_at, CLOCK)
    assert special.clocks["handling"].view(reopened_at, "Asia/Shanghai")["deadline"] == "2026-12-09T23:59:59+08:00"


def test_reopened_inquiry_restarts_its_24_hour_answer_clock_from_the_moment_of_reopening() -> None:
    inquiry = case_in(Status.ACCEPTED, CaseType.INQUIRY)
    answered, _ = lifecycle.apply_action(inquiry, "resolve", COMMANDS["resolve"], NOW, CLOCK)
    later = NOW + timedelta(days=2)
    reopened, _ = lifecycle.apply_action(answered, "reopen", COMMANDS["reopen"], later, CLOCK)
    assert reopened.clocks["answer"].running and reopened.clocks["answer"].due_at == later + timedelta(hours=24)


def test_actions_offered_are_the_actions_the_lifecycle_accepts() -> None:
    """Whatever applicable_actions offers for a case, apply_action accepts, and vice versa."""
    from chalicelib.domain.models import ArchivedFile

    archived = case_in(Status.CLOSED).model_copy(update={"archive": ArchivedFile(
        case_version=3, closed_at=NOW, json_key="k", json_version_id="v", json_sha256="s", html_key="k",
        html_version_id="v", html_sha256="s", retain_until=NOW, archived_at=NOW, hot_copy_expires_at=NOW)})
    late = NOW + timedelta(days=10)
    samples = [archived, case_in(Status.RESOLVED), case_in(Status.ASSIGNED),
               case_in(Status.ASSIGNED).model_copy(update={"finding": None}), case_in(Status.RECEIVED)]
    for case in samples:
        for when in (NOW, late):
            offered = set(lifecycle.applicable_actions(case, True, when))
            for action in lifecycle.ACTIONS:
                if action == "complete-rectification":
                    continue
                try:
                    lifecycle.apply_action(case, action, COMMANDS[action], when, CLOCK)
                    accepted = True
                except (IllegalTransition, InvalidInput):
                    accepted = False
                if action == "promise-reply":
                    continue  # the promised date is checked against the command, not the case
                assert (action in offered) == accepted, (case.status, case.archive is not None, action, when)


def test_acceptance_clock_is_24_clock_hours_shown_in_the_unit_time_zone() -> None:
    case, _ = lifecycle.register("CD-AAAA-BBBB-CCCC", intake(), NOW, "web", CLOCK)
    view = case.clocks["acceptance"].view(NOW, "Asia/Shanghai")
    assert view["deadline"] == "2026-11-21T10:00:00+08:00"
    assert view["state"] == "running"
    assert case.clocks["acceptance"].view(NOW, "Europe/London")["deadline"] == "2026-11-21T02:00:00+00:00"
    assert "answer" not in case.clocks
    # received Friday 2026-11-20 10:00 local: Mon 23, Tue 24, Wed 25 → end of Wednesday
    assert case.clocks["handling"].view(NOW, "Asia/Shanghai")["deadline"] == "2026-11-25T23:59:59+08:00"


def test_inquiry_also_gets_a_24_hour_answer_clock() -> None:
    case, _ = lifecycle.register("CD-AAAA-BBBB-CCCC", intake(type="inquiry", cause=None), NOW, "web", CLOCK)
    assert case.clocks["answer"].due_at == NOW + timedelta(hours=24)


def test_acceptance_clock_met_in_time_breached_late_and_stopped_by_close() -> None:
    case, _ = lifecycle.register("CD-AAAA-BBBB-CCCC", intake(), NOW, "web", CLOCK)
    on_time, _ = lifecycle.apply_action(case, "accept", COMMANDS["accept"], NOW + timedelta(hours=23))
    assert on_time.clocks["acceptance"].state(NOW + timedelta(days=5)).value == "met"
    late, _ = lifecycle.apply_action(case, "accept", COMMANDS["accept"], NOW + timedelta(hours=25))
    assert late.clocks["acceptance"].state(NOW + timedelta(days=5)).value == "breached"
    assert case.clocks["acceptance"].state(NOW + timedelta(hours=24, seconds=1)).value == "breached"
    closed, _ = lifecycle.apply_action(case, "close", COMMANDS["close"], NOW + timedelta(hours=1))
    assert closed.clocks["acceptance"].state(NOW + timedelta(days=5)).value == "stopped"


def test_hotline_case_must_record_all_of_the_5w() -> None:
    problems = cmd.intake_rule_violations(intake(channel="hotline"), NOW)
    assert set(problems) == {"five_w.when", "five_w.where", "five_w.who", "five_w.how"}


def test_complaint_needs_a_cause_category() -> None:
    assert "cause" in cmd.intake_rule_violations(intake(cause=None), NOW)


def test_staff_channel_may_backdate_receipt_but_never_into_the_future() -> None:
    earlier = (NOW - timedelta(days=1)).isoformat()
    assert cmd.intake_rule_violations(intake(channel="letter", received_at=earlier), NOW) == {}
    future = (NOW + timedelta(minutes=10)).isoformat()
    assert cmd.intake_rule_violations(intake(channel="letter", received_at=future), NOW) == {
        "received_at": "cannot be in the future"}


def test_web_form_cannot_choose_its_own_receipt_time() -> None:
    problems = cmd.intake_rule_violations(intake(received_at=NOW.isoformat()), NOW)
    assert "received_at" in problems


def test_clients_cannot_set_status_version_or_clocks() -> None:
    with pytest.raises(ValueError, match="extra"):
        cmd.IntakeRequest.model_validate({**intake().model_dump(mode="json"), "status": "closed"})


def test_special_complaint_gets_7_working_days_recorded_with_reason_approver_and_old_deadline() -> None:
    case, _ = lifecycle.register("CD-AAAA-BBBB-CCCC", intake(), NOW, "web", CLOCK)
    after, event = lifecycle.apply_action(case, "mark-special", COMMANDS["mark-special"], NOW, CLOCK)
    # received Fri 2026-11-20: 23, 24, 25, 26, 27, 30 Nov, 1 Dec
    assert after.clocks["handling"].view(NOW, "Asia/Shanghai")["deadline"] == "2026-12-01T23:59:59+08:00"
    assert after.special is not None and after.special.approver == "Li Na"
    assert event.changes["deadlines.handling"] == {"before": "2026-11-25T23:59:59+08:00",
                                                   "after": "2026-12-01T23:59:59+08:00"}
    assert event.note == "needs the supplier's lab report"


def test_special_extension_is_refused_once_the_3_day_deadline_has_passed() -> None:
    case, _ = lifecycle.register("CD-AAAA-BBBB-CCCC", intake(), NOW, "web", CLOCK)
    too_late = case.clocks["handling"].due_at + timedelta(seconds=1)
    with pytest.raises(IllegalTransition, match="has passed"):
        lifecycle.apply_action(case, "mark-special", COMMANDS["mark-special"], too_late, CLOCK)


def test_special_extension_happens_once_and_only_for_complaints() -> None:
    case, _ = lifecycle.register("CD-AAAA-BBBB-CCCC", intake(), NOW, "web", CLOCK)
    special, _ = lifecycle.apply_action(case, "mark-special", COMMANDS["mark-special"], NOW, CLOCK)
    with pytest.raises(IllegalTransition, match="already marked special"):
        lifecycle.apply_action(special, "mark-special", COMMANDS["mark-special"], NOW, CLOCK)
    inquiry, _ = lifecycle.register("CD-AAAA-BBBB-CCCC", intake(type="inquiry", cause=None), NOW, "web", CLOCK)
    with pytest.raises(IllegalTransition, match="only complaints"):
        lifecycle.apply_action(inquiry, "mark-special", COMMANDS["mark-special"], NOW, CLOCK)


def test_resolving_a_complaint_stops_its_handling_clock_as_met() -> None:
    after, _ = lifecycle.apply_action(case_in(Status.INVESTIGATING), "resolve", COMMANDS["resolve"], NOW, CLOCK)
    assert after.clocks["handling"].state(NOW + timedelta(days=30)).value == "met"


def test_a_rectification_order_is_a_clock_of_its_own_and_completing_it_stops_it() -> None:
    resolved = case_in(Status.CLOSED)
    ordered, event = lifecycle.order_rectification(resolved, mismatch("SC-1", "the refund was never made"), 3,
                                                   NOW, CLOCK)
    # Friday 2026-11-20 10:00 in Shanghai + 3 working days → Wednesday 25th, 23:59:59 local
    assert ordered.clocks["rectification"].due_at == datetime(2026, 11, 25, 15, 59, 59, tzinfo=UTC)
    assert ordered.status is Status.CLOSED and event.action == "order-rectification"
    assert [(v.spot_check_id, v.matches) for v in ordered.spot_checks] == [("SC-1", False)]  # the verdict is kept
    with pytest.raises(IllegalTransition, match="already open"):
        lifecycle.order_rectification(ordered, mismatch("SC-2", "again"), 3, NOW, CLOCK)
    done, _ = lifecycle.apply_action(ordered, "complete-rectification", COMMANDS["complete-rectification"],
                                     NOW + timedelta(days=1))
    assert not done.clocks["rectification"].running and done.clocks["rectification"].goal_met
    assert done.rectification is not None and done.rectification.completed_by == "Li Na"
    with pytest.raises(IllegalTransition, match="no open rectification"):
        lifecycle.apply_action(done, "complete-rectification", COMMANDS["complete-rectification"], NOW)


def test_root_causes_are_for_complaints() -> None:
    with pytest.raises(IllegalTransition, match="not for a praise"):
        lifecycle.apply_action(case_in(Status.CLOSED, CaseType.PRAISE), "record-root-cause",
                               COMMANDS["record-root-cause"], NOW)
