"""The case service's rules on in-memory fakes of its ports (tests/fakes.py): intake, optimistic
locking, the unit of work an action commits, and the register's pages. No moto: milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import commands as cmd
from chalicelib.domain.auth import Principal, Role
from chalicelib.domain.errors import InvalidInput, StaleVersion
from chalicelib.domain.escalation import Escalation
from chalicelib.domain.models import Status
from chalicelib.services.cases import CaseService
from chalicelib.services.ports import AcknowledgedLevel
from tests.conftest import complaint
from tests.fakes import InMemoryCaseRepository, InMemoryUnits, sample_staffed_units

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in Shanghai
AGENT = Principal("agent-1", "Li Na", "store-xh-01", frozenset({Role.AGENT}))
MANAGER = Principal("manager-1", "Sun Li", "store-xh-01", frozenset({Role.UNIT_MANAGER}))


@pytest.fixture
def desk() -> tuple[CaseService, InMemoryCaseRepository]:
    cases = InMemoryCaseRepository()
    return CaseService(cases, InMemoryUnits(list(sample_staffed_units().values())), now=lambda: NOW), cases


def register(service: CaseService, **overrides: Any) -> str:
    return service.register(cmd.IntakeRequest.model_validate(complaint(**overrides)), None, AGENT).case.case_id


def test_a_case_is_stored_with_its_alarms_and_its_statistics_in_the_same_write(
        desk: tuple[CaseService, InMemoryCaseRepository]) -> None:
    service, cases = desk
    case_id = register(service)
    stored = cases.get(case_id)
    assert stored.case.status is Status.RECEIVED and [e.action for e in stored.history] == ["receive"]
    assert {clock for (cid, clock) in cases.alarms if cid == case_id} == {"acceptance", "handling"}
    assert [delta.counters["received"] for delta in cases.stats] == [1]


def test_a_drawn_case_id_already_taken_is_drawn_again_and_the_first_case_is_untouched(
        desk: tuple[CaseService, InMemoryCaseRepository], monkeypatch: pytest.MonkeyPatch) -> None:
    service, cases = desk
    first = register(service)
    drawn = iter([first, "CD-2026-NEW1-0001"])
    monkeypatch.setattr("chalicelib.services.cases.new_case_id", lambda: next(drawn))
    second = register(service, expectation="a different customer")
    assert second == "CD-2026-NEW1-0001"
    assert cases.get(first).case.expectation == "refund of the double charge and an apology"


def test_a_change_at_a_stale_version_is_refused_and_writes_nothing(
        desk: tuple[CaseService, InMemoryCaseRepository]) -> None:
    service, cases = desk
    case_id = register(service)
    with pytest.raises(StaleVersion):
        service.act(case_id, "accept", cmd.Accept(actor="Li Na", version=2), None, AGENT)
    assert len(cases.get(case_id).history) == 1 and cases.get(case_id).case.version == 1


def test_an_acknowledged_escalation_reaches_the_alarm_in_the_same_change(
        desk: tuple[CaseService, InMemoryCaseRepository]) -> None:
    service, cases = desk
    case_id = register(service)
    acceptance = cases.get(case_id).case.clocks["acceptance"]
    cases.escalations[case_id].append(Escalation(
        case_id=case_id, clock="acceptance", level="breach", deadline_version=acceptance.deadline_version,
        case_type="complaint", case_unit_id="store-xh-01", target_unit_id="store-xh-01",
        due_at=acceptance.due_at, created_at=NOW))
    service.act(case_id, "acknowledge", cmd.Acknowledge(actor="Sun Li", clock="acceptance", level="breach",
                                                        version=1), None, MANAGER)
    assert cases.also_written == [AcknowledgedLevel(case_id, "acceptance", acceptance.deadline_version, "breach")]
    # the same manager's second click changes nothing and writes nothing more
    service.act(case_id, "acknowledge", cmd.Acknowledge(actor="Sun Li", clock="acceptance", level="breach",
                                                        version=2), None, MANAGER)
    assert len(cases.also_written) == 1 and cases.get(case_id).case.version == 2


def test_an_agent_may_not_acknowledge_and_is_told_why(desk: tuple[CaseService, InMemoryCaseRepository]) -> None:
    service, cases = desk
    case_id = register(service)
    with pytest.raises(InvalidInput) as refused:
        service.act(case_id, "acknowledge", cmd.Acknowledge(actor="Li Na", clock="acceptance", level="breach",
                                                            version=1), None, AGENT)
    assert set(refused.value.fields) == {"actor", "level"} and cases.also_written == []


def test_the_register_lists_a_unit_newest_first_in_pages_and_filters_by_status(
        desk: tuple[CaseService, InMemoryCaseRepository]) -> None:
    service, _ = desk
    ids = [register(service, received_at=(NOW - timedelta(hours=n)).isoformat()) for n in (3, 2, 1)]
    service.act(ids[0], "accept", cmd.Accept(actor="Li Na", version=1), None, AGENT)
    first = service.of_unit("store-xh-01", None, 2, None, AGENT)
    second = service.of_unit("store-xh-01", None, 2, first.next_cursor, AGENT)
    assert [c.case_id for c in first.items + second.items] == ids[::-1] and second.next_cursor is None
    accepted = service.of_unit("store-xh-01", Status.ACCEPTED, 10, None, AGENT)
    assert [c.case_id for c in accepted.items] == [ids[0]]
    assert accepted.items[0].deadlines["acceptance"].state == "met"
    with pytest.raises(InvalidInput, match="cannot be read") as refused:
        service.of_unit("store-zz-99", None, 10, None, AGENT)
    assert set(refused.value.fields) == {"unit_id"}
