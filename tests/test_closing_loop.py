"""Closing the loop without a broker: recipient rules, decision rules, feedback, triage of
agency concerns, the firewall's de-duplication and linking, the adapter's concern raising and
the collator's contacts and decisions."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters import profile
from hub.adapter import AdapterHandler
from hub.adapter_state import AdapterState
from hub.collator.handler import CollatorHandler
from hub.collator.state import CollatorState
from hub.concerns import referral_from_concern, referral_id_for
from hub.decisions import DecisionContext, DecisionInvalid, check, feedback, feedback_route
from hub.disclosure_log import DisclosureLog
from hub.envelope import Opener, Sealer
from hub.errors import MessageRejected
from hub.firewall.handler import FirewallHandler
from hub.firewall.state import FirewallState
from hub.policy.engine import ReferralContext, apply_policy
from hub.policy.model import load_policy
from hub.policy.recipients import UnknownRecipient, restrict
from hub.replay import MemorySeenMessages
from hub.samples import Samples
from hub.sources.concerns import household_with_child, raise_concern
from hub.sources.generate import Population
from hub.sources.sqlite import SqliteSource
from hub.transport.base import Consumed
from hub.triage import suggest
from tests.conftest import Where
from tests.keyring import TestKeys

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _police_disclosure(level: str = "LEVEL_3") -> Any:
    samples = Samples()
    referral = samples.referral(level)
    response = samples.agency_response("POLICE")
    response["referral_id"] = referral["referral_id"]
    for finding, subject in zip(response["subjects"], referral["subjects"], strict=False):
        finding["subject_id"] = subject["subject_id"]
        finding["match"]["confidence"] = "CONFIRMED"
    ctx = ReferralContext(
        referral["referral_id"],
        level,
        "NOT_SOUGHT",
        "WOULD_PREJUDICE_PROTECTION",
        {s["subject_id"]: s["role"] for s in referral["subjects"]},
    )
    return apply_policy(load_policy(), ctx, response, NOW)


def _items(disclosure: Any) -> list[dict[str, Any]]:
    return [i for s in disclosure.record["subjects"] for i in s["items"]]


def test_locality_team_never_gets_police_intelligence_or_narrative() -> None:
    """Items the locality may never have are withheld under recipient:<name>; no narrative."""
    full = _police_disclosure()
    assert any(
        i["category"] == "police.intelligence" and i["decision"] != "WITHHELD" for i in _items(full)
    ), "the sample must release intelligence to the MASH for this test to mean anything"
    narrowed = restrict(load_policy(), "locality-east", full)
    for item, decision in zip(_items(narrowed), narrowed.decisions, strict=True):
        assert item["category"] == decision.category
        assert "narrative" not in item["fields"]
        if item["category"] in ("police.intelligence", "police.crime_reports"):
            assert item["decision"] == decision.decision == "WITHHELD"
            assert item["rule_id"] == "recipient:locality-east"
            assert item["fields"] == {} and decision.fields_released == ()
    assert len(narrowed.decisions) == len(full.decisions), "every item stays accounted for"
    assert narrowed.record["disclosure_id"] != full.record["disclosure_id"]


def test_social_care_receives_what_the_mash_received() -> None:
    """A recipient without restrictions gets the policy's release unchanged."""
    full = _police_disclosure()
    narrowed = restrict(load_policy(), "social-care-assessment", full)
    assert _items(narrowed) == _items(full)


def test_unknown_recipient_is_a_typed_error() -> None:
    """Disseminating to a team the policy does not name fails clearly."""
    with pytest.raises(UnknownRecipient):
        restrict(load_policy(), "the-press", _police_disclosure())


def _decision(outcome: str, **extra: Any) -> dict[str, Any]:
    return {
        "decision_id": "d1",
        "referral_id": "r1",
        "outcome": outcome,
        "reason": "because",
        "team": None,
        "lead_professional": None,
        "decided_by": "dm",
        "decided_at": NOW,
        "before_package": False,
        "recipients": [],
        **extra,
    }


def _ctx(level: str = "LEVEL_2", complete: bool = True, prior: tuple[str, ...] = ()) -> Any:
    return DecisionContext(level, complete, "WEST", prior)


