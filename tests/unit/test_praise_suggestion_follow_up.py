"""Praise, suggestion decisions and follow-up care (rulebook §1, §5), and the texts customers and
managers read: no AWS."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from chalicelib.domain import commands as cmd
from chalicelib.domain import lifecycle
from chalicelib.domain.customer_messages import NEXT_STEPS
from chalicelib.domain.errors import IllegalTransition, InvalidInput
from chalicelib.domain.escalation import SUBJECT_MAX_CHARS, cut_at_word
from chalicelib.domain.follow_up import with_follow_up
from chalicelib.domain.models import Case, CaseType, Praise, PraisedStaff, Status
from chalicelib.domain.statistics import Totals, stat_deltas
from tests.unit.test_lifecycle import ACTOR, CLOCK, NOW, case_in, intake

TZ = "Asia/Shanghai"


def act(case: Case, action: str, **fields: object) -> Case:
    """One action as the service applies it: the lifecycle, then the follow-up clock."""
    command = lifecycle.ACTIONS[action].command.model_validate({**ACTOR, **fields})
    after, _ = lifecycle.apply_action(case, action, command, NOW, CLOCK)
    return with_follow_up(case, after, NOW, TZ, 7)


# --- praise ---------------------------------------------------------------------------------
def test_a_praise_names_or_describes_the_staff_praised_before_it_is_resolved() -> None:
    empty = intake(type="praise", channel="in_store", cause=None, praised={})
    assert cmd.intake_rule_violations(empty, NOW) == {
        "praised": "name the staff praised (staff) or describe them (description)"}
    named = intake(type="praise", channel="in_store", cause=None, praised={"staff": ["Li Na"]})
    assert cmd.intake_rule_violations(named, NOW) == {}
    unnamed = case_in(Status.ACCEPTED, CaseType.PRAISE)
    assert "resolve" not in lifecycle.applicable_actions(unnamed, False, NOW)
    with pytest.raises(IllegalTransition, match="record-praise"):
        act(unnamed, "resolve", result="thanked the customer")
    described = act(unnamed, "record-praise", description="the cashier with glasses")
    assert "resolve" in lifecycle.applicable_actions(described, False, NOW)
    assert act(described, "resolve", result="thanked the customer").status is Status.RESOLVED


def test_the_web_form_describes_the_staff_praised_and_cannot_name_them_from_the_directory() -> None:
    web = intake(type="praise", cause=None, praised={"staff": ["Li Na"]})
    assert cmd.intake_rule_violations(web, NOW) == {
        "praised.staff": "the web form describes the staff in `description`; staff link the names"}
    described = intake(type="praise", cause=None, praised={"description": "the cashier with glasses"})
    assert cmd.intake_rule_violations(described, NOW) == {}
    assert cmd.intake_rule_violations(intake(type="praise", cause=None), NOW) == {}  # the 5W says it


def test_only_a_praise_names_praised_staff() -> None:
    problems = cmd.intake_rule_violations(intake(praised={"description": "the manager"}), NOW)
    assert problems == {"praised": "only a praise names the staff praised"}


def test_record_praise_is_for_praise_cases_and_names_somebody() -> None:
    with pytest.raises(IllegalTransition, match="on a praise, not on a complaint"):
        act(case_in(Status.ACCEPTED), "record-praise", description="x")
    with pytest.raises(InvalidInput) as refused:
        act(case_in(Status.ACCEPTED, CaseType.PRAISE), "record-praise")
    assert "staff" in refused.value.fields


def test_praise_counts_for_each_staff_member_on_the_day_it_was_received() -> None:
    received = case_in(Status.RECEIVED, CaseType.PRAISE)
    li_na = PraisedStaff(staff_id="s-li", name="Li Na", unit_id="store-xh-01")
    chen = PraisedStaff(staff_id="s-chen", name="Chen Jie", unit_id="store-xh-01")
    named = received.model_copy(update={"praise": Praise(staff=(li_na, chen))})
    later = NOW + timedelta(days=3)
    deltas = stat_deltas(received, named, later, CLOCK)
    assert [(d.day, dict(d.counters)) for d in deltas] == [
        (date(2026, 11, 20), {"praise_staff:s-li": 1, "praise_staff:s-chen": 1})]
    # a corrected name moves the count from one person to the other, nothing is counted twice
    corrected = named.model_copy(update={"praise": Praise(staff=(li_na,))})
    assert dict(stat_deltas(named, corrected, later, CLOCK)[0].counters) == {"praise_staff:s-chen": -1}
    unnamed = received.model_copy(update={"praise": Praise(description="the tall cashier")})
    assert dict(stat_deltas(received, unnamed, later, CLOCK)[0].counters) == {"praise_unnamed": 1}


def test_the_receipt_thanks_the_customer_for_praise_in_both_languages() -> None:
    assert NEXT_STEPS["praise"]["en"].startswith("Thank you for your praise")
    assert NEXT_STEPS["praise"]["zh"].startswith("感谢您的表扬")


# --- suggestions ----------------------------------------------------------------------------
def test_promise_reply_keeps_the_leaders_decision_until_another_is_recorded() -> None:
    suggestion = case_in(Status.ACCEPTED, CaseType.SUGGESTION)
    promised = act(suggestion, "promise-reply", reply_by="2026-11-27", decision="trial an oat milk shelf",
                   decided_by="Sun Li")
    assert promised.suggestion_decision is not None
    assert (promised.suggestion_decision.text, promised.suggestion_decision.decided_by) == (
        "trial an oat milk shelf", "Sun Li")
    moved = act(promised, "promise-reply", reply_by="2026-11-30")
    assert moved.suggestion_decision == promised.suggestion_decision
    assert moved.clocks["reply"].deadline_version == 2


def test_the_suggestion_reply_records_the_outcome_and_the_customers_reply_and_stops_the_clock() -> None:
    promised = act(case_in(Status.ACCEPTED, CaseType.SUGGESTION), "promise-reply", reply_by="2026-11-27",
                   decision="adopt from May", decided_by="Sun Li")
    replied = act(promised, "record-suggestion-reply", outcome="partly_adopted",
                  reply="We will stock oat milk from May, in the larger stores first.", note="call her after 6 pm")
    assert replied.status is Status.RESOLVED
    assert replied.suggestion_outcome is not None and replied.customer_reply is not None
    assert (replied.suggestion_outcome.outcome, replied.suggestion_outcome.decided_by) == ("partly_adopted", "Sun Li")
    assert replied.customer_reply.text == "We will stock oat milk from May, in the larger stores first."
    assert "6 pm" not in replied.customer_reply.text  # the internal note stays out of the reply
    assert replied.clocks["reply"].state(NOW) == "met"
    assert dict(stat_deltas(promised, replied, NOW, CLOCK)[0].counters)["suggestion:partly_adopted"] == 1


def test_a_suggestion_reply_names_the_leader_who_decided() -> None:
    with pytest.raises(InvalidInput) as refused:
        act(case_in(Status.ACCEPTED, CaseType.SUGGESTION), "record-suggestion-reply", outcome="adopted",
            reply="thank you")
    assert "decided_by" in refused.value.fields
    with pytest.raises(IllegalTransition, match="on suggestions, not on a inquiry"):
        act(case_in(Status.ACCEPTED, CaseType.INQUIRY), "record-suggestion-reply", outcome="adopted",
            decided_by="Sun Li", reply="thank you")


# --- follow-up care -------------------------------------------------------------------------
def resolved_complaint(at: datetime = NOW) -> Case:
    return with_follow_up(case_in(Status.INVESTIGATING),
                          lifecycle.apply_action(case_in(Status.INVESTIGATING), "resolve",
                                                 cmd.Resolve(result="refunded", **ACTOR), at, CLOCK)[0],
                          at, TZ, 7)


def test_a_resolved_complaint_is_due_a_follow_up_by_the_end_of_the_seventh_day() -> None:
    # resolved Friday 2026-11-20 10:00 Shanghai: the follow-up is due Friday the 27th, 23:59:59
    case = resolved_complaint()
    assert case.clocks["follow_up"].due_at.isoformat() == "2026-11-27T23:59:59+08:00"
    assert case.clocks["follow_up"].running
    other = with_follow_up(case_in(Status.ACCEPTED, CaseType.INQUIRY),
                           case_in(Status.RESOLVED, CaseType.INQUIRY), NOW, TZ, 7)
    assert "follow_up" not in other.clocks  # only complaints


def test_closing_a_resolved_complaint_keeps_its_follow_up_due_and_reopening_stops_it_uncounted() -> None:
    case = resolved_complaint()
    closed = act(case, "close", reason="customer has what she asked for")
    assert closed.clocks["follow_up"].running
    reopened = act(case, "reopen", reason="the refund did not arrive")
    assert not reopened.clocks["follow_up"].running
    counted = [d.counters for d in stat_deltas(case, reopened, NOW, CLOCK)]
    assert not any("follow_up" in key for counters in counted for key in counters)
    assert "record-follow-up" not in lifecycle.applicable_actions(reopened, False, NOW)
    closed_unresolved = act(reopened, "close", reason="customer withdrew")
    with pytest.raises(IllegalTransition, match="resolved again first"):
        act(closed_unresolved, "record-follow-up", reached=False)
    again = act(reopened, "resolve", result="refund traced")
    assert again.clocks["follow_up"].running and again.clocks["follow_up"].deadline_version == 2


def test_a_follow_up_records_reached_satisfied_and_an_accepted_offer_on_time() -> None:
    case = resolved_complaint()
    done = act(case, "record-follow-up", reached=True, satisfied=True, offer="free delivery of her next order",
               offer_accepted=True)
    assert done.follow_up is not None and done.follow_up.on_time
    assert done.clocks["follow_up"].state(NOW) == "met"
    counters = dict(stat_deltas(case, done, NOW, CLOCK)[0].counters)
    assert counters == {"clock_met:follow_up": 1, "follow_up_done": 1, "follow_up_on_time": 1,
                        "follow_up_reached": 1, "follow_up_satisfied": 1, "follow_up_offers": 1,
                        "follow_up_offers_accepted": 1}
    totals = Totals()
    totals.add(counters)
    assert totals.summary().follow_up.model_dump() == {"done": 1, "on_time": 1, "late": 0, "reached": 1, "satisfied": 1,
                                             "offers_made": 1, "offers_accepted": 1}
    with pytest.raises(IllegalTransition, match="already recorded"):
        act(done, "record-follow-up", reached=True, satisfied=False)


def test_a_follow_up_that_did_not_reach_the_customer_may_be_followed_by_another() -> None:
    case = resolved_complaint()
    missed = act(case, "record-follow-up", reached=False, comment="no answer twice")
    assert "record-follow-up" in lifecycle.applicable_actions(missed, False, NOW)
    assert missed.clocks["follow_up"].running  # still owed: on the register, warned about when late
    assert stat_deltas(case, missed, NOW, CLOCK) == []  # a call that reached nobody is no contact
    reached = act(missed, "record-follow-up", reached=True, satisfied=False, comment="still unhappy")
    counters = dict(stat_deltas(missed, reached, NOW, CLOCK)[0].counters)
    assert counters == {"clock_met:follow_up": 1, "follow_up_done": 1, "follow_up_on_time": 1,
                        "follow_up_reached": 1}


def test_a_late_follow_up_is_counted_late() -> None:
    case = resolved_complaint(NOW - timedelta(days=10))
    late = act(case, "record-follow-up", reached=True, satisfied=True)
    assert late.follow_up is not None and not late.follow_up.on_time
    assert dict(stat_deltas(case, late, NOW, CLOCK)[0].counters)["clock_breached:follow_up"] == 1


@pytest.mark.parametrize(("fields", "problem"), [
    ({"reached": False, "satisfied": True}, "satisfied"),
    ({"reached": True}, "satisfied"),
    ({"reached": True, "satisfied": True, "offer": "a voucher"}, "offer_accepted"),
    ({"reached": True, "satisfied": True, "offer_accepted": True}, "offer_accepted"),
])
def test_an_incomplete_follow_up_is_refused_naming_the_field(fields: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        act(resolved_complaint(), "record-follow-up", **fields)
    assert problem in refused.value.fields


def test_a_follow_up_is_for_resolved_complaints() -> None:
    assert "record-follow-up" not in lifecycle.applicable_actions(case_in(Status.RESOLVED, CaseType.INQUIRY),
                                                                  False, NOW)
    with pytest.raises(IllegalTransition):
        act(case_in(Status.RESOLVED), "record-follow-up", reached=False)  # resolved before follow-ups existed


# --- texts ----------------------------------------------------------------------------------
def test_the_complaint_receipt_says_special_cases_take_at_most_7_working_days_with_a_managers_approval() -> None:
    assert "at most 7 working days in special cases, approved by a manager" in NEXT_STEPS["complaint"]["en"]
    assert "特殊情况经经理批准,不超过7个工作日" in NEXT_STEPS["complaint"]["zh"]
    assert "need investigation" not in NEXT_STEPS["complaint"]["en"]


def _cut_between_words(original: str, cut: str) -> bool:
    if cut == original:
        return True
    kept = cut.removesuffix("…")
    rest = original[len(kept):]
    return original.startswith(kept) and cut.endswith("…") and (
        rest[:1].isspace() or kept[-1:] > "\u2e7f" or rest[:1] > "\u2e7f")


@pytest.mark.parametrize("text", [
    "Weekly report store-with-a-very-long-unit-identifier-for-the-test 2026-11-23–2026-11-29: "
    "1234 cases (321 complaints, +12 vs last week), 1200 resolved",
    "Breached: handling of complaint CD-ABCD-EFGH-IJKL due 2026-11-29 23:59 +0800 at Xihu Store No. 1 "
    "and some more words",
    "已超时:CD-ABCD-EFGH-IJKL 处理 11-29 23:59 西湖区第一百货商店西湖区第一百货商店西湖区第一百货商店西湖区第一百货商店"
    "西湖区第一百货商店西湖区第一百货商店西湖区第一百货商店西湖区第一百货商店",
    "word " * 19 + "boundary-exactly-here then more",
    "升级督办:" + "西湖区第一百货商店" * 10 + "CD-ABCD-EFGH-IJKL处理超时",  # no space anywhere
])
def test_no_email_subject_is_cut_inside_a_word(text: str) -> None:
    cut = cut_at_word(text, SUBJECT_MAX_CHARS)
    assert len(cut) <= SUBJECT_MAX_CHARS
    assert _cut_between_words(text, cut), cut


def test_a_subject_cut_keeps_every_whole_word_that_fits() -> None:
    assert cut_at_word("Hello world and more", 13) == "Hello world…"


def test_every_report_subject_with_the_longest_unit_id_is_cut_between_words() -> None:
    from chalicelib.domain.reports import DailyRegister, register_message

    unit_id = "store-" + "x" * 57
    register = DailyRegister(unit_id=unit_id, unit="Xihu", day=date(2026, 11, 30), open=12345, due_today=["a"] * 99,
                             due_tomorrow=["b"] * 999, breached=["c"] * 9999, risk_flagged=[], units=[],
                             awaiting_feedback=[], cases=[])
    message = register_message(register)
    full = f"Daily register {unit_id} 2026-11-30: 12345 open, 99 due today, 999 due tomorrow, 9999 breached"
    assert _cut_between_words(full, message.subject), message.subject


def test_the_customer_s_status_page_shows_what_was_promised_to_them_not_the_units_own_duties() -> None:
    """A follow-up call and a spot check's rectification are the organisation's duties: the
    customer's status page keeps to the dates they were given."""
    from chalicelib.domain.models import SpotCheckVerdict
    from chalicelib.domain.public_status import PublicStatus

    resolved = act(act(case_in(Status.INVESTIGATING, CaseType.COMPLAINT), "record-finding", kind="customer_issue",
                       detail="misread the label"), "resolve", result="explained the offer")
    closed = act(resolved, "close", reason="customer satisfied")
    mismatch = SpotCheckVerdict(spot_check_id="SC-1", matches=False, note="refund never paid", by="Zhao Min", at=NOW)
    ordered, _ = lifecycle.order_rectification(closed, mismatch, 5, NOW, CLOCK)
    assert {"follow_up", "rectification"} <= set(ordered.clocks)  # staff see both
    status = PublicStatus.of(ordered, "Xihu Store No. 1", TZ, NOW, rated=False)
    assert set(status.deadlines) == {"acceptance", "handling"}
    assert status.reply_by == ordered.clocks["handling"].due_at


