"""The collator's rules with a controllable clock: chasers, partial packages at the deadline,
addenda for late responses, state that survives a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from hub.collator.handler import CollatorHandler
from hub.collator.state import CollatorState
from hub.samples import Samples
from tests.conftest import Where

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _case(agencies: tuple[str, ...] = ("POLICE", "HOUSING")) -> dict:
    opened = Samples().case_opened()
    opened["referral"]["level"] = "LEVEL_2"
    opened["deadline"] = T0 + timedelta(hours=24)
    opened["requests"] = [
        {
            "request_id": f"req-{a}",
            "agency": a,
            "issued_at": T0,
            "deadline": T0 + timedelta(hours=24),
        }
        for a in agencies
    ]
    return opened


def _finding(referral_id: str, agency: str) -> dict:
    finding = Samples().disclosed_information()
    finding.update(referral_id=referral_id, agency=agency, disclosure_id=f"d-{agency}")
    return finding


_made: list[CollatorHandler] = []


@pytest.fixture(autouse=True)
def _close_handlers() -> Iterator[None]:
    """Close every handler a test made (a PostgreSQL connection is not left to the GC)."""
    yield
    while _made:
        _made.pop().close()


def _handler(where: Where, clock: Clock) -> CollatorHandler:
    _made.append(CollatorHandler(CollatorState(where("cases.db")), clock=clock))
    return _made[-1]


def test_package_as_soon_as_every_agency_answered(where: Where) -> None:
    """All answered before the deadline: one package, deadline met."""
    clock = Clock()
    handler = _handler(where, clock)
    case = _case()
    rid = case["referral"]["referral_id"]
    assert handler.on_case(case) == []
    clock.now = T0 + timedelta(hours=1)
    assert handler.on_finding(_finding(rid, "POLICE")) == []
    out = handler.on_finding(_finding(rid, "HOUSING"))
    package = out[0].record
    assert out[0].topic == "mash.packages" and package["deadline_met"] is True
    assert {a["answer"] for a in package["agencies"]} == {"ANSWERED"}


def test_chasers_then_partial_package_at_deadline(where: Where) -> None:
    """An agency that never answers is chased twice, then marked NO_RESPONSE at the deadline."""
    clock = Clock()
    handler = _handler(where, clock)
    case = _case()
    rid = case["referral"]["referral_id"]
    handler.on_case(case)
    handler.on_finding(_finding(rid, "POLICE"))
    clock.now = T0 + timedelta(hours=12, minutes=1)
    first = asyncio.run(handler.tick(clock.now))
    assert [(o.topic, o.record["agency"], o.record["chaser"]) for o in first] == [
        ("mash.chasers", "HOUSING", 1)
    ]
    assert asyncio.run(handler.tick(clock.now)) == []  # not chased twice for one point
    clock.now = T0 + timedelta(hours=19, minutes=30)
    assert [o.record["chaser"] for o in asyncio.run(handler.tick(clock.now))] == [2]
    clock.now = T0 + timedelta(hours=24)
    out = asyncio.run(handler.tick(clock.now))
    package = out[0].record
    statuses = {a["agency"]: (a["answer"], a["chasers"]) for a in package["agencies"]}
    assert statuses == {"POLICE": ("ANSWERED", 0), "HOUSING": ("NO_RESPONSE", 2)}
    assert package["deadline_met"] is True


def test_late_response_becomes_an_addendum(where: Where) -> None:
    """After the package went out, a late answer is sent as addendum 1 with only itself."""
    clock = Clock()
    handler = _handler(where, clock)
    case = _case()
    rid = case["referral"]["referral_id"]
    handler.on_case(case)
    clock.now = T0 + timedelta(hours=25)
    asyncio.run(handler.tick(clock.now))
    out = handler.on_finding(_finding(rid, "HOUSING"))
    addendum = out[0].record
    assert addendum["addendum"] == 1 and [f["agency"] for f in addendum["findings"]] == ["HOUSING"]
    assert {a["agency"]: a["answer"] for a in addendum["agencies"]}["HOUSING"] == "ANSWERED_LATE"


def test_state_survives_restart_and_timers_rearm(where: Where) -> None:
    """A new collator over the same database packages at the deadline, exactly once."""
    clock = Clock()
    first = _handler(where, clock)
    case = _case()
    first.on_case(case)
    first.close()
    second = _handler(where, clock)
    clock.now = T0 + timedelta(hours=24, seconds=1)
    out = [o for o in asyncio.run(second.tick(clock.now)) if o.topic == "mash.packages"]
    assert len(out) == 1 and out[0].record["deadline_met"] is False
    assert [o for o in asyncio.run(second.tick(clock.now)) if o.topic == "mash.packages"] == []


def test_redelivered_finding_changes_nothing(where: Where) -> None:
    """The same disclosure twice is counted once."""
    clock = Clock()
    handler = _handler(where, clock)
    case = _case(("POLICE", "HOUSING"))
    rid = case["referral"]["referral_id"]
    handler.on_case(case)
    handler.on_finding(_finding(rid, "POLICE"))
    assert handler.on_finding(_finding(rid, "POLICE")) == []


def test_no_further_action_gets_advice_package_at_once(where: Where) -> None:
    """NFA: no agency research; the advice package is produced immediately."""
    clock = Clock()
    handler = _handler(where, clock)
    case = _case(())
    case["referral"]["level"] = "NFA"
    out = handler.on_case(case)
    assert out[0].record["level"] == "NFA" and out[0].record["findings"] == []


def test_state_rewrites_the_referral_only_when_it_changes(where: Where) -> None:
    """A finding updates the case without re-encoding its referral; a re-planned referral
    (a new record) is stored, and another reader of the database sees each change."""

    referral = Samples().referral("LEVEL_2")
    state = CollatorState(where("c.db"))
    state.save({"packages": 0, "level": "LEVEL_2"}, referral)
    case, stored = state.case(referral["referral_id"]) or ({}, {})
    assert stored == referral
    case["packages"] = 1
    state.save(case, stored)  # the same referral: only the case changes
    other = CollatorState(where("c.db"))
    assert (other.case(referral["referral_id"]) or ({}, {}))[0]["packages"] == 1
    other.save(case, {**stored, "level": "LEVEL_3"})  # re-planned by another instance
    again = state.case(referral["referral_id"])
    assert again is not None and again[1]["level"] == "LEVEL_3"
    state.close()
    other.close()


def test_open_referrals_gauge_is_counted_when_scraped(where: Where) -> None:
    """mash_referrals_open reflects the state at scrape time: one open, then none once the
    package has gone."""
    from prometheus_client import CollectorRegistry, generate_latest

    clock = Clock()
    handler = _handler(where, clock)
    registry = CollectorRegistry()
    handler.bind_metrics(registry)
    case = _case()
    rid = case["referral"]["referral_id"]
    handler.on_case(case)
    text = generate_latest(registry).decode()
    assert 'mash_referrals_open{level="LEVEL_2"} 1.0' in text
    assert 'mash_referrals_open{level="LEVEL_3"} 0.0' in text
    handler.on_finding(_finding(rid, "POLICE"))
    handler.on_finding(_finding(rid, "HOUSING"))
    assert 'mash_referrals_open{level="LEVEL_2"} 0.0' in generate_latest(registry).decode()


def test_finding_is_kept_as_received(where: Where) -> None:
    """A finding that arrives with its frame is stored as those bytes (no re-encoding) and
    read back as the same record."""
    from hub.codec import Codec

    clock = Clock()
    handler = _handler(where, clock)
    case = _case(("POLICE", "HOUSING"))
    rid = case["referral"]["referral_id"]
    handler.on_case(case)
    finding = _finding(rid, "POLICE")
    frame, sha = Codec().encode("mash.DisclosedInformation", finding)
    handler.on_finding(finding, (frame, sha))
    kept = handler.state._db.execute("SELECT record FROM findings").fetchone()[0]
    assert bytes(kept) == frame
    assert handler.state.findings(rid) == [Codec().decode("mash.DisclosedInformation", frame, sha)]


def test_only_the_instance_holding_a_referral_chases_and_packages_it(where: Where) -> None:
    """Two instances share the state: the one without the referral's partition sends no
    chaser and no package; the one with it sends each once."""
    clock = Clock()
    holder, other = _handler(where, clock), _handler(where, clock)
    case = _case()
    rid = case["referral"]["referral_id"]
    holder.owns = lambda referral_id: referral_id == rid
    other.owns = lambda referral_id: referral_id != rid
    holder.on_case(case)
    clock.now = T0 + timedelta(hours=12, minutes=1)
    assert asyncio.run(other.tick(clock.now)) == []
    assert [o.topic for o in asyncio.run(holder.tick(clock.now))] == ["mash.chasers"] * 2
    clock.now = T0 + timedelta(hours=24)
    assert [o for o in asyncio.run(other.tick(clock.now)) if o.topic == "mash.packages"] == []
    out = [o for o in asyncio.run(holder.tick(clock.now)) if o.topic == "mash.packages"]
    assert len(out) == 1


def test_the_package_shows_earlier_referrals_about_the_children(where: Where) -> None:
    """The earlier referrals the firewall found are carried into the package, and the duty
    manager's text lists each with its date, level, decision and contacts."""
    from hub.codec import Codec
    from hub.render import package_text

    clock = Clock()
    handler = _handler(where, clock)
    case = _case(("POLICE",))
    earlier = {
        "referral_id": "0a1b2c3d-0000-4000-8000-000000000001",
        "opened_at": T0 - timedelta(days=60),
        "level": "LEVEL_1",
        "outcome": "LOCALITY_EARLY_HELP",
        "contacts": 2,
    }
    case["history"] = [earlier]
    rid = case["referral"]["referral_id"]
    handler.on_case(case)
    [out] = handler.on_finding(_finding(rid, "POLICE"))
    package = out.record
    assert package["history"] == [earlier]
    frame, sha = Codec().encode("mash.InformationPackage", package)
    assert Codec().decode("mash.InformationPackage", frame, sha)["history"] == [earlier]
    text = package_text(package)
    assert "Earlier MASH referrals about these children in the last 12 months (1):" in text
    assert "2026-09-21 Level 1  locality-early-help    2 contact(s)  referral 0a1b2c3d" in text
    assert "Earlier MASH referrals" not in package_text({**package, "history": []})
