"""The disclosure policy: validation of policy files and the default policy's decisions for
every level and agency (table-driven)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from hub.policy.engine import ReferralContext, apply_policy
from hub.policy.model import PolicyError, load_policy
from hub.samples import Samples

POLICY = load_policy()
NOW = datetime(2026, 11, 21, tzinfo=UTC)
AGENCIES = ("POLICE", "HEALTH", "EDUCATION", "HOUSING")


def _decide(
    level: str,
    agency: str,
    role: str = "PARENT_CARER",
    consent: str = "GIVEN",
    confidence: str | None = None,
) -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    response = Samples().agency_response(agency)
    first = response["subjects"][0]
    response["subjects"] = [first]
    if confidence:
        first["match"]["confidence"] = confidence
    ctx = ReferralContext("r", level, consent, None, {first["subject_id"]: role})
    out: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
    for d in apply_policy(POLICY, ctx, response, NOW).decisions:
        out.setdefault(d.category, []).append((d.decision, d.rule_id, d.fields_released))
    return out


def _write(tmp_path: Path, mutate: object) -> Path:
    raw = yaml.safe_load(Path("hub/policies/disclosure.yaml").read_text())
    mutate(raw)  # type: ignore[operator]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


# ---- the default policy, table-driven -------------------------------------------------------
EXPECTED = {
    ("LEVEL_1", "POLICE"): {
        "police.intelligence": "WITHHELD",
        "police.crime_reports": "WITHHELD",
        "police.domestic_abuse_incidents": "SUMMARISED",
        "police.warning_markers": "WITHHELD",
    },
    ("LEVEL_2", "POLICE"): {
        "police.intelligence": "SUMMARISED",
        "police.crime_reports": "SUMMARISED",
        "police.domestic_abuse_incidents": "RELEASED",
        "police.warning_markers": "RELEASED",
    },
    ("LEVEL_3", "POLICE"): {
        "police.intelligence": "EXISTENCE_ONLY",  # handling code C
        "police.crime_reports": "RELEASED",
        "police.domestic_abuse_incidents": "RELEASED",
    },
    ("LEVEL_1", "HEALTH"): {
        "health.mental_health": "WITHHELD",
        "health.gp_registrations": "RELEASED",
        "health.child_protection_flags": "EXISTENCE_ONLY",
    },
    ("LEVEL_2", "HEALTH"): {
        "health.mental_health": "EXISTENCE_ONLY",
        "health.emergency_attendances": "RELEASED",
    },
    ("LEVEL_3", "HEALTH"): {"health.mental_health": "RELEASED"},
    ("LEVEL_1", "EDUCATION"): {
        "education.attendance": "RELEASED",
        "education.safeguarding_concerns": "SUMMARISED",
    },
    ("LEVEL_2", "EDUCATION"): {"education.safeguarding_concerns": "RELEASED"},
    ("LEVEL_3", "EDUCATION"): {"education.exclusions": "RELEASED"},
    ("LEVEL_1", "HOUSING"): {
        "housing.confidential_addresses": "WITHHELD",
        "housing.arrears": "SUMMARISED",
    },
    ("LEVEL_2", "HOUSING"): {
        "housing.confidential_addresses": "EXISTENCE_ONLY",
        "housing.antisocial_behaviour": "SUMMARISED",
    },
    ("LEVEL_3", "HOUSING"): {"housing.confidential_addresses": "RELEASED"},
}


@pytest.mark.parametrize(("level", "agency"), sorted(EXPECTED))
def test_default_policy_decisions(level: str, agency: str) -> None:
    """Each level x agency gets the decisions the policy document promises."""
    got = _decide(level, agency)
    for category, decision in EXPECTED[(level, agency)].items():
        assert {d for d, _, _ in got[category]} == {decision}, category


@pytest.mark.parametrize("agency", AGENCIES)
def test_level1_never_carries_narrative_or_diagnoses(agency: str) -> None:
    """A Level 1 package never carries police narrative or health diagnoses."""
    for category, decisions in _decide("LEVEL_1", agency).items():
        for _, _, fields in decisions:
            assert "diagnosis" not in fields, category
            if agency == "POLICE":
                assert "narrative" not in fields, category


def test_third_party_protection_always_withholds_and_logs() -> None:
    """A victim's new address, informant details, refuge addresses: withheld even at Level 3."""
    response = Samples().agency_response("POLICE")
    first = response["subjects"][0]
    first["records"]["intelligence"][0]["handling_code"] = "P"
    ctx = ReferralContext(
        "r",
        "LEVEL_3",
        "GIVEN",
        None,
        {first["subject_id"]: "PARENT_CARER", response["subjects"][1]["subject_id"]: "CHILD"},
    )
    decisions = apply_policy(POLICY, ctx, response, NOW).decisions
    da = next(d for d in decisions if d.category == "police.domestic_abuse_incidents")
    intel = next(d for d in decisions if d.category == "police.intelligence")
    assert da.fields_withheld == {"victim_new_address": "third-party-protection"}
    assert intel.decision == "RELEASED"
    assert intel.fields_withheld == {"informant_details": "third-party-protection"}
    housing = Samples().agency_response("HOUSING")
    h = housing["subjects"][0]
    ctx = ReferralContext(
        "r",
        "LEVEL_3",
        "GIVEN",
        None,
        {h["subject_id"]: "PARENT_CARER", housing["subjects"][1]["subject_id"]: "CHILD"},
    )
    refuge = next(
        d
        for d in apply_policy(POLICY, ctx, housing, NOW).decisions
        if d.category == "housing.confidential_addresses"
    )
    assert set(refuge.fields_withheld) == {"address", "narrative"}


