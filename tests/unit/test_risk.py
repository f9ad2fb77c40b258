"""Escalation-risk language at intake: what a customer really writes, in Chinese and English, and
what must not raise the flag."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from chalicelib.domain import lifecycle
from chalicelib.domain.calendar import UnitClock, WorkingCalendar
from chalicelib.domain.commands import IntakeRequest
from chalicelib.domain.escalation import NOTICE_CLOCK, notices_at_intake
from chalicelib.domain.risk import (
    DEFAULT_PHRASES,
    RISK_CLOCK,
    RiskPhrasesRequest,
    flag_at_intake,
    matched_phrases,
)
from chalicelib.domain.statistics import stat_deltas
from tests.fakes import InMemoryUnits, sample_staffed_units

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
CLOCK = UnitClock("Asia/Shanghai", WorkingCalendar("CN"))


@pytest.mark.parametrize(("text", "found"), [
    ("如果今天不给我退款,我就打12315投诉你们,还要找记者曝光!", ("曝光", "记者", "12315")),
    ("牛奶过期了还在卖,我已经咨询了律师,准备去法院起诉。", ("律师", "起诉", "法院")),
    ("再不处理我就打１２３１５", ("12315",)),                     # full-width digits, as phone keyboards type them
    ("准备向消费者协会反映", ("消费者协会",)),
    ("If this isn't sorted by Friday I'll go to the press and report you to Trading Standards.",
     ("go to the press", "trading standards")),
    ("My LAWYERS will be in touch about the burn from your kettle.", ("lawyer",)),
    ("I will  take   you to court over this", ("take you to court",)),
])
def test_threats_in_the_customers_own_words_are_found(text: str, found: tuple[str, ...]) -> None:
    assert set(matched_phrases([text], DEFAULT_PHRASES)) == set(found)


@pytest.mark.parametrize("text", [
    "收银员多收了我一盒牛奶的钱,希望退款并道歉。",
    "我在抖音上看到你们的促销广告,到店却说没货。",                 # social media is not a threat
    "会员卡号6212315088的积分没有到账。",                          # 12315 inside a card number
    "Sue on the till was lovely, but the milk I bought was out of date. I'd like a refund.",
    "The cashier was courteous but charged me twice for the same bread.",
    "My order number is 4412315907 and it never arrived.",
    "I saw the offer in your newspaper advert and on social media.",
])
def test_ordinary_complaints_are_not_flagged(text: str) -> None:
    assert matched_phrases([text], DEFAULT_PHRASES) == ()


def intake(**overrides: object) -> IntakeRequest:
    body: dict[str, object] = {
        "type": "complaint", "channel": "hotline", "unit_id": "store-xh-01",
        "customer": {"name": "王芳", "phone": "13800001234"},
        "five_w": {"when": "昨天下午", "where": "2号收银台", "who": "收银员", "what": "同一盒牛奶扫了两次",
                   "how": "电话"},
        "expectation": "退款并道歉"}
    body.update(overrides)
    return IntakeRequest.model_validate(body)


def registered(request: IntakeRequest, phrases: tuple[str, ...] = DEFAULT_PHRASES) -> tuple:
    case, event = lifecycle.register("CD-AAAA-BBBB-CCCC", request, NOW, "Li Na", CLOCK)
    return flag_at_intake(case, event, phrases, NOW)


def test_the_expectation_alone_can_raise_the_flag_and_the_registration_records_it() -> None:
    case, event = registered(intake(expectation="退款,否则就去消协和12315投诉"))
    assert case.risk is not None and case.risk.raised
    assert case.risk.phrases == ("12315", "消协")
    assert event.changes["risk"]["after"]["phrases"] == ["12315", "消协"]


def test_any_of_the_five_w_counts() -> None:
    case, _ = registered(intake(five_w={"what": "kettle leaked", "who": "a reporter friend of mine saw it"}))
    assert case.risk is not None and case.risk.phrases == ("reporter",)


def test_a_flagged_hotline_case_tells_the_owner_and_the_regional_specialist_at_once() -> None:
    units = InMemoryUnits(list(sample_staffed_units().values()))
    case, _ = registered(intake(expectation="不解决就找记者曝光"))
    notices = notices_at_intake(case, units, NOW)
    assert {(n.clock, n.level) for n in notices} == {(RISK_CLOCK, "notice-owner"), (RISK_CLOCK, "notice-specialist")}
    assert all(n.recipients for n in notices)
    assert notices_at_intake(registered(intake())[0], units, NOW) == []


@pytest.mark.parametrize(("unit_id", "told"), [
    ("store-xh-01", {("notice-owner", "store-xh-01", ("Sun Li",)), ("notice-specialist", "county-xh", ("Wu Lan",))}),
    # a department without a manager: its notice goes up to the branch's manager
    ("dept-logistics", {("notice-owner", "branch-hz", ("Zhao Min",))}),
    # a store directly under the branch, no regional specialist above it: the branch's manager instead
    ("store-london-01", {("notice-owner", "store-london-01", ("Alex Reed",)),
                         ("notice-specialist", "branch-hz", ("Zhao Min",))}),
    ("branch-hz", {("notice-owner", "branch-hz", ("Zhao Min",))}),
])
def test_a_notice_reaches_a_person_on_every_shape_of_the_organisation(unit_id: str, told: set[tuple]) -> None:
    staffed = sample_staffed_units()
    units = InMemoryUnits(list(staffed.values()))
    names = {m.staff_id: m.name for unit in staffed.values() for m in unit.managers}
    case, _ = registered(intake(channel="media", unit_id=unit_id))
    notices = notices_at_intake(case, units, NOW)
    assert {(n.level, n.target_unit_id, tuple(names[r] for r in n.recipients)) for n in notices} == told
    assert all(n.state.value == "pending" for n in notices)


def test_a_notice_nobody_can_receive_is_recorded_as_unreachable_not_sent_to_no_one() -> None:
    nobody = [unit.model_copy(update={"managers": []}) for unit in sample_staffed_units().values()]
    case, _ = registered(intake(channel="regulator", unit_id="dept-logistics"))
    (notice,) = notices_at_intake(case, InMemoryUnits(nobody), NOW)
    assert (notice.level, notice.state.value, notice.target_unit_id, notice.recipients) == (
        "notice-owner", "unreachable", None, ())


def test_a_media_case_with_such_words_is_told_once_as_a_media_case() -> None:
    units = InMemoryUnits(list(sample_staffed_units().values()))
    case, _ = registered(intake(channel="media", expectation="我们将公开曝光"))
    assert case.risk is not None
    assert {n.clock for n in notices_at_intake(case, units, NOW)} == {NOTICE_CLOCK}


def test_an_administrators_own_list_replaces_the_defaults() -> None:
    assert registered(intake(expectation="找记者"), phrases=("投诉到总部",))[0].risk is None
    assert registered(intake(expectation="我要投诉到总部"), phrases=("投诉到总部",))[0].risk is not None
    assert registered(intake(expectation="找记者曝光"), phrases=())[0].risk is None


def test_flags_and_cleared_flags_are_counted_for_the_reports() -> None:
    case, _ = registered(intake(expectation="找律师"))
    assert stat_deltas(None, case, NOW, CLOCK)[0].counters["risk_flagged"] == 1
    from chalicelib.domain.commands import ClearRiskFlag

    cleared, event = lifecycle.apply_action(case, "clear-risk-flag",
                                            ClearRiskFlag(actor="Sun Li", reason="the customer is a lawyer himself"),
                                            NOW, CLOCK)
    assert cleared.risk is not None and not cleared.risk.raised and cleared.risk.cleared_by == "Sun Li"
    assert event.changes["risk"]["after"]["cleared_reason"] == "the customer is a lawyer himself"
    assert stat_deltas(case, cleared, NOW, CLOCK)[0].counters == {"risk_cleared": 1}
    assert "clear-risk-flag" not in lifecycle.applicable_actions(cleared, False, NOW)
    assert "clear-risk-flag" in lifecycle.applicable_actions(case, False, NOW)


def test_a_phrase_listed_twice_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError, match="listed twice"):
        RiskPhrasesRequest(actor="Gao Min", phrases=["12315", "１２３１５"], version=0)
