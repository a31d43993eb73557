"""The generic agency adapter: answers information requests from its agency's records.

Each adapter package (adapters/<agency>) supplies only an AgencyProfile: its agency, its
deterministic identifier, and how it makes synthetic records. Matching, sealing, the service
loop and idempotence are shared.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from hub.envelope import Opened
from hub.errors import MessageRejected, RejectReason
from hub.matching import match_subject
from hub.runtime.service import Outgoing
from hub.sources.base import AgencySource, SourceUnavailable
from hub.transport.base import Consumed

log = structlog.get_logger(__name__)
RESPONSE_IDS = uuid.UUID("5b1f3a52-4d55-4a8e-9d0c-6d6173680005")
Synthesiser = Callable[[dict[str, Any], random.Random], dict[str, list[dict[str, Any]]]]


@dataclass(frozen=True)
class AgencyProfile:
    """What is specific to one agency."""

    agency: str  # POLICE, HEALTH, EDUCATION, HOUSING
    identifier: str | None  # the deterministic identifier this agency holds
    bundle: str  # the Avro record type of its records, e.g. mash.PoliceRecords
    synthesise: Synthesiser  # synthetic records for one person of a generated household

    @property
    def principal(self) -> str:
        """The SCRAM / key principal of the adapter."""
        return self.agency.lower()


def response_id(request_id: str) -> str:
    """One response id per request: answering the same request twice yields the same id."""
    return str(uuid.uuid5(RESPONSE_IDS, request_id))


def answer(
    profile: AgencyProfile, source: AgencySource, request: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """The AgencyResponse for one request (pure apart from reading the source)."""
    findings = []
    for subject in request["subjects"]:
        result = match_subject(subject, source.candidates(subject))
        records = None
        if result.person_id is not None:
            held = source.records(result.person_id)
            records = {f: held.get(f, []) for f in _fields(profile)}
        findings.append(
            {"subject_id": subject["subject_id"], "match": result.record(), "records": records}
        )
    return {
        "response_id": response_id(request["request_id"]),
        "request_id": request["request_id"],
        "referral_id": request["referral_id"],
        "agency": profile.agency,
        "responded_at": now,
        "subjects": findings,
    }


def _fields(profile: AgencyProfile) -> tuple[str, ...]:
    from hub.policy.categories import categories

    return tuple(c.split(".", 1)[1] for c in categories()[profile.agency])


class AdapterHandler:
    """The runtime Handler of one agency adapter."""

    def __init__(
        self,
        profile: AgencyProfile,
        source: AgencySource,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.profile = profile
        self.source = source
        self.clock = clock
        self.name = f"adapter-{profile.principal}"
        self.principal = profile.principal
        self.accepts = {f"mash.requests.{profile.principal}": {"mash.InformationRequest"}}

    def ready(self) -> tuple[bool, str]:
        """Ready when the agency's records can be read."""
        try:
            self.source.check()
        except SourceUnavailable as exc:
            return False, str(exc)
        return True, "ok"

    def close(self) -> None:
        """Nothing to release beyond the source (closed by its owner)."""

    async def drain(self, now: datetime) -> list[Outgoing]:
        """Nothing to flush."""
        return []

    async def tick(self, now: datetime) -> list[Outgoing]:
        """Adapters have no timers."""
        return []

    async def handle(self, opened: Opened, message: Consumed) -> list[Outgoing]:
        """Match the request's subjects and send back what the agency holds, to the firewall."""
        if opened.header.sender != "firewall":
            raise MessageRejected(
                RejectReason.INVALID_CONTENT,
                "information requests are accepted from the firewall only",
            )
        request = opened.record
        if request["agency"] != self.profile.agency:
            raise MessageRejected(RejectReason.INVALID_CONTENT, "request for another agency")
        response = answer(self.profile, self.source, request, self.clock())
        matched = sum(1 for s in response["subjects"] if s["match"]["confidence"] != "NO_MATCH")
        log.info(
            "request_answered",
            referral_id=request["referral_id"],
            subjects=len(response["subjects"]),
            matched=matched,
            chaser=request["chaser"],
        )
        return [
            Outgoing(
                f"mash.responses.{self.profile.principal}",
                "mash.AgencyResponse",
                response,
                ("firewall",),
                request["referral_id"],
            )
        ]
