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

    def concerns(self) -> list[dict[str, Any]]:
        """Concerns the agency's system has raised about children (e.g. police PPNs, school
        safeguarding concerns), oldest first: each with ``source_reference``, ``raised_at``,
        ``raised_by``, ``organisation``, ``role``, ``concern``, ``indicators``, ``consent``
        and ``subjects`` (people as the agency holds them, each with a ``role``)."""

    def check(self) -> None:
        """Raise SourceUnavailable unless the source can be read now."""
