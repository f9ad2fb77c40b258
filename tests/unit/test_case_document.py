"""The one case document (rulebook §7: an archived file is read for years): every value of a fully
populated case reaches the archived JSON and HTML and the report rows. No AWS."""

from __future__ import annotations

import html
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.domain.archive import case_file_document, case_file_html, case_file_json, sha256_hex
from chalicelib.domain.archive_page import LABELS
from chalicelib.domain.case_document import CaseDocument, case_document
from chalicelib.domain.clocks import Clock
from chalicelib.domain.customers import EarlierCase
from chalicelib.domain.escalation import Escalation, EscalationState
from chalicelib.domain.models import (
    Acknowledgement,
    ArchivedFile,
    Case,
    Cause,
    Customer,
    CustomerReply,
    Feedback,
    Finding,
    FiveW,
    FollowUp,
    HistoryEvent,
    Importance,
    LegalHold,
    Praise,
    PraisedStaff,
    Rectification,
    Resolution,
    RiskFlag,
    RootCause,
    SpecialExtension,
    SpecialRequest,
    SpotCheckVerdict,
    SuggestionDecision,
    SuggestionOutcome,
)
from chalicelib.domain.reports import COMPLAINT_COLUMNS, REGISTER_COLUMNS, ComplaintRow, RegisterRow, as_csv

TZ = "Asia/Shanghai"
RECEIVED = datetime(2026, 11, 20, 1, 30, 15, 250_000, tzinfo=UTC)


def at(hours: float) -> datetime:
    return RECEIVED + timedelta(hours=hours)


