"""Match one referral subject against an agency's candidate records: a method and a confidence
band (CONFIRMED, PROBABLE, POSSIBLE, NO_MATCH) per subject. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hub.matching.identifiers import (
    nhs_number_valid,
    normalise_nhs,
    normalise_pnc,
    pnc_id_valid,
    upn_valid,
)
from hub.matching.names import family_similarity, given_similarity

_VALIDATORS = {"nhs_number": nhs_number_valid, "upn": upn_valid, "pnc_id": pnc_id_valid}
_NORMALISE = {
    "nhs_number": normalise_nhs,
    "upn": lambda v: v.strip().upper(),
    "pnc_id": normalise_pnc,
}
_METHOD = {"nhs_number": "NHS_NUMBER", "upn": "UPN", "pnc_id": "PNC_ID"}
_LABEL = {"nhs_number": "NHS number", "upn": "UPN", "pnc_id": "PNC id"}


@dataclass(frozen=True)
class Candidate:
    """A person in an agency's records."""

    person_id: str
    given_names: str
    family_name: str
    date_of_birth: date | None
    postcode: str = ""
    other_names: tuple[str, ...] = ()
    identifiers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchResult:
    """The outcome for one subject (``person_id`` None when there is no match)."""

    person_id: str | None
    method: str
    confidence: str
    score: float
    identifier_types: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """As a mash.MatchResult."""
        return {
            "method": self.method,
            "confidence": self.confidence,
            "score": round(self.score, 3),
            "identifier_types": list(self.identifier_types),
            "notes": list(self.notes),
        }


NO_MATCH = MatchResult(None, "NONE", "NO_MATCH", 0.0, ())


def dob_similarity(a: date | None, b: date | None) -> float:
    """1 equal; 0.8 day/month swapped; 0.5 one part off by a typo; 0 otherwise or unknown."""
    if a is None or b is None:
        return 0.0
    if a == b:
        return 1.0
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return 0.8
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    return 0.5 if same == 2 else 0.0


def postcode_similarity(a: str, b: str) -> float:
    """1 same postcode; 0.5 same outward code (district); 0 otherwise."""
    na, nb = a.replace(" ", "").upper(), b.replace(" ", "").upper()
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    return 0.5 if a.split()[0].upper() == b.split()[0].upper() else 0.0


def valid_identifiers(subject: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The subject's usable identifiers, and a note for each invalid one (never trusted)."""
    good: dict[str, str] = {}
    notes: list[str] = []
    for kind, value in (subject.get("identifiers") or {}).items():
        if not value:
            continue
        if _VALIDATORS[kind](value):
            good[kind] = _NORMALISE[kind](value)
        else:
            notes.append(f"supplied {_LABEL[kind]} is invalid (check digit) and was not used")
    return good, notes


def _score(subject: dict[str, Any], c: Candidate) -> tuple[float, float, float, float, float]:
    address = subject.get("address") or {}
    family = family_similarity(subject.get("family_name", ""), [c.family_name, *c.other_names])
    for alias in subject.get("other_names") or []:
        family = max(family, family_similarity(alias, [c.family_name, *c.other_names]))
    given = given_similarity(subject.get("given_names", ""), c.given_names)
    dob = dob_similarity(subject.get("date_of_birth"), c.date_of_birth)
    post = postcode_similarity(address.get("postcode", ""), c.postcode)
    total = 0.3 * family + 0.25 * given + 0.3 * dob + 0.15 * post
    return total, family, given, dob, post


def match_subject(subject: dict[str, Any], candidates: list[Candidate]) -> MatchResult:
    """The best match for ``subject`` among ``candidates``."""
    ids, notes = valid_identifiers(subject)
    for kind, value in ids.items():
        for c in candidates:
            if c.identifiers.get(kind) and _NORMALISE[kind](c.identifiers[kind]) == value:
                _, family, given, dob, _ = _score(subject, c)
                agrees = dob >= 0.8 or (family >= 0.85 and given >= 0.85)
                confidence = "CONFIRMED" if agrees else "PROBABLE"
                extra = (
                    []
                    if agrees
                    else [f"{_LABEL[kind]} matches but name and date of birth disagree: verify"]
                )
                return MatchResult(
                    c.person_id, _METHOD[kind], confidence, 1.0, (kind,), tuple(notes + extra)
                )
    best: tuple[float, Candidate, float, float, float, float] | None = None
    for c in candidates:
        total, family, given, dob, post = _score(subject, c)
        if subject.get("date_of_birth") and c.date_of_birth and dob == 0.0:
            continue  # same name, different date of birth: a different person
        if best is None or total > best[0]:
            best = (total, c, family, given, dob, post)
    if best is None:
        return MatchResult(None, "NONE", "NO_MATCH", 0.0, (), tuple(notes))
    total, c, family, given, dob, post = best
    used = ["name"] + (["dob"] if dob else []) + (["address"] if post else [])
    method = (
        "NAME_DOB_ADDRESS"
        if dob and post
        else "NAME_DOB"
        if dob
        else "NAME_ADDRESS"
        if post
        else "NONE"
    )
    if dob < 1.0 and dob > 0:
        notes.append("date of birth differs slightly (possible day/month swap or typo)")
    if family < 0.85 and given >= 0.85 and dob == 1.0:
        notes.append("surname differs: possible change of name")
    if family >= 0.85 and given >= 0.85 and dob == 1.0 and total >= 0.85:
        confidence = "PROBABLE"
    elif total >= 0.65 and given >= 0.7 and (dob > 0 or post == 1.0):
        confidence = "POSSIBLE"
    else:
        return MatchResult(None, "NONE", "NO_MATCH", total, (), tuple(notes))
    return MatchResult(c.person_id, method, confidence, total, tuple(used), tuple(notes))
