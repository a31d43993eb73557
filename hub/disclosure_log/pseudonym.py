"""Keyed pseudonyms for subjects: the log never holds a name, date of birth or identifier, yet
IG holding the key can find everything about one person (a subject access request)."""

from __future__ import annotations

import hmac
import re
from datetime import date

_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def _norm(text: str) -> str:
    return _NOT_ALNUM.sub("", text.lower())


def pseudonyms(
    key: bytes,
    *,
    given_names: str = "",
    family_name: str = "",
    date_of_birth: date | None = None,
    nhs_number: str | None = None,
    upn: str | None = None,
    pnc_id: str | None = None,
) -> list[str]:
    """Every pseudonym a person can be found by: one per identifier, one for name and DOB."""
    found: list[str] = []
    for kind, value in (("nhs", nhs_number), ("upn", upn), ("pnc", pnc_id)):
        if value:
            found.append(_mac(key, f"{kind}:{_norm(value)}"))
    if family_name and date_of_birth:
        first = _norm(given_names.split()[0]) if given_names.split() else ""
        found.append(_mac(key, f"name:{_norm(family_name)}:{first}:{date_of_birth.isoformat()}"))
    return found


def _mac(key: bytes, text: str) -> str:
    return "ps:" + hmac.digest(key, text.encode(), "sha256").hex()[:32]  # one-shot, in C


def subject_pseudonyms(key: bytes, subject: dict[str, object]) -> list[str]:
    """Pseudonyms for a mash.Subject record."""
    ids = subject.get("identifiers") or {}
    assert isinstance(ids, dict)
    dob = subject.get("date_of_birth")
    return pseudonyms(
        key,
        given_names=str(subject.get("given_names", "")),
        family_name=str(subject.get("family_name", "")),
        date_of_birth=dob if isinstance(dob, date) else None,
        nhs_number=ids.get("nhs_number"),
        upn=ids.get("upn"),
        pnc_id=ids.get("pnc_id"),
    )