def test_decision_before_the_package_only_at_level_3() -> None:
    """Level 2 waits for its package; Level 3 may be decided early and is marked so."""
    with pytest.raises(DecisionInvalid, match="Level 3 only"):
        check(_decision("S17_ASSESSMENT"), _ctx("LEVEL_2", complete=False))
    early = check(_decision("S47_STRATEGY"), _ctx("LEVEL_3", complete=False))
    assert early["before_package"] is True
    assert early["recipients"] == ["social-care-assessment", "police-strategy"]
    assert check(_decision("S17_ASSESSMENT"), _ctx())["before_package"] is False


def test_early_help_goes_to_the_childs_locality_unless_named() -> None:
    """The team defaults to the child's locality; a named team wins."""
    assert check(_decision("LOCALITY_EARLY_HELP"), _ctx())["recipients"] == ["locality-west"]
    named = check(_decision("LOCALITY_EARLY_HELP", team="EAST"), _ctx())
    assert named["recipients"] == ["locality-east"] and named["team"] == "EAST"
    no_area = DecisionContext("LEVEL_1", True, None, ())
    with pytest.raises(DecisionInvalid, match="locality team"):
        check(_decision("LOCALITY_EARLY_HELP"), no_area)


def test_step_down_needs_social_care_first_and_a_lead_professional() -> None:
    """Only an s17/s47 case steps down, to a named team with a lead professional."""
    step = _decision("STEP_DOWN", team="EAST", lead_professional="A. Worker")
    with pytest.raises(DecisionInvalid, match="s17 or s47"):
        check(step, _ctx(prior=("LOCALITY_EARLY_HELP",)))
    with pytest.raises(DecisionInvalid, match="lead professional"):
        check({**step, "lead_professional": None}, _ctx(prior=("S17_ASSESSMENT",)))
    done = check(step, _ctx(prior=("S17_ASSESSMENT",)))
    assert done["recipients"] == ["locality-east"]
    with pytest.raises(DecisionInvalid, match="step-down only"):
        check(_decision("S17_ASSESSMENT", lead_professional="X"), _ctx())


def test_nfa_disseminates_nothing_and_advises_the_referrer() -> None:
    """No further action: no product; the referrer gets threshold and early-help advice."""
    record = check(_decision("NFA_ADVICE", reason="below threshold: family named Smith"), _ctx())
    assert record["recipients"] == []
    contact = {"contact_id": "c1", "source_reference": "PPN-1", "channel": "police"}
    note = feedback(record, contact, NOW)
    assert "Locality Team" in note["advice"] and "999" in note["advice"]
    assert "Smith" not in repr(note), "the decision's reason never reaches the referrer"
    assert feedback_route(contact) == ("mash.feedback.police", "police")
    assert feedback_route({**contact, "channel": "intake"}) == ("mash.feedback.intake", "intake")


def test_domestic_abuse_is_a_level_2_indicator_not_level_3_abuse() -> None:
    """A phrase inside a longer matching phrase does not count on its own."""
    assert suggest(["domestic abuse"])["suggested_level"] == "LEVEL_2"
    assert suggest(["sexual abuse"])["suggested_level"] == "LEVEL_3"
    assert suggest(["physical abuse"])["suggested_level"] == "LEVEL_3"


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pop")
    Population(seed=9).write(folder, 400)
    return folder


def _firewall(tmp_path: Path, keys: TestKeys, clock: Any = lambda: NOW) -> FirewallHandler:
    return FirewallHandler(
        policy=load_policy(),
        state=FirewallState(tmp_path / "fw.db"),
        log_store=DisclosureLog(tmp_path / "log.db"),
        ring=keys.ring("firewall"),
        pseudonym_key=b"k",
        clock=clock,
    )


def _send(
    keys: TestKeys, handler: Any, sender: str, schema: str, record: dict[str, Any], topic: str
) -> list[Any]:
    recipient = handler.principal
    data, _ = Sealer(keys.ring(sender)).seal(
        topic=topic, schema_name=schema, record=record, recipients=[recipient], correlation_id="c"
    )
    opened = Opener(keys.ring(recipient), MemorySeenMessages()).open(
        data, topic=topic, remember=False
    )
    return list(asyncio.run(handler.handle(opened, Consumed(topic, 0, 0, None, data))))


