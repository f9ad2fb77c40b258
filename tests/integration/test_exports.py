"""Spreadsheet-bound exports: hostile text typed by a customer or by staff comes out of every CSV
export as text, never as a live formula (OWASP CSV injection), in a file Excel opens as UTF-8."""

from __future__ import annotations

import csv
import io
import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.reports import FORMULA_STARTS, as_csv
from tests.conftest import JSON, complaint, hangzhou_today, staff_token

FORMULA_CHARACTERS = sorted(FORMULA_STARTS - {"\0"})
# Text that starts like a formula, possibly after spaces; what stays after the input model strips
# whitespace still starts like one (a leading tab is stripped, `=1+1` is left).
ALPHABET = string.printable + "投诉中文，。＝＋－＠\u200b"
hostile = st.builds(lambda pad, first, rest: pad + first + rest, st.sampled_from(["", " ", "  "]),
                    st.sampled_from(FORMULA_CHARACTERS), st.text(ALPHABET, max_size=40))
visible_hostile = hostile.filter(lambda s: s.strip() != "" and s.strip()[0] in FORMULA_STARTS)


def cells(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff"), "UTF-8 with a byte order mark, so Excel reads Chinese text"
    return list(csv.reader(io.StringIO(text[1:])))


def starts_like_a_formula(cell: str) -> bool:
    """A cell a spreadsheet would evaluate: formula-like text, not a number the service computed."""
    try:
        float(cell)
        return False
    except ValueError:
        return cell.lstrip(" ")[:1] in FORMULA_STARTS


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(["a", "b", "c"]), hostile | st.text(ALPHABET, max_size=20)),
                max_size=5))
def test_the_csv_writer_neutralises_every_cell_whatever_the_rows_hold(rows: list[dict[str, str]]) -> None:
    written = cells(as_csv(rows, ("a", "b", "c")).encode())
    assert not [cell for row in written for cell in row if starts_like_a_formula(cell)]
    for row, out in zip(rows, written[1:], strict=True):  # nothing else changes
        for column, cell in zip(("a", "b", "c"), out, strict=True):
            value = row.get(column, "")
            assert cell == ("'" + value if value.lstrip(" ")[:1] in FORMULA_STARTS else value)


def manager() -> dict[str, str]:
    """A manager of the store, enrolled in the test's staff directory."""
    return {"Authorization": f"Bearer {staff_token('Sun Li', ['unit-manager'], 'store-xh-01')}"}


def exports(api: Any) -> dict[str, Any]:
    today = hangzhou_today().isoformat()
    headers = manager()
    return {name: api.get(f"{path}&format=csv", headers=headers) for name, path in {
        "statistics": f"/reports/statistics?unit_id=store-xh-01&from={today}&to={today}",
        "daily-register": f"/reports/daily-register?unit_id=store-xh-01&date={today}",
        "weekly-report": f"/reports/weekly?unit_id=store-xh-01&week_of={today}",
    }.items()}


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=visible_hostile, what=visible_hostile, handler=visible_hostile, result=visible_hostile)
def test_hostile_text_from_customers_and_staff_leaves_every_export_as_text(api: Any, name: str, what: str,
                                                                           handler: str, result: str) -> None:
    body = complaint(customer={"name": name[:200], "phone": "13800001234"},
                     five_w={**complaint()["five_w"], "what": what})
    created = api.post("/cases", headers=JSON, body=json.dumps(body))
    assert created.status_code == 201, created.json_body
    case_id = created.json_body["case_id"]
    # staff names are typed by an administrator: a hostile one is a person of the directory
    import os
    import uuid

    import boto3

    from tests.conftest import enrol_staff

    person = str(uuid.uuid4())
    enrol_staff(boto3.client("dynamodb"), os.environ["TABLE_NAME"], person, handler[:200].strip(), ["agent"],
                "store-xh-01")
    for version, (action, fields) in enumerate([("accept", {}), ("assign", {"handler": person})], start=1):
        api.post(f"/cases/{case_id}/{action}", headers=JSON, body=json.dumps({"version": version, **fields}))
    open_one = cells(exports(api)["daily-register"].body)
    api.post(f"/cases/{case_id}/record-finding", headers=JSON,
             body=json.dumps({"version": 3, "kind": "customer_issue", "detail": result}))
    api.post(f"/cases/{case_id}/resolve", headers=JSON, body=json.dumps({"version": 4, "result": result}))
    written = {name: cells(response.body) for name, response in exports(api).items()}
    written["daily-register (open)"] = open_one
    formulas = {name: [c for row in rows for c in row if starts_like_a_formula(c)] for name, rows in written.items()}
    assert not any(formulas.values()), formulas
    exported = "\n".join(c for rows in written.values() for row in rows for c in row)
    assert "'" + what.strip()[:120] in exported and "'" + handler.strip()[:200] in exported  # kept, as text
    assert "'" + result.strip()[:200] in exported


def test_a_csv_export_is_an_attachment_with_a_meaningful_name_and_no_caching(api: Any) -> None:
    today = hangzhou_today().isoformat()
    for name, response in exports(api).items():
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith(f'attachment; filename="{name}-store-xh-01-') and disposition.endswith('.csv"')
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert today in exports(api)["daily-register"].headers["Content-Disposition"]


@pytest.mark.parametrize("typed", ["\t=1+1", "=HYPERLINK(\"http://x.example\",\"open\")", "@SUM(A1)", "+1", "-1",
                                   "＝1+1"])
def test_a_stripped_leading_tab_does_not_make_a_formula(api: Any, typed: str) -> None:
    body = complaint(five_w={**complaint()["five_w"], "what": typed})
    created = api.post("/cases", headers=JSON, body=json.dumps(body)).json_body
    assert created["five_w"]["what"] == typed.strip()
    rows = cells(exports(api)["daily-register"].body)
    what = next(row[rows[0].index("what")] for row in rows if row[0] == created["case_id"])
    assert what == "'" + typed.strip()
