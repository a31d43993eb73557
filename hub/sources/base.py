"""The interface between an adapter and its agency's system.

A real system plugs in by implementing ``AgencySource``: e.g. health through a FHIR server
(Patient search by NHS number, then Encounter/Condition/Flag resources mapped to the health
categories), education through a school MIS export (pupil census by UPN), police through a
Niche/Athena extract keyed by PNC id, housing through the housing management system's
tenancy and case tables. The embedded default is a SQLite database per agency.
"""

from __future__ import annotations

from typing import Any, Protocol

from hub.matching import Candidate


class SourceUnavailable(RuntimeError):
    """The agency's records cannot be read (missing, locked or corrupt database)."""


class AgencySource(Protocol):
    """What an adapter needs from its agency's records."""

    def candidates(self, subject: dict[str, Any]) -> list[Candidate]:
        """People who might be ``subject`` (blocking by identifiers, DOB, surname, postcode)."""

    def records(self, person_id: str) -> dict[str, list[dict[str, Any]]]:
        """The person's records by category field name (e.g. ``crime_reports``)."""

    def check(self) -> None:
        """Raise SourceUnavailable unless the source can be read now."""