def _concern(population: Path, agency: str, ref: str, seed: int, **kw: Any) -> dict[str, Any]:
    """A concern raised on the tests' clock (NOW, unless ``now`` is given), as a referral."""
    kw.setdefault("now", NOW)  # never the real time: the firewall under test runs on NOW
    household = household_with_child(population, ("education",), seed=seed)
    return referral_from_concern(
        agency, raise_concern(population, agency, household, reference=ref, **kw)
    )


def test_agency_may_raise_only_as_itself_on_its_own_topic(
    tmp_path: Path, keys: TestKeys, population: Path
) -> None:
    """A concern on another agency's topic, or claiming another source, is refused."""
    fw = _firewall(tmp_path, keys)
    referral = _concern(population, "police", "PPN-A1", 1)
    with pytest.raises(MessageRejected, match="own topic"):
        _send(keys, fw, "health", "mash.Referral", referral, "mash.concerns.police")
    with pytest.raises(MessageRejected, match="as itself"):
        _send(keys, fw, "health", "mash.Referral", referral, "mash.concerns.health")
    with pytest.raises(MessageRejected, match=r"mash\.referrals only"):
        _send(keys, fw, "intake", "mash.Referral", referral, "mash.concerns.police")


def test_same_incident_twice_is_one_referral(
    tmp_path: Path, keys: TestKeys, population: Path
) -> None:
    """A second message with the same source reference produces nothing and logs nothing."""
    fw = _firewall(tmp_path, keys)
    referral = _concern(population, "police", "PPN-A2", 2)
    first = _send(keys, fw, "police", "mash.Referral", referral, "mash.concerns.police")
    assert {o.topic for o in first} >= {"mash.requests.health", "mash.disclosures"}
    size = fw.log.size()
    assert _send(keys, fw, "police", "mash.Referral", referral, "mash.concerns.police") == []
    assert fw.log.size() == size


def test_concerns_about_one_child_link_and_escalate(
    tmp_path: Path, keys: TestKeys, population: Path
) -> None:
    """A health visitor's concern joins the school's referral; a later police concern at a
    higher level escalates it (new requests, re-plan) rather than waiting."""
    fw = _firewall(tmp_path, keys)
    school = _concern(population, "education", "SC-1", 4)
    _send(keys, fw, "education", "mash.Referral", school, "mash.concerns.education")
    health = _concern(population, "health", "HV-1", 4)
    linked = _send(keys, fw, "health", "mash.Referral", health, "mash.concerns.health")
    assert [o.schema_name for o in linked] == ["mash.CaseOpened"]
    assert len(linked[0].record["contacts"]) == 2
    assert fw.state.referral(health["referral_id"]) is None
    police = _concern(population, "police", "PPN-A3", 4, indicators=("sexual abuse",))
    escalated = _send(keys, fw, "police", "mash.Referral", police, "mash.concerns.police")
    assert "mash.notifications" in {o.topic for o in escalated}
    _, state = fw.state.referral(school["referral_id"])  # type: ignore[misc]
    assert state["level"] == "LEVEL_3" and len(state["contacts"]) == 3
    operations = [e.body["operation"] for e in fw.log.entries()]
    assert operations.count("link") == 2 and "re-rate" in operations


def test_no_link_outside_the_window_or_to_a_decided_referral(
    tmp_path: Path, keys: TestKeys, population: Path
) -> None:
    """Four days later, or once the duty manager has decided, a concern opens a new referral."""
    now = [NOW]
    fw = _firewall(tmp_path, keys, clock=lambda: now[0])
    school = _concern(population, "education", "SC-2", 6, now=now[0])
    _send(keys, fw, "education", "mash.Referral", school, "mash.concerns.education")
    now[0] = NOW + timedelta(days=4)
    late = _concern(population, "health", "HV-2", 6, now=now[0])
    _send(keys, fw, "health", "mash.Referral", late, "mash.concerns.health")
    assert fw.state.referral(late["referral_id"]) is not None
    now[0] = NOW + timedelta(days=10)  # its package is due: the duty manager may decide
    decision = _decision("NFA_ADVICE", referral_id=late["referral_id"], decision_id="d-2")
    out = _send(keys, fw, "dutymanager", "mash.CaseDecision", decision, "mash.decisions")
    assert [o.topic for o in out] == ["mash.feedback.health", "mash.disclosures"]
    again = _concern(population, "housing", "HO-2", 6, now=now[0])
    _send(keys, fw, "housing", "mash.Referral", again, "mash.concerns.housing")
    assert fw.state.referral(again["referral_id"]) is not None


