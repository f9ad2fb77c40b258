"""The message catalogue (chalicelib/domain/messages.py): every template in every language fits one
SMS segment with the longest real values, and the email carries the case's link."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chalicelib.domain.messages import TEMPLATES, Item, kind_of, render, sms_encoding, sms_segments, template_variables

ROOT = Path(__file__).resolve().parents[2]
UNITS = json.loads((ROOT / "local" / "sample_organisation.json").read_text())
LONGEST_UNIT = max((u["name"] for u in UNITS), key=len)  # "西湖县公司 Xihu County Company" or longer
LINK_BASE = "https://cd.example.cn"  # a short custom domain, as the README asks for Chinese SMS
LEVELS = {"warning": "warning", "breach": "breach", "escalated": "up-5", "reminder": "reminder-2026-12-31",
          "notice": "notice-specialist", "risk": "notice-owner", "digest": "breach",
          "digest-urgent": "notice-owner"}


def longest_item(level: str, clock: str = "rectification") -> Item:
    return Item(case_id="CD-WWWW-WWWW-WWWW", unit_name=LONGEST_UNIT, clock=clock, level=level,
                deadline=datetime(2026, 12, 31, 15, 59, 59, tzinfo=UTC), time_zone="Asia/Shanghai",
                late_levels=("breach", "up-1", "up-2", "up-3", "up-4"))


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("kind", list(TEMPLATES))
def test_every_template_fits_one_sms_segment_with_the_longest_real_values(kind: str, language: str) -> None:
    first = longest_item(LEVELS[kind], "risk" if kind == "risk" else "rectification")
    many = [replace(first, case_id=f"CD-WWWW-WWWW-{n:04d}") for n in range(998)]
    items = [first, *many] if kind.startswith("digest") else [first]
    rendered = render(items, language, LINK_BASE)
    assert sms_segments(rendered.sms) == 1, (len(rendered.sms), rendered.sms)
    if language == "en":
        assert sms_encoding(rendered.sms) == "GSM-7"  # no Chinese character slips into an English SMS
    assert len(rendered.subject) < 100
    link = f"{LINK_BASE}/c/{'inbox' if kind.startswith('digest') else 'CD-WWWW-WWWW-WWWW'}"
    assert link in rendered.sms
    assert f'href="{LINK_BASE}/c/CD-WWWW-WWWW-WWWW"' in rendered.html and LINK_BASE in rendered.text


def test_an_email_gives_the_deadline_with_its_utc_offset_the_sms_stays_short() -> None:
    """A manager in Hangzhou reads a London store's breach: the email says which clock it is."""
    london = Item(case_id="CD-AAAA-BBBB-CCCC", unit_name="London Flagship", clock="acceptance", level="breach",
                  deadline=datetime(2026, 11, 25, 9, 0, tzinfo=UTC), time_zone="Europe/London")
    rendered = render([london], "zh", LINK_BASE)
    assert "2026-11-25 09:00 (UTC+00:00)" in rendered.subject and "2026-11-25 09:00 (UTC+00:00)" in rendered.text
    assert sms_segments(rendered.sms) == 1


def test_an_urgent_notice_leads_a_digest_and_says_so() -> None:
    breach = longest_item("breach", "acceptance")
    notice = replace(breach, case_id="CD-XXXX-XXXX-XXXX", level="notice-owner", clock="risk")
    rendered = render([breach, notice], "zh", LINK_BASE)
    assert rendered.sms.startswith("【投诉台】2件待处理,含紧急来件") and "超时提醒" not in rendered.sms
    assert rendered.text.index("CD-XXXX-XXXX-XXXX") < rendered.text.index("CD-WWWW-WWWW-WWWW")
    one_case = render([breach, replace(breach, level="notice-owner", clock="risk")], "en", LINK_BASE)
    assert "may go to media" in one_case.sms  # one case: its notice speaks for it


def test_a_digest_counts_cases_not_reminders() -> None:
    """Three reminders about two cases (a breach and its rung above for one, a breach for another)."""
    one = longest_item("breach", "acceptance")
    items = [one, replace(one, level="up-1"), replace(one, case_id="CD-XXXX-XXXX-XXXX")]
    assert render(items, "zh", LINK_BASE).sms.startswith("【投诉台】2件")
    assert render(items, "en", LINK_BASE).sms.startswith("Complaint Desk: 2 cases need you")
    same_case = render(items[:2], "en", LINK_BASE)  # one case: its latest reminder, with the case's own link
    assert "cases need you" not in same_case.sms and f"{LINK_BASE}/c/CD-WWWW-WWWW-WWWW" in same_case.sms
    assert same_case.text.count("CD-WWWW-WWWW-WWWW") >= 2  # both reminders listed in the email


def test_the_segment_rules_are_the_carriers_not_character_counts() -> None:
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2  # GSM-7: 160, then 153 a part
    assert sms_segments("€" * 80) == 1 and sms_segments("€" * 81) == 2  # extension characters count twice
    assert sms_segments("超" * 70) == 1 and sms_segments("超" * 71) == 2  # UCS-2: 70, then 67 a part
    assert sms_segments("a" * 159 + "超") == 3  # one Chinese character makes the whole text UCS-2


def test_each_template_names_its_variables_for_carrier_registration() -> None:
    variables = template_variables()
    assert variables["breach.zh"] >= {"clock", "link"} and variables["digest.en"] >= {"count", "link"}
    assert set(variables) == {f"{kind}.{lang}" for kind in TEMPLATES for lang in ("zh", "en")}
    assert kind_of("up-3") == "escalated" and kind_of("reminder-2026-12-01") == "reminder"
    assert kind_of("notice-owner") == "notice" and kind_of("notice-owner", "risk") == "risk"
