"""Deadline arithmetic on the Europe/London clock, with weekends and bank holidays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.timescales import Timescales, add_working_days, chaser_times, deadline, is_working_day


def test_friday_afternoon_level1_is_due_wednesday() -> None:
    """Friday 15:00 plus 3 working days is Wednesday 15:00."""
    friday = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    assert deadline("LEVEL_1", friday) == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_christmas_bank_holidays_are_skipped() -> None:
    """24 Dec 2026: Christmas Day and the Monday substitute for Boxing Day do not count."""
    assert not is_working_day(datetime(2026, 12, 28).date())
    assert add_working_days(datetime(2026, 12, 24, 10, tzinfo=UTC), 3) == datetime(
        2026, 12, 31, 10, tzinfo=UTC
    )


def test_easter_weekend() -> None:
    """Thursday before Easter 2027 (25 Mar): Good Friday and Easter Monday are skipped."""
    due = add_working_days(datetime(2027, 3, 25, 12, tzinfo=UTC), 3)
    assert due.date() == datetime(2027, 4, 1).date()


def test_clocks_going_forward_keep_london_wall_time() -> None:
    """Across the spring change, 10:00 GMT on Friday is due at 10:00 BST (09:00 UTC)."""
    due = add_working_days(datetime(2026, 3, 27, 10, tzinfo=UTC), 3)
    assert due == datetime(2026, 4, 1, 9, tzinfo=UTC)


def test_clocks_going_back_keep_london_wall_time() -> None:
    """Across the autumn change, 10:00 BST is due at 10:00 GMT."""
    due = add_working_days(datetime(2026, 10, 23, 9, tzinfo=UTC), 3)
    assert due == datetime(2026, 10, 28, 10, tzinfo=UTC)


def test_weekend_referral_starts_on_monday_morning() -> None:
    """A Saturday referral's clock starts 09:00 Monday."""
    due = add_working_days(datetime(2026, 11, 21, 22, tzinfo=UTC), 3)
    assert due == datetime(2026, 11, 26, 9, tzinfo=UTC)


def test_level2_and_level3_and_nfa() -> None:
    """Level 2: 24 hours (weekends count); Level 3 package: configurable; NFA advice."""
    t = datetime(2026, 11, 21, 22, tzinfo=UTC)
    assert deadline("LEVEL_2", t) == t + timedelta(hours=24)
    assert deadline("LEVEL_3", t, Timescales(level3_package=timedelta(hours=2))) == t + timedelta(
        hours=2
    )
    assert deadline("NFA", t) == t + timedelta(hours=24)


def test_chasers_at_configured_points() -> None:
    """Chasers at half and four fifths of the time to the deadline by default."""
    t = datetime(2026, 11, 21, tzinfo=UTC)
    assert chaser_times(t, t + timedelta(hours=10)) == [
        t + timedelta(hours=5),
        t + timedelta(hours=8),
    ]
