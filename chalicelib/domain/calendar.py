"""Working days per country (rulebook §8): public holidays and make-up working days (调休) come
from the maintained `holidays` library, never from a hand-typed list.

Some countries publish each year's arrangement shortly before the year starts (China's State
Council does, around November). For a year the library has no official arrangement for, dates
are computed from the statutory rules alone and reported as provisional.

A calendar is named by its country's ISO 3166 alpha-2 code (`CN`, `GB`), or by an ISO 3166-2
subdivision where the regions' holidays differ (`GB-ENG` for England's bank holidays, which the
UK-wide list lacks: Easter Monday and the late-summer bank holiday; `GB-SCT` for Scotland's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

# A moment in the unit's own time with its offset (rulebook §8: limits end at 23:59:59 unit-local
# time), written `+00:00` rather than `Z` so London and Shanghai read alike.
LocalTime = Annotated[datetime, PlainSerializer(lambda moment: moment.isoformat(), return_type=str,
                                                when_used="json"),
                      WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization")]


def with_offset(moment: datetime, shown: str = "%Y-%m-%d %H:%M") -> str:
    """A local moment as a message gives it: date and time to the minute, then its UTC offset (a
    manager in Hangzhou reads a London deadline; a customer reads the store's)."""
    return f"{moment:{shown}} (UTC{moment.isoformat()[-6:]})"


# Countries whose calendar is published year by year, with where the library keeps that data.
_YEARLY_ARRANGEMENTS = {"CN": ("holidays.countries.china", "ChinaStaticHolidays")}


def split_calendar(name: str) -> tuple[str, str | None]:
    """`GB-ENG` → (`GB`, `ENG`); `CN` → (`CN`, None)."""
    country, _, subdivision = name.partition("-")
    return country, subdivision or None


def country_of(name: str) -> str:
    """The country of a calendar name: the region phone numbers are read in (`GB-ENG` → `GB`)."""
    return split_calendar(name)[0]


def calendar_problem(name: str) -> str | None:
    """Why `name` is not a calendar the service can count working days in, or None if it is."""
    import holidays  # heavy: imported only when a unit is stored, not at cold start

    country, subdivision = split_calendar(name)
    try:
        known = holidays.country_holidays(country)
    except NotImplementedError:
        return f"no holiday calendar for the country {country!r}"
    if subdivision is not None and subdivision not in known.subdivisions:
        choices = ", ".join(f"{country}-{s}" for s in known.subdivisions) or "none"
        return f"{country} has no subdivision {subdivision!r} (known: {choices})"
    return None


@lru_cache(maxsize=32)
def _country_holidays(country: str, subdivision: str | None = None) -> Any:
    import holidays  # heavy: imported only when a working-day clock is computed

    return holidays.country_holidays(country, subdiv=subdivision)


@lru_cache(maxsize=32)
def last_official_year(country: str) -> int | None:
    """The last year with an official arrangement in the library; None if rules alone decide."""
    if country not in _YEARLY_ARRANGEMENTS:
        return None
    import importlib

    module, name = _YEARLY_ARRANGEMENTS[country]
    static = getattr(importlib.import_module(module), name)
    return int(max(static.special_public_holidays))


class WorkingCalendar:
    """One country's (or one of its subdivision's) working days, with an administrator's
    overrides for the country (date → is a working day)."""

    def __init__(self, calendar: str, overrides: Mapping[date, bool] | None = None) -> None:
        self.name = calendar
        self.country, self.subdivision = split_calendar(calendar)
        self._overrides = dict(overrides or {})

    def is_working_day(self, day: date) -> bool:
        if day in self._overrides:
            return self._overrides[day]
        return bool(_country_holidays(self.country, self.subdivision).is_working_day(day))

    def is_provisional(self, day: date) -> bool:
        """True when the official arrangement for the day's year is not in the library yet."""
        if day in self._overrides:
            return False
        last = last_official_year(self.country)
        return last is not None and day.year > last

    def nth_working_day_after(self, day: date, n: int) -> tuple[date, bool]:
        """The Nth working day after `day` (which itself is not counted), and whether any day
        on the way was provisional."""
        provisional, counted, current = False, 0, day
        while counted < n:
            current += timedelta(days=1)
            provisional = provisional or self.is_provisional(current)
            if self.is_working_day(current):
                counted += 1
        return current, provisional


@dataclass(frozen=True)
class UnitClock:
    """Where a case's working days are counted: its unit's time zone and country calendar."""

    time_zone: str
    calendar: WorkingCalendar


def working_days_deadline(received_at: datetime, working_days: int,
                          unit_clock: UnitClock) -> tuple[datetime, bool]:
    """Rulebook §8: the day of receipt is not counted; the limit ends at 23:59:59 unit-local time
    of the Nth working day after the local day the case was received."""
    from chalicelib.domain.clocks import end_of_local_day

    local_day = received_at.astimezone(ZoneInfo(unit_clock.time_zone)).date()
    last_day, provisional = unit_clock.calendar.nth_working_day_after(local_day, working_days)
    return end_of_local_day(last_day, unit_clock.time_zone), provisional


class DateRange(BaseModel):
    """Days from `from` to `to`, both included, as a report or a check names them (a unit's own
    days for its reports, UTC days for the audit log's chain)."""

    model_config = ConfigDict(frozen=True, defer_build=True, validate_by_name=True, serialize_by_alias=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to")


class MovedDeadline(BaseModel):
    """An open deadline counted again in a changed calendar (official dates loaded, or a unit moved
    to another calendar), as recorded in the case's history."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    case_id: str
    clock: str
    before: LocalTime
    after: LocalTime


class CalendarDates(BaseModel):
    """The official dates an administrator loaded for a country, over what the library computes."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    country: str
    overrides: dict[date, Literal["working", "holiday"]]

    @classmethod
    def of(cls, country: str, overrides: Mapping[date, bool]) -> CalendarDates:
        return cls(country=country, overrides={day: "working" if working else "holiday"
                                               for day, working in sorted(overrides.items())})


class CalendarLoaded(CalendarDates):
    moved: list[MovedDeadline]