def full_case() -> tuple[Case, list[HistoryEvent], list[Escalation]]:
    """A case with every part the rulebook records: all clocks in every state (follow-up too),
    finding, remedy, feedback, root cause, a completed rectification, extension and its request,
    importance, acknowledgement, praise, a suggestion's decision and outcome, the customer's reply,
    the follow-up contact."""
    clocks = {
        "acceptance": Clock(name="acceptance", started_at=RECEIVED, due_at=at(24), stopped_at=at(30), goal_met=True),
        "answer": Clock(name="answer", started_at=RECEIVED, due_at=at(24), stopped_at=at(3), goal_met=True),
        "handling": Clock(name="handling", started_at=RECEIVED, due_at=datetime(2026, 12, 1, 15, 59, 59, tzinfo=UTC),
                          stopped_at=at(90), goal_met=True, provisional=True, deadline_version=2),
        "reply": Clock(name="reply", started_at=at(2), due_at=at(48), stopped_at=at(40), goal_met=False),
        "rectification": Clock(name="rectification", started_at=at(200), due_at=at(300)),
        "follow_up": Clock(name="follow_up", started_at=at(21), due_at=at(190), stopped_at=at(170), goal_met=True),
    }
    case = Case(
        case_id="CD-FULL-CASE-0001", version=14, type="complaint", channel="regulator", unit_id="store-xh-01",
        status="closed", customer=Customer(name="王芳 Wang Fang", phone="13800001234", value="金卡会员 gold member"),
        five_w=FiveW(when="Saturday evening", where="checkout 3", who="cashier on shift",
                     what="charged twice for one carton of milk", how="scanned twice"),
        cause=Cause(category="service", detail="cashier error"), expectation="a refund and an apology",
        received_at=RECEIVED, receiver="Zhou Min", handler="Zhao Lei",
        finding=Finding(kind="ordinary_mistake", detail="the scanner double-read the barcode",
                        corrective_plan="retrain on the scanner", reported_to="Store manager Sun",
                        investigator="Zhao Lei", recorded_at=at(20)),
        resolution=Resolution(result="refunded 12.50 yuan", remedies=("return", "apology"), resolved_by="Zhao Lei",
                              resolved_at=at(21)),
        feedback=Feedback(satisfied=True, satisfaction=4, comment="quick and polite", recorded_at=at(22)),
        closed_reason="customer satisfied", closed_at=at(22),
        important=Importance(reason="regulator asked for the file", by="Sun Li", at=at(5)),
        root_cause=RootCause(category="equipment_environment", code="scanner-double-read",
                             corrective_action="replaced scanner head", recorded_by="Sun Li", recorded_at=at(23)),
        rectification=Rectification(spot_check_id="SC-0A1B2C3D4E", reason="refund not paid when checked",
                                    ordered_by="Branch Qian", ordered_at=at(200), completed_by="Zhao Lei",
                                    completed_at=at(250), result="refund paid on 4 December"),
        spot_checks=(SpotCheckVerdict(spot_check_id="SC-0A1B2C3D4E", matches=False, note="customer not refunded",
                                      by="Branch Qian", at=at(200)),
                     SpotCheckVerdict(spot_check_id="SC-9Z8Y7X6W5V", matches=True, note="confirmed by phone",
                                      by="Branch Zhou", at=at(255))),
        legal_hold=LegalHold(on=True, by="Auditor Qian", at=at(258), reason="court order 2026-118"),
        special=SpecialExtension(reason="needs the supplier's lab report", approver="Sun Li", approved_at=at(4)),
        risk=RiskFlag(phrases=("12315", "记者"), flagged_at=RECEIVED, cleared_reason="the regulator itself wrote",
                      cleared_by="Sun Li", cleared_by_id="staff-sun-li", cleared_at=at(6)),
        reply_promised_by=date(2026, 11, 28),
        acknowledgements=(Acknowledgement(clock="acceptance", level="breach", by="Sun Li", at=at(26)),),
        forwarded_from=("store-xh-02",), clocks=clocks, created_at=RECEIVED, updated_at=at(250),
        special_request=SpecialRequest(reason="the supplier's lab needs a week", requested_by="Zhao Lei",
                                       requested_by_id="staff-zhao-lei", requested_at=at(3.5)),
        praise=Praise(staff=(PraisedStaff(staff_id="staff-liu-min", name="Liu Min", unit_id="store-xh-01"),),
                      description="the cashier who carried the bags", recorded_by="Zhou Min", recorded_at=at(7)),
        suggestion_decision=SuggestionDecision(text="trial a self-checkout lane in January", decided_by="Manager Sun",
                                               decided_by_id="staff-sun-li", recorded_by="Zhou Min",
                                               recorded_at=at(8)),
        suggestion_outcome=SuggestionOutcome(outcome="partly_adopted", decided_by="Branch Qian",
                                             decided_by_id="staff-qian", recorded_by="Zhou Min", recorded_at=at(9)),
        customer_reply=CustomerReply(text="We refunded 12.50 yuan to your card.", recorded_by="Zhao Lei",
                                     recorded_by_id="staff-zhao-lei", recorded_at=at(21.5)),
        follow_up=FollowUp(reached=True, satisfied=True, offer="free home delivery of the next order",
                           offer_accepted=False, comment="happy with the refund", recorded_by="Zhou Min",
                           recorded_by_id="staff-zhou-min", recorded_at=at(170), on_time=True),
    )
    history = [
        HistoryEvent(seq=1, at=RECEIVED, actor="hotline intake", action="receive", from_status=None,
                     to_status="received", note="called from the car park"),
        HistoryEvent(seq=2, at=at(23), actor="Sun Li", action="record-root-cause", from_status="closed",
                     to_status="closed", changes={"root_cause": {"before": None,
                                                                 "after": {"code": "scanner-double-read"}}}),
    ]
    escalations = [
        Escalation(case_id=case.case_id, clock="acceptance", level="breach", deadline_version=1,
                   case_type="complaint", case_unit_id="store-xh-01", target_unit_id="store-xh-01",
                   due_at=at(24), created_at=at(24.01), state=EscalationState.SENT, attempts=1, sent_at=at(24.02)),
        Escalation(case_id=case.case_id, clock="notice", level="notice", deadline_version=1, case_type="complaint",
                   case_unit_id="store-xh-01", target_unit_id="county-xh", due_at=None, created_at=at(0.01),
                   state=EscalationState.PENDING, attempts=3),
    ]
    return case, history, escalations


