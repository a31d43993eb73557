"""Agency sources: generated households are matched correctly; imports are validated;
a missing or locked database is a clear error and a failing readiness, not a crash."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters import profile
from hub.adapter import AdapterHandler, answer
from hub.adapter_state import AdapterState
from hub.sources import SourceUnavailable, SqliteSource
from hub.sources.generate import Population, referral_for_household
from hub.sources.importer import ImportInvalid, import_file


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated population."""
    folder = tmp_path_factory.mktemp("sources")
    Population(seed=4).write(folder, 1500)
    return folder


def test_generated_household_is_matched_with_bands(sources: Path) -> None:
    """Health confirms every member by NHS number; education finds the pupils probabilistically."""
    referral = referral_for_household(sources, "LEVEL_2", seed=7, known_to="education")
    request = {"request_id": "r", "referral_id": "x", "subjects": referral["subjects"]}
    health = SqliteSource(sources / "health.db")
    result = answer(profile("health"), health, request, datetime.now(UTC))
    assert {s["match"]["confidence"] for s in result["subjects"]} == {"CONFIRMED"}
    assert {s["match"]["method"] for s in result["subjects"]} == {"NHS_NUMBER"}
    education = SqliteSource(sources / "education.db")
    pupils = answer(profile("education"), education, request, datetime.now(UTC))
    bands = {s["match"]["confidence"] for s in pupils["subjects"]}
    assert bands <= {"PROBABLE", "POSSIBLE", "NO_MATCH"} and "PROBABLE" in bands


def test_same_population_for_the_same_seed(tmp_path: Path) -> None:
    """Generation is seedable: the same seed gives the same people."""
    a = Population(seed=11).write(tmp_path / "a", 200)
    b = Population(seed=11).write(tmp_path / "b", 200)
    assert a == b
    people_a = SqliteSource(tmp_path / "a" / "health.db").people()
    people_b = SqliteSource(tmp_path / "b" / "health.db").people()
    assert [p["family_name"] for p in people_a] == [p["family_name"] for p in people_b]


def test_import_validates_each_record(tmp_path: Path) -> None:
    """A record that does not fit its schema is refused, naming the person."""
    good = {
        "person_id": "p1",
        "given_names": "Ava",
        "family_name": "Smith",
        "date_of_birth": "2019-03-04",
        "address": {"lines": [], "town": "Grays", "postcode": "RM17 6AB"},
        "identifiers": {"pnc_id": None},
        "records": {
            "warning_markers": [
                {"record_id": "m1", "recorded_on": "2025-01-01", "marker": "violence"}
            ]
        },
    }
    file = tmp_path / "police.json"
    file.write_text(json.dumps({"people": [good]}))
    assert import_file("police", file, tmp_path / "police.db") == 1
    assert (
        SqliteSource(tmp_path / "police.db").records("p1")["warning_markers"][0]["marker"]
        == "violence"
    )
    bad = json.loads(json.dumps(good))
    bad["person_id"] = "p2"
    bad["records"]["warning_markers"][0]["colour"] = "red"
    file.write_text(json.dumps({"people": [good, bad]}))
    with pytest.raises(ImportInvalid, match=r"people\[1\] \(p2\)"):
        import_file("police", file, tmp_path / "police2.db")
    bad["records"] = {"horoscopes": []}
    file.write_text(json.dumps({"people": [bad]}))
    with pytest.raises(ImportInvalid, match="unknown categories"):
        import_file("police", file, tmp_path / "police3.db")


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    """The adapter cannot start without its records, and says why."""
    with pytest.raises(SourceUnavailable, match="does not exist"):
        SqliteSource(tmp_path / "nothing.db")


def test_locked_database_fails_readiness_not_the_process(sources: Path, tmp_path: Path) -> None:
    """A database locked by another process makes /readyz say so; nothing crashes."""
    path = tmp_path / "locked.db"
    path.write_bytes((sources / "police.db").read_bytes())
    handler = AdapterHandler(
        profile("police"), SqliteSource(path), AdapterState(tmp_path / "adapter.db")
    )
    assert handler.ready() == (True, "ok")
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("PRAGMA locking_mode=EXCLUSIVE")
    locker.execute("BEGIN EXCLUSIVE")
    try:
        ready, why = handler.ready()
        assert not ready and "locked" in why
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert handler.ready() == (True, "ok")
