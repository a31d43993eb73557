"""Retention rules: when a referral's information may be erased, judged from its classes, the
children's dates of birth and its last activity."""

from __future__ import annotations

from datetime import date

from hub.retention import add_years, class_ends, retention_of

S47 = "s47-until-25th-birthday-of-youngest-child"
S17 = "s17-until-25th-birthday-of-youngest-child"
EARLY = "early-help-6-years"
CONTACT = "contact-2-years"


def _entry(referral: str, at: str, cls: str | None, operation: str = "disclose") -> dict:
    return {"correlation_id": referral, "at": at, "retention_class": cls, "operation": operation}


def test_birthday_class_runs_to_the_youngest_childs_birthday() -> None:
    """Until the 25th birthday of the youngest child named (siblings count)."""
    dobs = [date(2010, 5, 1), date(2012, 8, 9)]
    assert class_ends(S47, date(2020, 1, 1), dobs) == date(2037, 8, 9)


def test_birthday_class_without_a_known_birth_date_runs_from_the_last_activity() -> None:
    """No date of birth known: 25 years from the last activity (never shorter)."""
    assert class_ends(S17, date(2020, 1, 1), []) == date(2045, 1, 1)


def test_birthday_class_never_ends_before_the_last_activity() -> None:
    """A referral about someone already past 25 is kept at least until its last activity."""
    assert class_ends(S17, date(2030, 3, 3), [date(1990, 1, 1)]) == date(2030, 3, 3)


def test_fixed_classes_run_from_the_last_activity() -> None:
    """Early help six years, a contact two years."""
    assert class_ends(EARLY, date(2020, 6, 30), []) == date(2026, 6, 30)
    assert class_ends(CONTACT, date(2020, 6, 30), [date(2019, 1, 1)]) == date(2022, 6, 30)


def test_leap_day_moves_to_the_28th() -> None:
    """29 February plus a year that has none is 28 February."""
    assert add_years(date(2020, 2, 29), 2) == date(2022, 2, 28)
    assert add_years(date(2020, 2, 29), 4) == date(2024, 2, 29)


def test_the_longest_class_wins_and_the_latest_activity_counts() -> None:
    """A referral stepped down from Level 2 keeps the s17 class; its last entry starts the
    clock."""
    entries = [
        _entry("r1", "2020-01-01T09:00:00+00:00", S17),
        _entry("r1", "2021-04-01T09:00:00+00:00", EARLY),
    ]
    [r] = retention_of(entries, {"r1": [date(2015, 2, 1)]})
    assert (r.classes, r.last_activity, r.ends) == (
        (EARLY, S17),
        date(2021, 4, 1),
        date(2040, 2, 1),
    )
    assert r.state == "held" and not r.due(date(2040, 1, 31)) and r.due(date(2040, 2, 1))


def test_an_unknown_class_is_kept_not_guessed() -> None:
    """A class this release cannot compute never becomes due."""
    [r] = retention_of([_entry("r1", "2001-01-01T00:00:00", "local-rule-x")], {})
    assert r.ends is None and r.state == "kept" and not r.due(date(2999, 1, 1))


def test_an_erased_referral_is_not_due_again_and_ig_entries_are_not_activity() -> None:
    """After its erasure a referral is reported erased; neither a later correction nor the
    erasure restarts its clock."""
    entries = [
        _entry("r1", "2000-01-01T00:00:00", CONTACT),
        _entry("r1", "2026-10-01T00:00:00", CONTACT, operation="correct"),
        _entry("r1", "2026-11-01T00:00:00", None, operation="erase"),
    ]
    [r] = retention_of(entries, {})
    assert r.erased and r.state == "erased" and r.last_activity == date(2000, 1, 1)
    assert not r.due(date(2026, 11, 2))