def sent(case: Case) -> dict[str, Any]:
    """What was sent about the case: the store manager's SMS and email about the breach, and the
    customer's receipt (as staff see it: address masked, link without its token)."""
    from chalicelib.domain.customer_messages import CustomerMessage, CustomerMessageKind
    from chalicelib.domain.delivery import Delivery, DeliveryState, Medium

    key = f"{case.case_id}/acceptance/v1/breach"
    deliveries = [
        Delivery(case_id=case.case_id, escalation_key=key, staff_id="staff-sun-li", name="Sun Li", medium=Medium.SMS,
                 state=DeliveryState.DELIVERED, at=at(24.03), language="zh",
                 text="【投诉台】CD-FULL-CASE-0001 受理超时", segments=1, provider_id="sns-msg-1"),
        Delivery(case_id=case.case_id, escalation_key=key, staff_id="staff-sun-li", name="Sun Li",
                 medium=Medium.EMAIL, state=DeliveryState.BOUNCED, at=at(24.04), language="zh",
                 text="受理时限已过 acceptance overdue", provider_id="ses-msg-2", error="550 5.1.1 mailbox unknown",
                 fallback_from=Medium.SMS, digest_of=3),
    ]
    receipt = CustomerMessage(case_id=case.case_id, message_id=f"{RECEIVED.isoformat()}#receipt#sms",
                              kind=CustomerMessageKind.RECEIPT, medium=Medium.SMS, to="+8613800001234", language="zh",
                              text="【投诉台】已登记,11-25 23:59前答复https://cd.example.cn/track#tok", segments=1,
                              state=DeliveryState.SENT, attempts=1, provider_id="sns-msg-3", created_at=RECEIVED,
                              sent_at=at(0.01))
    return {"deliveries": deliveries, "customer_messages": [receipt.view()]}


def archived(case: Case) -> Case:
    return case.model_copy(update={"archive": ArchivedFile(
        case_version=13, closed_at=at(22), json_key="case-files/2026/11/store-xh-01/x.json", json_version_id="v-j",
        json_sha256="a" * 64, html_key="case-files/2026/11/store-xh-01/x.html", html_version_id="v-h",
        html_sha256="b" * 64, retain_until=datetime(2027, 11, 21, 1, 30, 16, tzinfo=UTC), archived_at=at(300),
        hot_copy_expires_at=at(3000))})


