"""Statutory timescales, in one configuration: Level 3 notification at once and a package to
follow, Level 2 within 24 hours, Level 1 within 3 working days (weekends and England and
Wales bank holidays excluded, counted on the Europe/London clock), chasers before deadlines.
Pure functions: the caller passes the time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, ConfigDict, Field

LONDON = ZoneInfo("Europe/London")
WORKDAY_START = time(9, 0)


class Timescales(BaseModel):
    """Every timescale the MASH runs to (env MASH_TIMESCALES__* through service settings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    level3_notification_target_s: float = Field(
        default=1.0, gt=0, description="target from intake to notification"
    )
    level3_package: timedelta = Field(
        default=timedelta(hours=4), description="package to follow the notification"
    )
    level2_package: timedelta = timedelta(hours=24)
    level1_working_days: int = Field(default=3, ge=1)
    nfa_advice: timedelta = Field(
        default=timedelta(hours=24), description="advice to the referrer after no further action"
    )
    chaser_points: tuple[float, ...] = Field(
        default=(0.5, 0.8), description="fractions of the time to deadline when chasers go out"
    )


@cache
def _bank_holidays(year: int) -> frozenset[date]:
    # England and Wales share their bank holidays (Scotland and NI differ).
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    """Monday to Friday and not an England and Wales bank holiday."""
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def add_working_days(received: datetime, days: int) -> datetime:
    """``days`` working days after ``received``, same London wall-clock time; a referral that
    arrives on a weekend or bank holiday starts the clock at 09:00 on the next working day."""
    local = received.astimezone(LONDON)
    day, clock = local.date(), local.timetz().replace(tzinfo=None)
    if not is_working_day(day):
        while not is_working_day(day):
            day += timedelta(days=1)
        clock = WORKDAY_START
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return datetime.combine(day, clock, tzinfo=LONDON).astimezone(UTC)


def deadline(level: str, received: datetime, scales: Timescales | None = None) -> datetime | None:
    """When the package (for NFA: the advice to the referrer) is due at ``level``."""
    scales = scales or Timescales()
    if level == "LEVEL_3":
        return received + scales.level3_package
    if level == "LEVEL_2":
        return received + scales.level2_package
    if level == "LEVEL_1":
        return add_working_days(received, scales.level1_working_days)
    if level == "NFA":
        return received + scales.nfa_advice
    return None


def chaser_times(
    issued: datetime, due: datetime, scales: Timescales | None = None
) -> list[datetime]:
    """When to chase an agency that has not answered, before ``due``."""
    scales = scales or Timescales()
    span = due - issued
    return [issued + span * point for point in scales.chaser_points]
