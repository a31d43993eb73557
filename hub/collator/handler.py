"""The collator service logic: keeps each referral's clock, chases agencies through the firewall
at the configured points, assembles the package when every agency has answered or at the
deadline (marking those that did not), issues addenda for late responses, re-plans on
re-levelling, keeps every contact that makes up a referral (a late one brings an addendum) and
records the duty manager's decisions, confirming each to the duty manager. State is durable, so
timers are re-armed from it after a restart."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hub.collator.package import assemble
from hub.collator.state import CollatorState
from hub.envelope import Opened
from hub.errors import MessageRejected, RejectReason, StoreUnavailable
from hub.runtime.service import Outgoing
from hub.timescales import Timescales, chaser_times
from hub.transport.base import Consumed

log = structlog.get_logger(__name__)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


class OpenReferrals(Collector):
    """mash_referrals_open, counted from the state when scraped (not on every poll: the
    count is a query over every open case)."""

    def __init__(self, state: CollatorState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        """One gauge per level, zero for levels with nothing open."""
        gauge = GaugeMetricFamily(
            "mash_referrals_open", "Referrals awaiting their package", labels=["level"]
        )
        counts = dict.fromkeys(("NFA", "LEVEL_1", "LEVEL_2", "LEVEL_3"), 0)
        try:
            counts.update(self.state.open_by_level())
        except StoreUnavailable:  # the database is down: no figure rather than a false zero
            return
        for level, count in counts.items():
            gauge.add_metric([level], count)
        yield gauge


class CollatorHandler:
    """Implements the runtime's Handler protocol for the collator."""

    name = "collator"
    principal = "collator"

    def __init__(
        self,
        state: CollatorState,
        timescales: Timescales | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.state = state
        self.timescales = timescales or Timescales()
        self.clock = clock
        self.accepts = {
            "mash.disclosures": {
                "mash.CaseOpened",
                "mash.DisclosedInformation",
                "mash.CaseDecision",
            }
        }
        self.packages_sent = 0
        self.group_commit = False  # set by the service runner: writes commit with the batch
        # Set by the service runner: whether this instance holds the referral's partition, so
        # that of several instances sharing the state one alone chases and packages a case.
        self.owns: Callable[[str], bool] = lambda referral_id: True
        self._time_to_package: Histogram | None = None
        self._breached: Counter | None = None

    def bind_metrics(self, registry: CollectorRegistry) -> None:
        """SLA metrics: referrals open by level, time to package, deadlines breached."""
        registry.register(OpenReferrals(self.state))
        self._time_to_package = Histogram(
            "mash_time_to_package_seconds",
            "From the case opening to the package",
            ["level"],
            registry=registry,
            buckets=(1, 10, 60, 600, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600),
        )
        self._breached = Counter(
            "mash_deadlines_breached",
            "Packages assembled after their deadline",
            ["level"],
            registry=registry,
        )

    def ready(self) -> tuple[bool, str]:
        """Ready when the state database answers."""
        try:
            self.state.open_by_level()
        except Exception as exc:
            return False, f"state unavailable: {type(exc).__name__}"
        return True, "ok"

    def close(self) -> None:
        """Close the state database; writes of a batch whose outputs were never sent are
        rolled back, so its redelivery starts from a clean slate."""
        self.state.close()

    def flush(self) -> None:
        """Make the batch's writes durable (the runner calls it before sending outputs)."""
        self.state.commit_group()

    def rollback(self) -> None:
        """Undo the batch's writes: a database failed before they were durable, so none of
        their outputs was sent; the messages come again."""
        self.state.rollback_group()

    async def handle(self, opened: Opened, message: Consumed) -> list[Outgoing]:
        """CaseOpened starts or re-plans a clock; DisclosedInformation fills the package."""
        if self.group_commit:
            self.state.begin_group()
        if opened.header.sender != "firewall":
            raise MessageRejected(
                RejectReason.INVALID_CONTENT, "the collator accepts input from the firewall only"
            )
        with self.state.message_scope():  # a failure leaves none of this message's writes
            return self._dispatch(opened)

    def _dispatch(self, opened: Opened) -> list[Outgoing]:
        if opened.header.schema_name == "mash.CaseOpened":
            return self.on_case(opened.record)
        if opened.header.schema_name == "mash.CaseDecision":
            return self.on_decision(opened.record)
        return self.on_finding(opened.record, opened.encoded)

    def on_decision(self, decision: dict[str, Any]) -> list[Outgoing]:
        """Record a decision against the case and confirm it to the duty manager."""
        found = self.state.case(decision["referral_id"])
        if found is None:
            raise MessageRejected(RejectReason.INVALID_CONTENT, "decision for an unknown case")
        case, referral = found
        decided = case.setdefault("decisions", [])
        if not any(d["decision_id"] == decision["decision_id"] for d in decided):
            decided.append({**decision, "decided_at": _iso(decision["decided_at"])})
            self.state.save(case, referral)
        log.info(
            "decision_recorded", referral_id=decision["referral_id"], outcome=decision["outcome"]
        )
        return [
            Outgoing(
                "mash.packages",
                "mash.CaseDecision",
                decision,
                ("dutymanager",),
                decision["referral_id"],
            )
        ]

    def on_case(self, opened: dict[str, Any]) -> list[Outgoing]:
        """Start (or re-plan) a referral's clock; NFA gets its advice package at once."""
        referral = opened["referral"]
        now = self.clock()
        existing = self.state.case(referral["referral_id"])
        case: dict[str, Any] = existing[0] if existing else {"packages": 0, "closed": False}
        requests = case.get("requests", {})
        for r in opened["requests"]:
            prior = requests.get(r["agency"], {})
            requests[r["agency"]] = {
                **prior,
                "request_id": r["request_id"],
                "issued_at": _iso(r["issued_at"]),
                "deadline": _iso(r["deadline"]),
                "chaser_due": [
                    _iso(t) for t in chaser_times(r["issued_at"], r["deadline"], self.timescales)
                ],
                "chasers": prior.get("chasers", 0),
            }
        case.update(
            {
                "level": referral["level"],
                "route": opened["route"],
                "locality": referral.get("locality"),
                "deadline": _iso(opened["deadline"]),
                "requests": requests,
                "level_history": [{**h, "at": _iso(h["at"])} for h in opened["level_history"]],
                "contacts": [
                    {**c, "received_at": _iso(c["received_at"])} for c in opened.get("contacts", [])
                ],
                "history": [
                    {**h, "opened_at": _iso(h["opened_at"])} for h in opened.get("history", [])
                ],
            }
        )
        if referral["level"] != "NFA" and case["packages"] == 0:
            case["closed"] = False
        self.state.save(case, referral)
        log.info(
            "case_planned",
            referral_id=referral["referral_id"],
            level=referral["level"],
            agencies=len(requests),
        )
        if referral["level"] == "NFA" and case["packages"] == 0:
            return self._package(case, referral, now)
        if case["packages"] > 0 and len(case["contacts"]) > case.get("contacts_sent", 0):
            return self._package(case, referral, now)  # an addendum: a further contact
        return self._complete_if_all_answered(case, referral, now)

    def on_finding(
        self, finding: dict[str, Any], encoded: tuple[bytes, bytes] | None = None
    ) -> list[Outgoing]:
        """Record what the firewall released (kept as received when ``encoded`` is given);
        package when complete, addendum when late."""
        found = self.state.case(finding["referral_id"])
        if found is None:
            raise MessageRejected(RejectReason.INVALID_CONTENT, "finding for an unknown case")
        case, referral = found
        if not self.state.add_finding(finding, encoded):
            return []
        now = self.clock()
        request = case["requests"].setdefault(
            finding["agency"], {"issued_at": _iso(now), "deadline": case["deadline"], "chasers": 0}
        )
        request.setdefault("answered_at", _iso(now))
        self.state.save(case, referral)
        if case["packages"] > 0:
            return self._package(case, referral, now)  # an addendum
        return self._complete_if_all_answered(case, referral, now)

    def _complete_if_all_answered(
        self, case: dict[str, Any], referral: dict[str, Any], now: datetime
    ) -> list[Outgoing]:
        if (
            case["packages"] == 0
            and case["requests"]
            and all(r.get("answered_at") for r in case["requests"].values())
        ):
            return self._package(case, referral, now)
        return []

    def _package(
        self, case: dict[str, Any], referral: dict[str, Any], now: datetime
    ) -> list[Outgoing]:
        addendum = case["packages"]
        findings = self.state.findings(referral["referral_id"], unsent_only=addendum > 0)
        if (
            addendum > 0
            and not findings
            and len(case.get("contacts", [])) <= case.get("contacts_sent", 0)
        ):
            return []
        package = assemble(case, referral, findings, now, addendum)
        case["packages"] = addendum + 1
        case["contacts_sent"] = len(case.get("contacts", []))
        case["closed"] = True
        self.state.mark_sent(referral["referral_id"], addendum)
        self.state.save(case, referral)
        self.packages_sent += 1
        if addendum == 0 and self._time_to_package is not None and self._breached is not None:
            opened = (
                datetime.fromisoformat(case["level_history"][0]["at"])
                if case["level_history"]
                else now
            )
            self._time_to_package.labels(case["level"]).observe(
                max(0.0, (now - opened).total_seconds())
            )
            if not package["deadline_met"]:
                self._breached.labels(case["level"]).inc()
        log.info(
            "package_assembled",
            referral_id=referral["referral_id"],
            addendum=addendum,
            deadline_met=package["deadline_met"],
            findings=len(findings),
        )
        return [
            Outgoing(
                "mash.packages",
                "mash.InformationPackage",
                package,
                ("dutymanager",),
                referral["referral_id"],
            )
        ]

    async def drain(self, now: datetime) -> list[Outgoing]:
        """Nothing to flush: timers are re-armed from state after a restart."""
        return []

    async def tick(self, now: datetime) -> list[Outgoing]:
        """Chasers that are due, and packages whose deadline has come."""
        self.flush()
        out: list[Outgoing] = []
        for referral_id in self.state.due(_iso(now)):
            if not self.owns(referral_id):
                continue  # another instance's case: it chases and packages it
            found = self.state.case(referral_id)
            if found is None:
                continue
            case, referral = found
            changed = False
            for agency, req in sorted(case["requests"].items()):
                if req.get("answered_at"):
                    continue
                due = [t for t in req.get("chaser_due", []) if datetime.fromisoformat(t) <= now]
                if len(due) > req.get("chasers", 0):
                    req["chasers"] = len(due)
                    changed = True
                    out.append(
                        Outgoing(
                            "mash.chasers",
                            "mash.Chaser",
                            {
                                "referral_id": referral_id,
                                "agency": agency,
                                "chaser": len(due),
                                "requested_at": now,
                                "reason": "no answer yet; deadline approaching",
                            },
                            ("firewall",),
                            referral_id,
                        )
                    )
                    log.info("chaser_sent", referral_id=referral_id, agency=agency, chaser=len(due))
            if changed:
                self.state.save(case, referral)
            if case["packages"] == 0 and now >= datetime.fromisoformat(case["deadline"]):
                out.extend(self._package(case, referral, now))
        return out
