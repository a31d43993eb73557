"""IG's correction and erasure entries: what they record, and what they refuse to record."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.disclosure_log.governance import GovernanceRefused, correction_entry, erasure_entry

AT = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
RELEASED = {
    "entry_id": "e1",
    "correlation_id": "ref-1",
    "operation": "disclose",
    "decision": "RELEASED",
    "agency": "POLICE",
    "data_category": "police.intelligence",
    "level": "LEVEL_2",
    "recipients": ["collator", "dutymanager"],
    "subject_pseudonyms": ["ps:a"],
    "retention_class": "s17-until-25th-birthday-of-youngest-child",
}


def _correct(original: dict, **overrides: str) -> dict:
    args = {"kind": "wrong-person", "reason": "DOB differs", "by": "J. Patel (IG)"} | overrides
    return correction_entry(original, principal="auditor", key_id="k1", at=AT, **args)


def test_a_correction_names_the_original_the_person_and_who_to_tell() -> None:
    """The entry links the disclosure, keeps its recipients and subjects, names the decider."""
    entry = _correct(RELEASED)
    assert entry["operation"] == "correct" and entry["corrects"] == "e1"
    assert entry["recipients"] == ["collator", "dutymanager"]
    assert entry["subject_pseudonyms"] == ["ps:a"] and entry["correlation_id"] == "ref-1"
    assert entry["actor"] == {"principal": "auditor", "key_id": "k1", "decided_by": "J. Patel (IG)"}
    assert entry["personal_data_breach"] is True
    assert _correct(RELEASED, kind="out-of-date")["personal_data_breach"] is False


def test_the_same_correction_twice_has_one_id() -> None:
    """Recording the same correction again is idempotent; a different reason is another one."""
    assert _correct(RELEASED)["entry_id"] == _correct(RELEASED)["entry_id"]
    assert _correct(RELEASED)["entry_id"] != _correct(RELEASED, reason="other")["entry_id"]


@pytest.mark.parametrize(
    ("original", "overrides", "message"),
    [
        ({**RELEASED, "decision": "WITHHELD"}, {}, r"disclosed nothing \(WITHHELD\)"),
        ({**RELEASED, "operation": "correct", "decision": None}, {}, "itself an IG correct"),
        (RELEASED, {"kind": "typo"}, "kind must be one of"),
        (RELEASED, {"reason": "  "}, "give the reason"),
        (RELEASED, {"by": ""}, "name the person"),
    ],
)
def test_a_meaningless_correction_is_refused(original: dict, overrides: dict, message: str) -> None:
    """Nothing disclosed, a correction of a correction, no kind, reason or decider: refused."""
    with pytest.raises(GovernanceRefused, match=message):
        _correct(original, **overrides)


def test_an_erasure_records_the_stores_and_every_subject() -> None:
    """The erase entry lists rows removed per store and all the referral's pseudonyms."""
    entries = [RELEASED, {**RELEASED, "entry_id": "e2", "subject_pseudonyms": ["ps:b"]}]
    entry = erasure_entry(
        entries,
        ground="retention-ended",
        reason="ended",
        by="J. Patel",
        principal="auditor",
        key_id=None,
        at=AT,
        erased={"collator.cases": 1, "firewall.referrals": 1},
        retention_ends="2026-01-01",
    )
    assert entry["operation"] == "erase" and entry["correlation_id"] == "ref-1"
    assert entry["subject_pseudonyms"] == ["ps:a", "ps:b"]
    assert entry["erased"] == {"collator.cases": 1, "firewall.referrals": 1}
    assert entry["retention_class"] == RELEASED["retention_class"]


@pytest.mark.parametrize(
    ("entries", "ground", "reason", "message"),
    [
        ([RELEASED], "tidy-up", "x", "ground must be one of"),
        ([], "court-order", "x", "no entries"),
        ([RELEASED], "court-order", "", "give the reason"),
    ],
)
def test_an_erasure_without_ground_entries_or_reason_is_refused(
    entries: list, ground: str, reason: str, message: str
) -> None:
    """An unknown ground, a referral the log never saw, or no reason: refused."""
    with pytest.raises(GovernanceRefused, match=message):
        erasure_entry(
            entries,
            ground=ground,
            reason=reason,
            by="J. Patel",
            principal="auditor",
            key_id=None,
            at=AT,
            erased={},
            retention_ends=None,
        )
