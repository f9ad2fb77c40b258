"""Working-day deadlines on real calendar dates (rulebook §8): the day of receipt is not counted;
the limit ends at 23:59:59 unit-local time of the Nth working day after it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from chalicelib.domain.calendar import UnitClock, WorkingCalendar, working_days_deadline

CN = WorkingCalendar("CN")
GB = WorkingCalendar("GB")


def deadline(received_utc: datetime, time_zone: str, calendar: WorkingCalendar, days: int = 3) -> tuple[str, bool]:
    due, provisional = working_days_deadline(received_utc, days, UnitClock(time_zone, calendar))
    return due.isoformat(), provisional


def test_complaint_received_friday_is_due_end_of_wednesday() -> None:
    assert deadline(datetime(2026, 11, 20, 2, 0, tzinfo=UTC), "Asia/Shanghai", CN) == (
        "2026-11-25T23:59:59+08:00", False)


def test_complaint_received_friday_before_national_day_is_due_with_make_up_sunday_counted() -> None:
    # 2025-09-28 (Sunday) was a declared working day; 9-29 and 9-30 ordinary ones
    assert deadline(datetime(2025, 9, 26, 2, 0, tzinfo=UTC), "Asia/Shanghai", CN) == (
        "2025-09-30T23:59:59+08:00", False)


def test_complaint_received_on_eve_of_national_day_skips_the_holiday_and_ends_on_make_up_saturday() -> None:
    # 10-01..10-08 off; 10-09 Thu, 10-10 Fri, 10-11 Saturday declared a working day
    assert deadline(datetime(2025, 9, 30, 2, 0, tzinfo=UTC), "Asia/Shanghai", CN) == (
        "2025-10-11T23:59:59+08:00", False)
    assert not CN.is_working_day(date(2025, 10, 8))


def test_complaint_across_spring_festival_2026_counts_the_make_up_saturday_before_it() -> None:
    # 2026-02-14 (Saturday) worked; 02-15..02-23 off; then 02-24, 02-25
    assert CN.is_working_day(date(2026, 2, 14))
    assert not CN.is_working_day(date(2026, 2, 23))
    assert deadline(datetime(2026, 2, 13, 2, 0, tzinfo=UTC), "Asia/Shanghai", CN) == (
        "2026-02-25T23:59:59+08:00", False)


def test_year_without_a_published_arrangement_is_computed_from_the_statutes_and_marked_provisional() -> None:
    due, provisional = deadline(datetime(2027, 9, 30, 2, 0, tzinfo=UTC), "Asia/Shanghai", CN)
    assert provisional is True
    assert due == "2027-10-08T23:59:59+08:00"  # statutory 10-01..10-03 off, no 调休 yet


def test_an_administrator_override_makes_a_provisional_day_official() -> None:
    official = WorkingCalendar("CN", overrides={date(2027, 10, day): False for day in range(1, 9)})
    assert not official.is_provisional(date(2027, 10, 4))
    assert not official.is_working_day(date(2027, 10, 4))


def test_the_same_instant_is_a_different_local_day_in_shanghai_and_london() -> None:
    instant = datetime(2026, 11, 19, 17, 30, tzinfo=UTC)  # Fri 01:30 in Shanghai, Thu 17:30 in London
    assert deadline(instant, "Asia/Shanghai", CN)[0] == "2026-11-25T23:59:59+08:00"
    assert deadline(instant, "Europe/London", GB)[0] == "2026-11-24T23:59:59+00:00"


def test_deadline_after_the_clocks_go_forward_carries_summer_time_offset() -> None:
    # UK summer time starts Sunday 2026-03-29: Fri 27, Mon 30, Tue 31
    assert deadline(datetime(2026, 3, 26, 12, 0, tzinfo=UTC), "Europe/London", GB)[0] == (
        "2026-03-31T23:59:59+01:00")


def test_uk_christmas_and_substitute_boxing_day_are_not_working_days() -> None:
    # 12-25 Fri, 12-28 Mon (Boxing Day substitute) off: Thu 24, Tue 29, Wed 30
    assert deadline(datetime(2026, 12, 23, 12, 0, tzinfo=UTC), "Europe/London", GB)[0] == (
        "2026-12-30T23:59:59+00:00")
    assert GB.is_provisional(date(2030, 1, 2)) is False  # rule-based calendars are never provisional


# gov.uk's published bank holidays for England and Wales (https://www.gov.uk/bank-holidays),
# typed from the page, not from the library: the independent source the calendar is held to.
ENGLAND_AND_WALES_BANK_HOLIDAYS = {
    2024: ["2024-01-01", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27", "2024-08-26",
           "2024-12-25", "2024-12-26"],
    2025: ["2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25",
           "2025-12-25", "2025-12-26"],
    2026: ["2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31",
           "2026-12-25", "2026-12-28"],
    2027: ["2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30",
           "2027-12-27", "2027-12-28"],
}
ENGLAND = WorkingCalendar("GB-ENG")


def _weekdays(year: int) -> list[date]:
    from datetime import timedelta

    day, days = date(year, 1, 1), []
    while day.year == year:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def test_englands_calendar_has_exactly_the_bank_holidays_govuk_publishes_2024_to_2027() -> None:
    for year, published in ENGLAND_AND_WALES_BANK_HOLIDAYS.items():
        off = [d.isoformat() for d in _weekdays(year) if not ENGLAND.is_working_day(d)]
        assert off == published, year


def test_the_uk_wide_calendar_lacks_easter_monday_and_the_late_summer_bank_holiday() -> None:
    assert GB.is_working_day(date(2026, 4, 6)) and GB.is_working_day(date(2026, 8, 31))
    assert not ENGLAND.is_working_day(date(2026, 4, 6))
    assert not ENGLAND.is_working_day(date(2026, 8, 31))


def test_a_london_complaint_received_on_maundy_thursday_2026_is_due_the_thursday_after_easter() -> None:
    # Thu 2 Apr received; Good Friday 3 Apr and Easter Monday 6 Apr are off: Tue 7, Wed 8, Thu 9
    received = datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
    assert deadline(received, "Europe/London", ENGLAND) == ("2026-04-09T23:59:59+01:00", False)
    assert deadline(received, "Europe/London", GB) == ("2026-04-08T23:59:59+01:00", False)


def test_scotland_works_englands_easter_monday_and_has_its_own_summer_holiday() -> None:
    scotland = WorkingCalendar("GB-SCT")
    assert scotland.is_working_day(date(2026, 4, 6))       # Easter Monday: not a Scottish bank holiday
    assert not scotland.is_working_day(date(2026, 8, 3))   # first Monday of August
    assert ENGLAND.is_working_day(date(2026, 8, 3))


def test_a_subdivision_follows_its_countrys_overrides() -> None:
    from chalicelib.services.cases import unit_clock
    from tests.fakes import sample_staffed_units

    class Overrides:
        def get(self, country: str) -> dict[date, bool]:
            return {date(2026, 6, 1): False} if country == "GB" else {}

    units = sample_staffed_units()

    class Units:
        def get(self, unit_id: str) -> object:
            return units.get(unit_id)

    clock = unit_clock(Units(), Overrides(), "store-london-01")  # type: ignore[arg-type]
    assert clock is not None and clock.calendar.name == "GB-ENG"
    assert not clock.calendar.is_working_day(date(2026, 6, 1))
    assert not clock.calendar.is_working_day(date(2026, 8, 31))


def test_calendar_names_are_checked_against_the_countrys_subdivisions() -> None:
    from chalicelib.domain.calendar import calendar_problem

    assert calendar_problem("GB-ENG") is None and calendar_problem("CN") is None
    assert "GB-ENG" in (calendar_problem("GB-XYZ") or "")
    assert calendar_problem("ZZ") is not None
