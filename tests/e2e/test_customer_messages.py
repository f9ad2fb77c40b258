"""The customer hears back, on the local stack as a person runs it: a hotline complaint's receipt
in the outbox, the answer when staff resolve it, and the satisfaction survey submitted in headless
Chromium on the tracking page (in Chinese and in English), closing the case with the customer's
own rating."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from local.harness import RunningStack, running_stack, staff_token
from local.stack import LOCAL_HOTLINE_KEY
from tests.conftest import complaint
from tests.e2e.conftest import ARTIFACTS


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outbox") / "outbox.txt"


@pytest.fixture(scope="module")
def stack(outbox: Path) -> Iterator[RunningStack]:
    with running_stack(extra_args=("--schedule-seconds", "1", "--outbox", str(outbox))) as running:
        yield running


def customer_entries(outbox: Path, case_id: str, wanted: int, seconds: float = 20) -> list[str]:
    """The outbox's entries of messages to the case's customer, once there are `wanted` of them."""
    deadline = time.monotonic() + seconds
    while True:
        content = outbox.read_text(encoding="utf-8") if outbox.exists() else ""
        found = [entry for entry in content.split("=== ")[1:] if f"the customer of {case_id}" in entry]
        if len(found) >= wanted or time.monotonic() > deadline:
            assert len(found) >= wanted, content
            return found
        time.sleep(0.3)


def handled(stack: RunningStack, case: dict[str, Any], message: str) -> dict[str, Any]:
    """Staff accept, investigate and resolve the case with a message for the customer."""
    staff = requests.Session()
    staff.headers["Authorization"] = f"Bearer {staff_token(stack, 'Zhou Min', ['agent'], 'store-xh-01')}"
    steps = [("accept", {}), ("assign", {"handler": "Chen Jie"})]
    if case["type"] == "complaint":
        steps.append(("record-finding", {"kind": "customer_issue", "detail": "scanned twice; refunded"}))
    steps.append(("resolve", {"result": "internal: refund booked by the cashier", "remedies": ["apology"],
                              "customer_message": message}))
    for action, body in steps:
        answer = staff.post(f"{stack.api}/cases/{case['case_id']}/{action}", json={**body, "version": case["version"]},
                            timeout=10)
        assert answer.status_code == 200, answer.text
        case = answer.json()
    return case


# Two customers (each number gets at most CUSTOMER_SMS_PER_NUMBER_PER_DAY texts a day).
@pytest.mark.parametrize(("language", "rating", "phone"), [("zh", 5, "138 0000 1234"), ("en", 2, "139 0000 5678")])
def test_hotline_receipt_then_the_answer_then_the_survey_in_the_browser_closes_the_case(
        stack: RunningStack, outbox: Path, browser: Any, language: str, rating: int, phone: str) -> None:
    from playwright.sync_api import expect

    body = complaint(customer={"name": "Wang Fang", "phone": phone, "email": "wang.fang@example.com",
                               "contact_consent": True, "language": language}, receiver="agent 7")
    body.pop("channel")
    filed = requests.post(f"{stack.api}/intake/hotline", json=body, timeout=10,
                          headers={"x-api-key": LOCAL_HOTLINE_KEY})
    assert filed.status_code == 201, filed.text
    case = filed.json()

    receipt_sms, receipt_email = sorted(customer_entries(outbox, case["case_id"], 2), key=lambda e: "SMS" not in e)
    e164 = "+86" + phone.replace(" ", "")
    assert f"SMS to the customer of {case['case_id']} (receipt) <{e164}>  [{language}, 1 segment; sent]" in receipt_sms
    assert ("【投诉台】已登记" if language == "zh" else f"case {case['case_id']} registered") in receipt_sms
    assert case["case_id"] in receipt_email and "<wang.fang@example.com>" in receipt_email
    token = re.search(r"/track#([\w-]+)", receipt_sms).group(1)  # type: ignore[union-attr]

    answer_text = "退款已原路退回,并向您致歉。" if language == "zh" else "The second charge was refunded; we apologise."
    handled(stack, case, answer_text)
    answer_sms = next(e for e in customer_entries(outbox, case["case_id"], 4) if "(answer)" in e and "SMS" in e)
    assert f"/track#{token}" in answer_sms
    answer_email = next(e for e in customer_entries(outbox, case["case_id"], 4) if "(answer)" in e and "email" in e)
    assert answer_text in answer_email and "internal" not in answer_email

    context = browser.new_context(locale="zh-CN" if language == "zh" else "en-GB", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.goto(f"{stack.api}/track#{token}")
    page.get_by_role("button", name="中文" if language == "zh" else "English").click()
    expect(page.locator("#answer")).to_contain_text(answer_text)
    survey = page.locator("#survey")
    expect(survey).to_be_visible()
    expect(survey).to_contain_text("您对处理结果满意吗" if language == "zh" else "Are you satisfied")
    page.get_by_role("button", name="提交评价" if language == "zh" else "Send rating").click()  # nothing chosen yet
    expect(page.locator("#err-satisfaction")).to_have_text("请选择 1–5 分" if language == "zh" else "Choose 1 to 5")
    page.get_by_label(str(rating), exact=True).check()
    expect(page.locator("#err-satisfaction")).to_have_text("")  # the choice answers the hint
    comment = page.get_by_label("意见(可选)" if language == "zh" else "Comment (optional)")
    comment.fill("谢谢" if language == "zh" else "ok")
    page.screenshot(path=str(ARTIFACTS / f"survey-{language}-form.png"), full_page=True)
    box = page.get_by_label(str(rating), exact=True).bounding_box()
    number = page.locator("label", has_text=str(rating)).first.bounding_box()
    assert box and number and abs(box["y"] - number["y"]) < 24  # each number beside its own button
    page.get_by_role("button", name="提交评价" if language == "zh" else "Send rating").click()
    thanks = f"感谢您的评价:{rating}/5" if language == "zh" else f"Thank you for your rating: {rating}/5"
    expect(page.locator("#survey-result")).to_have_text(thanks)
    expect(survey).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / f"survey-{language}.png"), full_page=True)
    context.close()

    staff = {"Authorization": f"Bearer {staff_token(stack, 'Sun Li', ['unit-manager'], 'store-xh-01')}"}
    closed = requests.get(f"{stack.api}/cases/{case['case_id']}", headers=staff, timeout=10).json()
    assert closed["status"] == "closed" and closed["closed_reason"] == "customer feedback"
    assert (closed["feedback"]["source"], closed["feedback"]["satisfaction"]) == ("customer", rating)
    assert [(m["kind"], m["medium"], m["state"]) for m in closed["customer_messages"]] == [
        ("receipt", "email", "sent"), ("receipt", "sms", "sent"),
        ("answer", "email", "sent"), ("answer", "sms", "sent")]
    assert phone.replace(" ", "") not in stack.output()  # the console printed the messages without the number

    # the staff console's case page lists what the customer was sent, with each message's state
    console = browser.new_context(locale="en-GB", timezone_id="Asia/Shanghai").new_page()
    console.goto(f"{stack.api}/console#case/{case['case_id']}")
    console.get_by_role("button", name="English").click()
    console.get_by_label("ID token").fill(staff["Authorization"].removeprefix("Bearer "))
    console.get_by_role("button", name="Sign in").click()
    told = console.locator("#customer-messages li")
    expect(told).to_have_count(4)
    in_words = {"zh": "Chinese", "en": "English"}[language]
    expect(told.first).to_contain_text(f"Receipt · email to w***@example.com ({in_words}) · sent")
    expect(told.nth(3)).to_contain_text(f"Answer · SMS to ******{phone[-2:]} ({in_words}) · sent")
    expect(console.locator("#customer-messages")).to_contain_text(answer_text)  # the text itself, on a phone too
    console.context.close()


def test_the_tracking_page_promises_no_date_that_has_gone_by_and_a_suggestion_waits_for_its_own(
        stack: RunningStack, outbox: Path, browser: Any) -> None:
    """A letter that lay for three weeks: its page says we answer as soon as we can, not a date in
    the past. A suggestion: its reply date is to follow, not the 24 hours of its acceptance."""
    from datetime import UTC, datetime, timedelta

    from playwright.sync_api import expect

    staff = {"Authorization": f"Bearer {staff_token(stack, 'Zhou Min', ['agent'], 'store-xh-01')}"}
    customer = {"name": "Jane Doe", "phone": "+44 7911 123456", "email": "jane@example.com",
                "contact_consent": True, "language": "en"}
    late = requests.post(f"{stack.api}/cases", headers=staff, timeout=10, json=complaint(
        channel="letter", customer=customer, received_at=(datetime.now(UTC) - timedelta(days=21)).isoformat()))
    idea = requests.post(f"{stack.api}/cases", headers=staff, timeout=10, json=complaint(
        type="suggestion", channel="letter", cause=None, expectation=None, customer=customer,
        five_w={"what": "please stock oat milk"}))
    assert late.status_code == idea.status_code == 201, (late.text, idea.text)
    page = browser.new_context(locale="en-GB").new_page()
    for case, said in ((late.json(), "As soon as we can"), (idea.json(), "We will tell you when to expect a reply")):
        (email,) = customer_entries(outbox, case["case_id"], 1)  # a foreign mobile: email only
        token = re.search(r"/track#([\w-]+)", email).group(1)  # type: ignore[union-attr]
        page.goto(f"{stack.api}/track#{token}")
        expect(page.locator("#status")).to_contain_text(said)
    page.context.close()
