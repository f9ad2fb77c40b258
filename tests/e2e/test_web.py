"""The web form and the staff console in a real browser (issue 8): headless Debian Chromium driven
by Playwright against the local stack. Screenshots go to test-artifacts/ (kept by CI)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from local.harness import ROOT, RunningStack, running_stack
from tests.conftest import complaint

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
# Chromium as this machine runs it: no sandbox as root, and no background connections (the
# network is closed; they would only be refused).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def stack() -> Iterator[RunningStack]:
    with running_stack() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium is missing: ./dev test installs it (apt-get install chromium)"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-GB", timezone_id="Asia/Shanghai")
    opened = context.new_page()
    yield opened
    context.close()


def token(roles: list[str], unit_id: str = "store-xh-01", name: str = "Sun Li") -> str:
    from local.issuer import mint

    return mint(name, roles, unit_id)


def fill_complaint(page: Any) -> None:
    page.get_by_role("button", name="English").click()
    page.get_by_label("Type").select_option("complaint")
    page.get_by_label("Store or department").select_option("store-xh-01")
    page.get_by_label("Name").fill("Wang Fang")
    page.get_by_label("Phone").fill("138 0000 1234")
    page.get_by_label("What happened (required)").fill("I was charged twice for one carton of milk.")
    page.get_by_label("When").fill("yesterday 15:00")
    page.get_by_label("Where").fill("checkout 2")
    page.get_by_label("Cause").select_option("service")
    page.get_by_label("What would you like us to do").fill("A refund of the second charge.")


def test_a_customer_files_a_complaint_and_gets_a_receipt(stack: RunningStack, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack.api}/")
    expect(page.get_by_label("Store or department").locator("option", has_text="Xihu")).not_to_have_count(0)
    fill_complaint(page)
    page.get_by_role("button", name="Send").click()
    receipt = page.get_by_role("region", name="Received, thank you")
    expect(receipt).to_be_visible()
    case_number = page.locator("#case-number").inner_text()
    assert re.fullmatch(r"CD-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", case_number)
    expect(page.locator("#reply-by")).not_to_have_text("—")
    expect(page.locator("#next-steps")).to_contain_text("3 working days")
    page.screenshot(path=str(ARTIFACTS / "form-receipt.png"), full_page=True)

    page.get_by_role("button", name="中文").click()  # the receipt follows the language
    expect(page.locator("#next-steps")).to_contain_text("3个工作日")
    page.locator("#tracking-link").click()
    expect(page.locator("#status")).to_contain_text(case_number)
    expect(page.locator("#status")).to_contain_text("已收到")
    page.screenshot(path=str(ARTIFACTS / "status-page.png"), full_page=True)


def test_validation_errors_are_shown_next_to_their_fields(stack: RunningStack, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack.api}/")
    fill_complaint(page)
    page.get_by_label("Phone").fill("12")
    page.get_by_label("What happened (required)").fill("")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#err-customer\\.phone")).to_have_text(re.compile("valid phone number"))
    expect(page.locator("#err-five_w\\.what")).to_have_text("Required")
    expect(page.get_by_label("Phone")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(ARTIFACTS / "form-client-errors.png"), full_page=True)

    # What only the service checks is shown the same way: a name over its 200 characters.
    page.get_by_label("Phone").fill("13800001234")
    page.get_by_label("What happened (required)").fill("charged twice")
    page.get_by_label("Name").evaluate("input => input.removeAttribute('maxlength')")
    page.get_by_label("Name").fill("W" * 250)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#err-customer\\.name")).to_contain_text("at most 200 characters")
    expect(page.locator("#form-error")).to_contain_text("Some answers need a change")
    expect(page.get_by_role("region", name="Received, thank you")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "form-server-errors.png"), full_page=True)


def test_staff_open_the_filed_complaint_accept_it_and_resolve_it(stack: RunningStack, page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack.api}/")
    fill_complaint(page)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("region", name="Received, thank you")).to_be_visible()
    case_number = page.locator("#case-number").inner_text()
    # A hotline call received 30 hours ago and never accepted: its acceptance is breached.
    staff = {"Authorization": f"Bearer {token(['agent', 'unit-manager'])}"}
    late = requests.post(f"{stack.api}/cases", headers=staff, timeout=10, json=complaint(
        received_at=(datetime.now(UTC) - timedelta(hours=30)).isoformat())).json()

    page.goto(f"{stack.api}/console")
    page.get_by_label("ID token").fill(token(["agent", "unit-manager"]))
    page.get_by_role("button", name="Sign in").click()
    rows = page.locator("#case-rows tr")
    expect(rows.filter(has_text=case_number)).to_have_count(1)
    expect(rows.first).to_have_attribute("data-case", late["case_id"])  # nearest (passed) deadline first
    expect(rows.first).to_have_class("breached")
    expect(rows.first).to_contain_text("BREACHED")
    countdown = rows.filter(has_text=case_number).locator("[data-deadline]")
    before = countdown.inner_text()
    expect(countdown).not_to_have_text(before, timeout=3000)  # it counts down live
    page.screenshot(path=str(ARTIFACTS / "console-cases.png"), full_page=True)

    page.get_by_role("link", name=case_number).click()
    expect(page.locator("#case-title")).to_contain_text("received")
    page.locator("summary").get_by_text("accept", exact=True).click()
    page.locator("form[data-action=accept] button").click()
    expect(page.locator("#case-title")).to_contain_text("accepted")
    page.locator("summary").get_by_text("assign", exact=True).click()
    page.locator("form[data-action=assign]").get_by_label("handler (required)").fill("Chen Jie")
    page.locator("form[data-action=assign] button").click()
    expect(page.locator("#case-title")).to_contain_text("assigned")
    page.locator("summary").get_by_text("record finding", exact=True).click()
    finding = page.locator("form[data-action=record-finding]")
    finding.get_by_label("kind (required)").select_option("ordinary_mistake")
    finding.get_by_label("detail (required)").fill("The scanner registered the carton twice.")
    finding.locator("button").click()
    expect(page.locator("#action-error")).to_contain_text("incomplete")  # an ordinary mistake needs a plan
    expect(finding.locator("#err-corrective_plan")).to_contain_text("corrective plan")
    finding.get_by_label("corrective plan").fill("Service the scanner; cashiers check the total.")
    finding.locator("button").click()
    expect(page.locator("#case-title")).to_contain_text("investigating")
    page.locator("summary").get_by_text("resolve", exact=True).click()
    resolve = page.locator("form[data-action=resolve]")
    resolve.get_by_label("result (required)").fill("Refunded the second charge and apologised.")
    resolve.get_by_label("remedies").select_option(["return", "apology"])
    resolve.locator("button").click()
    expect(page.locator("#case-title")).to_contain_text("resolved")
    expect(page.locator("#history li")).to_have_count(5)
    expect(page.locator("#clock-rows")).to_contain_text("met")
    page.screenshot(path=str(ARTIFACTS / "console-case-resolved.png"), full_page=True)

    stored = requests.get(f"{stack.api}/cases/{case_number}", headers=staff, timeout=10).json()
    assert stored["status"] == "resolved" and stored["resolution"]["remedies"] == ["return", "apology"]
    assert [e["action"] for e in stored["history"]] == ["receive", "accept", "assign", "record-finding", "resolve"]

    page.get_by_role("button", name="Statistics").click()
    expect(page.locator("#charts")).to_contain_text("Received")
    expect(page.locator("#charts")).to_contain_text("On time")
    page.screenshot(path=str(ARTIFACTS / "console-statistics.png"), full_page=True)


def test_a_token_in_the_console_address_signs_nobody_in(stack: RunningStack, page: Any) -> None:
    """Tokens reach the console by the code flow (AWS) or the paste box (local), never by a link."""
    from playwright.sync_api import expect

    page.goto(f"{stack.api}/console#id_token={token(['agent', 'unit-manager'])}")
    expect(page.get_by_label("ID token")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('token')") is None


def test_the_access_log_of_a_browser_session_holds_no_tracking_or_staff_token(stack: RunningStack,
                                                                              page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{stack.api}/")
    fill_complaint(page)
    with page.expect_response(f"{stack.api}/public/cases") as filed:
        page.get_by_role("button", name="Send").click()
    receipt = filed.value.json()
    page.locator("#tracking-link").click()
    expect(page.locator("#status")).to_contain_text(receipt["case_number"])
    staff = token(["agent", "unit-manager"])
    page.goto(f"{stack.api}/console?code=one-time-sign-in-code&state=some-state")
    page.get_by_label("ID token").fill(staff)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{stack.api}/console#case/{receipt['case_number']}")
    expect(page.locator("#case-title")).to_contain_text("received")

    log = stack.output()
    assert "/public/track/*** HTTP/1.1\" 200" in log  # the status page's request was logged, masked
    for secret in (receipt["tracking_token"], staff, staff.split(".")[1], "one-time-sign-in-code"):
        assert secret not in log


def test_pages_work_on_a_phone_sized_screen_and_every_control_has_a_label(browser: Any, stack: RunningStack) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-GB", is_mobile=True)
    phone = context.new_page()
    for path in ("/", "/console"):
        phone.goto(f"{stack.api}{path}")
        phone.wait_for_load_state("networkidle")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, path
        unlabelled = phone.evaluate("[...document.querySelectorAll('input, select, textarea')]"
                                    ".filter(e => e.labels.length === 0).map(e => e.id)")
        assert unlabelled == [], (path, unlabelled)
    phone.goto(f"{stack.api}/")
    phone.keyboard.press("Tab")  # the keyboard reaches the controls in order
    focused = [phone.evaluate("document.activeElement.textContent || document.activeElement.id")]
    for _ in range(4):
        phone.keyboard.press("Tab")
        focused.append(phone.evaluate("document.activeElement.id || document.activeElement.textContent"))
    assert "type" in focused and "unit_id" in focused
    phone.screenshot(path=str(ARTIFACTS / "form-phone.png"), full_page=True)
    context.close()


SIGN_IN = "https://signin.example.test"


class HostedSignIn:
    """Playwright answers for Cognito's hosted page: it remembers the PKCE challenge it was sent and
    gives an ID token only for the verifier whose SHA-256 it is."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.asked: dict[str, str] = {}

    def authorize(self, route: Any) -> None:
        from urllib.parse import parse_qs, urlparse

        self.asked = {k: v[0] for k, v in parse_qs(urlparse(route.request.url).query).items()}
        back = f"{self.asked['redirect_uri']}?code=one-time&state={self.asked['state']}"
        route.fulfill(status=302, headers={"Location": back})

    def token(self, route: Any) -> None:
        import base64
        import hashlib
        import json
        from urllib.parse import parse_qs

        form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
        digest = hashlib.sha256(form["code_verifier"].encode()).digest()
        valid = (base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == self.asked["code_challenge"]
                 and form["code"] == "one-time" and form["redirect_uri"] == self.asked["redirect_uri"]
                 and form["client_id"] == self.client_id)
        body = ({"id_token": token(["unit-manager"], name="Zhou Yu", unit_id="store-xh-02"), "token_type": "Bearer"}
                if valid else {"error": "invalid_grant"})
        route.fulfill(status=200 if valid else 400, body=json.dumps(body),
                      headers={"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"})