def test_the_customer_s_own_rating_is_known_by_its_source_not_by_who_is_called_customer() -> None:
    from chalicelib.domain.public_status import rated_by_customer

    resolved = act(act(case_in(Status.INVESTIGATING, CaseType.COMPLAINT), "record-finding", kind="customer_issue",
                       detail="misread the label"), "resolve", result="explained the offer")
    by_phone = lifecycle.ACTIONS["record-feedback"].command.model_validate(
        {"actor": "customer", "satisfied": True, "satisfaction": 5})  # a member of staff called "customer"
    _, phoned = lifecycle.apply_action(resolved, "record-feedback", by_phone, NOW, CLOCK)
    assert not rated_by_customer([phoned])
    own = cmd.CustomerFeedback.of(cmd.SurveyAnswer(satisfaction=4, comment="quick and kind"))
    _, rated = lifecycle.apply_action(resolved, "record-feedback", own, NOW, CLOCK)
    assert rated_by_customer([phoned, rated])


def test_a_busy_units_register_fits_one_sns_message_and_points_to_its_csv_for_the_rest() -> None:
    """SNS takes 256 KB: a register of 1,000 cases with long texts, in both languages, is cut at a
    case line with a pointer to the CSV, instead of failing to publish (and reaching nobody)."""
    from datetime import UTC, datetime

    from chalicelib.adapters.notifications import _entry
    from chalicelib.domain.reports import DailyRegister, RegisterRow, register_message

    at = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    rows = [RegisterRow(case_id=f"CD-AAAA-BBBB-{n:04d}", type="complaint", channel="hotline", status="investigating",
                        received_at=at, handler="Chen Jie", next_clock="handling", next_deadline=at, breached=[],
                        what="一盒牛奶被扫了两次,多收了钱。" * 8, customer="王芳 Wang Fang", phone="138 0000 1234",
                        unit_id="store-xh-01", risk=None, earlier_cases=2, customer_value="金卡会员 gold member")
            for n in range(1000)]
    register = DailyRegister(unit_id="store-xh-01", unit="西湖一号店 Xihu Store No. 1", day=date(2026, 11, 30),
                             open=1000, due_today=[], due_tomorrow=[], breached=[], risk_flagged=[], units=[],
                             awaiting_feedback=[], cases=rows)
    message = register_message(register)
    assert len(_entry("0", message)["Message"].encode()) < 256 * 1024
    texts = message.payload["texts"]
    assert texts["zh"]["body"].endswith("见登记表 CSV)") and texts["en"]["body"].endswith("see the register's CSV)")
    assert "CD-AAAA-BBBB-0000" in texts["zh"]["body"] and "CD-AAAA-BBBB-0999" not in texts["en"]["body"]