def test_possible_match_is_only_verify_marker() -> None:
    """A POSSIBLE match is shown as existence only, whatever the level."""
    for category, decisions in _decide("LEVEL_3", "HEALTH", confidence="POSSIBLE").items():
        assert decisions == [("EXISTENCE_ONLY", "match-confidence", ())], category


def test_consent_gates_level1() -> None:
    """Level 1 without consent withholds everything, each with the consent rule."""
    for decisions in _decide("LEVEL_1", "EDUCATION", consent="REFUSED").values():
        assert {(d, r) for d, r, _ in decisions} == {("WITHHELD", "consent")}


def test_third_parties_at_level1_are_withheld() -> None:
    """Nothing about third parties is shared for early help."""
    for decisions in _decide("LEVEL_1", "HEALTH", role="THIRD_PARTY").values():
        assert {d for d, _, _ in decisions} == {"WITHHELD"}


def test_version_is_the_hash_of_the_canonical_form(tmp_path: Path) -> None:
    """A change to any rule changes the version every decision carries."""
    changed = load_policy(_write(tmp_path, lambda p: p["rules"][0].update(reason="changed")))
    assert POLICY.digest.startswith("sha256:") and changed.digest != POLICY.digest
    assert load_policy(_write(tmp_path, lambda p: None)).digest == POLICY.digest


# ---- broken policy files stop the service -------------------------------------------------
def _bad(tmp_path: Path, mutate: object, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        load_policy(_write(tmp_path, mutate))
    assert "policy.yaml" in str(caught.value)


def test_overlapping_rules_are_refused(tmp_path: Path) -> None:
    """Two rules for one cell: the error names both rules and the cell."""

    def dup(p: dict) -> None:
        p["rules"].append(
            {
                "id": "extra",
                "levels": ["LEVEL_1"],
                "agencies": ["POLICE"],
                "categories": ["police.intelligence"],
                "roles": ["CHILD"],
                "action": "release",
            }
        )

    _bad(
        tmp_path,
        dup,
        r"rule extra: cell LEVEL_1/POLICE/police.intelligence/CHILD is "
        r"already decided by rule L1-police-withhold",
    )


def test_unknown_category_is_refused(tmp_path: Path) -> None:
    """A category the schemas do not know is an error, naming the rule."""
    _bad(
        tmp_path,
        lambda p: p["rules"][2].update(categories=["police.horoscopes"]),
        "rule L2-police-facts: unknown category 'police.horoscopes'",
    )


def test_level_without_lawful_basis_is_refused(tmp_path: Path) -> None:
    """A level that asks agencies must name its lawful basis."""
    _bad(
        tmp_path,
        lambda p: p["levels"]["LEVEL_2"].pop("lawful_basis"),
        "level LEVEL_2 asks agencies for information but has no lawful_basis",
    )


def test_malformed_yaml_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    """Typos are errors, not silently ignored settings."""
    _bad(tmp_path, lambda p: p.update(detail_requires="MAYBE"), "unknown confidence")
    _bad(tmp_path, lambda p: p["rules"][0].update(acton="release"), "acton")
    path = tmp_path / "broken.yaml"
    path.write_text("rules: [\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(path)


def test_dissemination_recipients_are_defined_and_checked(tmp_path: Path) -> None:
    """Locality teams may never receive police intelligence or narrative; typos are refused."""
    for team in ("locality-east", "locality-central", "locality-west"):
        recipient = POLICY.recipients[team]
        assert "police.intelligence" in recipient.never_categories
        assert {"narrative", "diagnosis"} <= set(recipient.never_fields)
    _bad(
        tmp_path,
        lambda p: p["recipients"]["locality-west"].update(never_categories=["police.intel"]),
        "recipient locality-west: unknown category",
    )