def test_staff_sign_in_on_the_hosted_page_with_pkce(browser: Any) -> None:
    """The console's code flow against a stand-in for Cognito's hosted page: the token request must
    carry the verifier of the challenge sent first, and the console then signs in with the token."""
    import os

    from playwright.sync_api import expect

    os.environ["AUTH_SIGNIN_URL"] = SIGN_IN
    try:
        with running_stack() as stack:
            config = requests.get(f"{stack.api}/public/sign-in", timeout=10).json()
            assert config["authorize_url"] == f"{SIGN_IN}/oauth2/authorize"
            hosted = HostedSignIn(config["client_id"])
            context = browser.new_context(locale="en-GB")
            page = context.new_page()
            page.route(f"{SIGN_IN}/oauth2/authorize**", hosted.authorize)
            page.route(f"{SIGN_IN}/oauth2/token", hosted.token)
            page.goto(f"{stack.api}/console")
            page.get_by_role("button", name="Sign in with your staff account").click()
            expect(page.locator("#who")).to_contain_text("Zhou Yu")
            expect(page.get_by_role("heading", name="Open cases, nearest deadline first")).to_be_visible()
            assert hosted.asked["code_challenge_method"] == "S256"
            assert hosted.asked["redirect_uri"] == f"{stack.api}/console"
            assert "code=" not in page.url  # the one-time code does not stay in the address bar
            context.close()
    finally:
        os.environ.pop("AUTH_SIGNIN_URL", None)