def leaves(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in leaves(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in leaves(v, f"{path}[{i}]")]
    return [(path, value)]


def keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def test_the_document_has_every_field_of_the_case_and_reads_clocks_in_unit_local_time() -> None:
    case, history, escalations = full_case()
    document = case_document(case, history, escalations, at(260), TZ)
    assert set(Case.model_fields) - {"clocks"} <= set(CaseDocument.model_fields)
    body = document.model_dump(mode="json")
    assert body["deadlines"]["handling"] == {"deadline": "2026-12-01T23:59:59+08:00", "state": "met",
                                             "stopped_at": "2026-11-24T03:30:15.250000+08:00",
                                             "provisional": True, "deadline_version": 2}
    assert body["deadlines"]["acceptance"]["state"] == "breached"
    assert body["deadlines"]["reply"]["state"] == "stopped"
    assert body["deadlines"]["rectification"]["state"] == "running"
    assert [e["clock"] for e in body["escalations"]] == ["notice", "acceptance"]  # in the order they were made
    assert document.available_actions == []  # without the user's actions it offers none, like an archived file


def test_a_fully_populated_case_shows_every_value_in_the_archived_html_with_chinese_and_english_labels() -> None:
    case, history, escalations = full_case()
    document = case_file_document(case_document(archived(case), history, escalations, at(260), TZ, **sent(case)))
    assert document["customer_messages"] and document["escalations"][1]["deliveries"]
    body = case_file_json(document)
    page = case_file_html(document, sha256_hex(body), TZ).decode()
    assert json.loads(body) == document
    # a moment stored in UTC is shown in the store's time with its offset, the stored value beside it
    assert '2026-11-20 09:30:15 +08:00 <span class="utc">(2026-11-20T01:30:15.250000Z)</span>' in page
    assert "登记 receive" in page and "回执 receipt" in page  # what was done and sent, named in Chinese

    missing = []
    for path, value in leaves(document):
        if value is None:
            continue
        shown = {True: "是 yes", False: "否 no"}.get(value, html.escape(str(value))) if isinstance(value, bool) \
            else html.escape(str(value))
        if shown not in page:
            missing.append((path, value))
    assert missing == []
    assert "2026-12-01T23:59:59+08:00" in page and "按时完成 met" in page and "已超时 breached" in page
    assert sha256_hex(body) in page
    unlabelled = {k for k in keys(document) if k not in LABELS} - set(document["deadlines"])
    assert unlabelled == set()
    for label in ("时限 Deadlines", "调查结论 Finding", "根本原因 Root cause", "限期整改", "客户反馈 Customer feedback",
                  "补救措施 Remedies", "退货 return", "升级确认 Acknowledgements", "抽查验证 Spot checks",
                  "法律保全 Legal hold"):
        assert label in page
    assert "@media print" in page and "<script" not in page and "<pre>" not in page
    assert '<html lang="zh-CN">' in page


def test_the_report_rows_of_a_fully_populated_case_carry_its_values() -> None:
    case, history, escalations = full_case()
    flagged = RiskFlag(phrases=("12315", "记者"), flagged_at=RECEIVED)
    open_case = case.model_copy(update={"status": "investigating", "risk": flagged})
    earlier = [EarlierCase(case_id="CD-EARL-IER0-0001", received_at=at(-300), type="inquiry", status="closed",
                           unit_id="store-xh-01")]
    document = case_document(open_case, history, escalations, at(260), TZ, earlier_cases=earlier)
    register = RegisterRow.of(document, TZ).model_dump(mode="json")
    assert RegisterRow.of(document, TZ, contact=False).model_dump(mode="json") | {
        "customer": "王芳 Wang Fang", "phone": "13800001234"} == register
    complaint = ComplaintRow.of(document).model_dump(mode="json")
    overdue = case_document(open_case, history, escalations, at(301), TZ, earlier_cases=earlier)
    assert RegisterRow.of(overdue, TZ).breached == ["rectification"]  # running past its deadline
    assert register == {
        "case_id": "CD-FULL-CASE-0001", "type": "complaint", "channel": "regulator", "status": "investigating",
        "received_at": "2026-11-20T09:30:15.250000+08:00", "handler": "Zhao Lei", "next_clock": "rectification",
        "next_deadline": "2026-12-02T21:30:15.250000+08:00", "breached": [],  # acceptance was late, but is done
        "what": "charged twice for one carton of milk", "customer": "王芳 Wang Fang", "phone": "13800001234",
        "unit_id": "store-xh-01", "risk": "12315; 记者", "earlier_cases": 1, "customer_value": "金卡会员 gold member"}
    assert complaint == {
        "case_id": "CD-FULL-CASE-0001", "unit_id": "store-xh-01", "status": "investigating", "cause": "service",
        "what": "charged twice for one carton of milk", "finding": "ordinary_mistake", "result": "refunded 12.50 yuan",
        "satisfaction": 4, "root_cause": "scanner-double-read"}
    for row, columns in ((register, REGISTER_COLUMNS), (complaint, COMPLAINT_COLUMNS)):
        text = as_csv([row], columns)
        assert text.splitlines()[0] == "\ufeff" + ",".join(f'"{c}"' for c in columns)  # BOM, every cell quoted
        for value in row.values():
            assert (";".join(value) if isinstance(value, list) else str(value)) in text


def test_retention_rounds_up_to_the_second_and_is_never_short() -> None:
    """Rulebook §7: S3 keeps retain-until to the second; cutting 0.5 s would end the lock early."""
    from chalicelib.domain.archive import ArchivePolicy, retain_until

    case, _, _ = full_case()
    policy = ArchivePolicy()
    closed = datetime(2026, 11, 20, 23, 30, 15, 500_000, tzinfo=UTC)
    plain = case.model_copy(update={"important": None, "closed_at": closed})
    assert retain_until(plain, policy, closed) == datetime(2027, 11, 20, 23, 30, 16, tzinfo=UTC)
    assert retain_until(plain, policy, closed) - closed.replace(year=2027) == timedelta(microseconds=500_000)
    exact = plain.model_copy(update={"closed_at": closed.replace(microsecond=0)})
    assert retain_until(exact, policy, closed) == datetime(2027, 11, 20, 23, 30, 15, tzinfo=UTC)
    important = case.model_copy(update={"closed_at": closed})
    assert retain_until(important, policy, closed) == datetime(2036, 11, 20, 23, 30, 16, tzinfo=UTC)
    long_ago = plain.model_copy(update={"closed_at": datetime(2020, 1, 1, tzinfo=UTC)})
    now = datetime(2026, 11, 20, 8, 0, 0, 1, tzinfo=UTC)
    assert retain_until(long_ago, policy, now) == datetime(2026, 11, 21, 8, 0, 1, tzinfo=UTC)


def test_verify_reports_a_broken_chain_of_addenda() -> None:
    """Rulebook §7: each addendum names the file before it, in the index and in its own body."""
    from chalicelib.domain.archive import chain_problems

    assert chain_problems(0, None, 0, None, b'{"case_id": "x"}') == []
    assert chain_problems(1, "a" * 64, 1, "a" * 64, b'{"addendum": {"previous_sha256": "' + b"a" * 64 + b'"}}') == []
    assert len(chain_problems(1, "b" * 64, 1, "a" * 64, b'{"addendum": {"previous_sha256": "b"}}')) == 2
    assert len(chain_problems(2, "a" * 64, 1, "a" * 64, None)) == 1


def test_an_audit_export_holds_each_record_and_names_the_day_before() -> None:
    """Rulebook §7: the audit log's daily file; any edit to a record or a file breaks the chain."""
    from chalicelib.domain.archive_records import AuditRecord
    from chalicelib.domain.audit_chain import check_day, export_file

    day = date(2026, 11, 26)
    records = [AuditRecord(at=datetime(2026, 11, 26, h, tzinfo=UTC), actor="Auditor Qian", action="verify",
                           case_id="CD-AAAA-BBBB-CCCC", keys=("k",), version_ids=("v",), outcome="intact",
                           record_id=f"r{h}", staff_id="s-1") for h in (9, 3)]
    body = export_file(day, records, "f" * 64)
    assert body.decode().splitlines()[1].startswith('{"action":"verify","actor":"Auditor Qian","at":"2026-11-26T03')
    assert check_day(day, body, "f" * 64, records).problem is None
    assert "previous" in (check_day(day, body, "e" * 64, records).problem or "")
    assert check_day(day, body, None, records, link_known=False).problem is None
    edited = [records[0].model_copy(update={"outcome": "MISMATCH"}), records[1]]
    assert "differ" in (check_day(day, body, "f" * 64, edited).problem or "")
    assert "header" in (check_day(day, body.replace(b"intact", b"intakt"), "f" * 64, None).problem or "")
    assert check_day(day, None, "f" * 64, None).problem == "no export file for this day"