def test_two_instances_with_concerns_about_one_child_at_once_open_one_referral(
    tmp_path: Path, keys: TestKeys, population: Path, where: Where
) -> None:
    """Two firewall instances sharing their state, each handling a concern about the same child
    in a batch not yet committed: the second waits for the first's commit and links to its
    referral, so the child has one referral, not two."""
    import threading
    import time

    def instance(name: str) -> FirewallHandler:
        handler = FirewallHandler(
            policy=load_policy(),
            state=FirewallState(where("fw.db")),
            log_store=DisclosureLog(tmp_path / f"{name}-log.db"),
            ring=keys.ring("firewall"),
            pseudonym_key=b"k",
            clock=lambda: NOW,
        )
        handler.group_commit = True  # as the runner does: one commit for a sent batch
        return handler

    first, second = instance("first"), instance("second")
    run = uuid.uuid4().hex[:6]  # the population is the module's: references unique per run
    school = _concern(population, "education", f"SC-{run}", 11)
    health = _concern(population, "health", f"HV-{run}", 11)
    _send(keys, first, "education", "mash.Referral", school, "mash.concerns.education")
    linked: list[Any] = []
    thread = threading.Thread(
        target=lambda: linked.extend(
            _send(keys, second, "health", "mash.Referral", health, "mash.concerns.health")
        )
    )
    thread.start()
    time.sleep(0.5)  # the second instance is looking the child up meanwhile
    first.flush()
    thread.join(10)
    second.flush()
    assert [o.schema_name for o in linked] == ["mash.CaseOpened"]
    assert second.state.referral(health["referral_id"]) is None
    _, state = second.state.referral(school["referral_id"])  # type: ignore[misc]
    assert len(state["contacts"]) == 2
    first.close()
    second.close()


def test_adapter_raises_each_concern_once(tmp_path: Path) -> None:
    """New concerns become referrals to the firewall; acknowledged ones are not raised again;
    one that cannot make a referral is recorded with its reason."""
    folder = tmp_path / "src"
    Population(seed=9).write(folder, 200)
    household = household_with_child(folder, ("education",), seed=8)
    raise_concern(folder, "education", household, reference="SC-9")
    handler = AdapterHandler(
        profile("education"),
        SqliteSource(folder / "education.db"),
        AdapterState(tmp_path / "a.db"),
        concern_poll_s=0,
    )
    out = asyncio.run(handler.tick(NOW))
    assert [(o.topic, o.record["referral_id"]) for o in out] == [
        ("mash.concerns.education", referral_id_for("EDUCATION", "SC-9"))
    ]
    assert asyncio.run(handler.tick(NOW)) == out, "not acknowledged yet: raised again"
    handler.published(out)
    assert asyncio.run(handler.tick(NOW)) == []
    source = SqliteSource(folder / "education.db", create=True)
    bad = source.concerns()[0] | {"source_reference": "SC-10"}
    bad["subjects"] = [s for s in bad["subjects"] if s["role"] != "CHILD"]
    source.add_concern(bad)
    source.close()
    assert asyncio.run(handler.tick(NOW)) == []
    refused = [r for r in handler.state.raised() if r["status"] == "invalid"]
    assert refused[0]["source_reference"] == "SC-10" and "CHILD" in refused[0]["detail"]


def test_collator_sends_an_addendum_for_a_late_contact_and_confirms_decisions(
    tmp_path: Path,
) -> None:
    """A contact linked after the package brings an addendum; a decision is confirmed."""
    collator = CollatorHandler(CollatorState(tmp_path / "c.db"), clock=lambda: NOW)
    opened = Samples().case_opened()
    opened["referral"]["level"] = "NFA"
    opened["requests"] = []
    first = collator.on_case(opened)
    assert first[0].record["contacts"] == opened["contacts"]
    contact = {**opened["contacts"][0], "contact_id": str(uuid.uuid4()), "source": "HEALTH"}
    again = collator.on_case({**opened, "contacts": [*opened["contacts"], contact]})
    assert [o.record["addendum"] for o in again] == [1]
    assert len(again[0].record["contacts"]) == 2
    decision = _decision("NFA_ADVICE", referral_id=opened["referral"]["referral_id"])
    confirmed = collator.on_decision(decision)
    assert [(o.topic, o.schema_name) for o in confirmed] == [("mash.packages", "mash.CaseDecision")]
