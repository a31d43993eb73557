"""The generic agency adapter: answers information requests from its agency's records, raises
the concerns its agency's system records as referrals (sealed to the hub), and keeps the
outcome feedback (and, for police, strategy products) the hub sends back.

Each adapter package (adapters/<agency>) supplies only an AgencyProfile: its agency, its
deterministic identifier, the products it receives and how it makes synthetic records.
Matching, sealing, the service loop and idempotence are shared.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from hub.adapter_state import AdapterState
from hub.concerns import referral_from_concern
from hub.envelope import Opened
from hub.errors import MessageRejected, RejectReason
from hub.ids import name_id
from hub.matching import match_subject
from hub.referrals import problems
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
    products: tuple[str, ...] = ()  # policy recipients this agency is (e.g. police-strategy)

    @property
    def principal(self) -> str:
        """The SCRAM / key principal of the adapter."""
        return self.agency.lower()


def response_id(request_id: str) -> str:
    """One response id per request: answering the same request twice yields the same id."""
    return name_id(RESPONSE_IDS, request_id)


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
        state: AdapterState,
        concern_poll_s: float = 2.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.profile = profile
        self.source = source
        self.state = state
        self.concern_poll_s = concern_poll_s
        self.clock = clock
        self.name = f"adapter-{profile.principal}"
        self.principal = profile.principal
        self.accepts: dict[str, set[str]] = {
            f"mash.requests.{profile.principal}": {"mash.InformationRequest"},
            f"mash.feedback.{profile.principal}": {"mash.Feedback"},
            **{f"mash.products.{p}": {"mash.InformationProduct"} for p in profile.products},
        }
        self._last_poll: datetime | None = None

    def ready(self) -> tuple[bool, str]:
        """Ready when the agency's records can be read."""
        try:
            self.source.check()
        except SourceUnavailable as exc:
            return False, str(exc)
        return True, "ok"

    def close(self) -> None:
        """Close the adapter's state (the source is closed by its owner)."""
        self.state.close()

    async def drain(self, now: datetime) -> list[Outgoing]:
        """Nothing to flush."""
        return []

    async def tick(self, now: datetime) -> list[Outgoing]:
        """Every few seconds: concerns new in the agency's system, as referrals to the hub."""
        if self._last_poll is not None and (
            (now - self._last_poll).total_seconds() < self.concern_poll_s
        ):
            return []
        self._last_poll = now
        try:
            concerns = self.source.concerns()
        except SourceUnavailable as exc:
            log.warning("concerns_unavailable", error=str(exc))
            return []
        done = self.state.handled()
        out = []
        for concern in concerns:
            ref = concern["source_reference"]
            if ref in done:
                continue
            referral = referral_from_concern(self.profile.agency, concern)
            found = problems(referral)
            if found:  # the agency's record cannot make a referral: say why, once
                self.state.mark(ref, None, "invalid", "; ".join(found), now)
                log.warning("concern_not_raised", problems=len(found))
                continue
            out.append(
                Outgoing(
                    f"mash.concerns.{self.principal}",
                    "mash.Referral",
                    referral,
                    ("firewall",),
                    referral["referral_id"],
                )
            )
        return out

    def published(self, outputs: list[Outgoing]) -> None:
        """The broker acknowledged these ticked outputs: their concerns count as raised (a
        crash before this re-raises them; the firewall de-duplicates by source reference)."""
        for out in outputs:
            if out.schema_name == "mash.Referral":
                referrer = out.record["referrer"]
                assert isinstance(referrer, dict)
                self.state.mark(
                    str(referrer["source_reference"]),
                    str(out.record["referral_id"]),
                    "raised",
                    str(out.record["level"]),
                    self.clock(),
                )
                log.info("concern_raised", referral_id=out.record["referral_id"])

    async def handle(self, opened: Opened, message: Consumed) -> list[Outgoing]:
        """Answer a request from the agency's records; keep feedback and products."""
        if opened.header.sender != "firewall":
            raise MessageRejected(
                RejectReason.INVALID_CONTENT, "the adapter accepts messages from the firewall only"
            )
        schema = opened.header.schema_name
        if schema == "mash.InformationRequest":
            return self.on_request(opened.record)
        record = opened.record
        ident = record.get("feedback_id") or record.get("product_id")
        if self.state.receive(str(ident), schema, record, self.clock()):
            log.info("received_from_hub", kind=schema, referral_id=record["referral_id"])
        return []

    def on_request(self, request: dict[str, Any]) -> list[Outgoing]:
        """Match the request's subjects and send back what the agency holds, to the firewall."""
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
