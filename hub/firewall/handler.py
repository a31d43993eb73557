"""The firewall service logic: the only door between agencies and the MASH.

Referrals fan out as information requests to the agencies the level needs (Level 3 notifies
police and social care at once); responses pass the policy engine and leave as disclosed
information for the collator; chasers re-issue requests; re-levelling re-plans. Every step is
written to the disclosure log (durably, before any output is published); signed checkpoints
of the log go to mash.audit every N entries or T seconds.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from hub.disclosure_log import DisclosureLog, sign_checkpoint
from hub.disclosure_log.pseudonym import subject_pseudonyms
from hub.envelope import Opened
from hub.errors import MessageRejected, RejectReason
from hub.firewall.entries import base_entry, decision_entries
from hub.firewall.state import FirewallState
from hub.keys import KeyRing
from hub.policy.engine import PolicyInputError, ReferralContext, apply_policy
from hub.policy.model import Policy
from hub.referrals import locality_of, problems
from hub.runtime.service import Outgoing, output_id
from hub.timescales import Timescales, deadline
from hub.transport.base import Consumed

log = structlog.get_logger(__name__)
REQUEST_IDS = uuid.UUID("5b1f3a52-4d55-4a8e-9d0c-6d6173680004")
AGENCIES = ("POLICE", "HEALTH", "EDUCATION", "HOUSING")
LOG_ORIGIN = "mash-exchange/disclosure-log"
LEVEL3_RECIPIENTS = ("police", "dutymanager")


def _invalid(detail: str) -> MessageRejected:
    return MessageRejected(RejectReason.INVALID_CONTENT, detail)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


class FirewallHandler:
    """Implements the runtime's Handler protocol for the firewall."""

    name = "firewall"
    principal = "firewall"

    def __init__(
        self,
        *,
        policy: Policy,
        state: FirewallState,
        log_store: DisclosureLog,
        ring: KeyRing,
        pseudonym_key: bytes,
        timescales: Timescales | None = None,
        checkpoint_every: int = 100,
        checkpoint_interval: timedelta = timedelta(seconds=10),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.policy = policy
        self.state = state
        self.log = log_store
        self.ring = ring
        self.pseudonym_key = pseudonym_key
        self.timescales = timescales or Timescales()
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval = checkpoint_interval
        self.clock = clock
        self._last_checkpoint_at = clock()
        self.accepts: dict[str, set[str]] = {
            "mash.referrals": {"mash.Referral", "mash.Relevel"},
            "mash.chasers": {"mash.Chaser"},
            **{f"mash.responses.{a.lower()}": {"mash.AgencyResponse"} for a in AGENCIES},
        }

    # -- runtime protocol --------------------------------------------------------------------
    def ready(self) -> tuple[bool, str]:
        """Ready when the log database answers."""
        try:
            self.log.size()
        except Exception as exc:  # the database is gone or locked
            return False, f"disclosure log unavailable: {type(exc).__name__}"
        return True, "ok"

    def close(self) -> None:
        """Close the databases."""
        self.state.close()
        self.log.close()

    async def handle(self, opened: Opened, message: Consumed) -> list[Outgoing]:
        """Dispatch on the message type."""
        schema = opened.header.schema_name
        if schema == "mash.Referral":
            return self.on_referral(opened)
        if schema == "mash.AgencyResponse":
            return self.on_response(opened, message)
        if schema == "mash.Chaser":
            return self.on_chaser(opened)
        if schema == "mash.Relevel":
            return self.on_relevel(opened)
        raise _invalid(f"{schema} is not handled by the firewall")

    async def tick(self, now: datetime) -> list[Outgoing]:
        """Publish a signed checkpoint every N entries or T seconds (when there is news)."""
        size, last = self.log.size(), self.log.last_checkpoint_size()
        due = size - last >= self.checkpoint_every or (
            size > last and now - self._last_checkpoint_at >= self.checkpoint_interval
        )
        if not due:
            return []
        return [self.checkpoint(now)]

    async def drain(self, now: datetime) -> list[Outgoing]:
        """A final checkpoint at shutdown, so every entry is covered by a signed one."""
        if self.log.size() > self.log.last_checkpoint_size():
            return [self.checkpoint(now)]
        return []

    def checkpoint(self, now: datetime) -> Outgoing:
        """Sign the log's current state, keep it, and send it to mash.audit."""
        size, root, chain = self.log.root()
        checkpoint = sign_checkpoint(LOG_ORIGIN, size, root, chain, self.ring.signing_key)
        self.log.add_checkpoint(checkpoint)
        self._last_checkpoint_at = now
        log.info("log_checkpoint", size=size)
        record = {
            "origin": LOG_ORIGIN,
            "size": size,
            "root_hash": root,
            "chain_hash": chain,
            "signed_at": now,
            "note": checkpoint.note,
        }
        return Outgoing(
            "mash.audit",
            "mash.Checkpoint",
            record,
            ("auditor",),
            "disclosure-log",
            key="disclosure-log",
        )

    # -- referrals ---------------------------------------------------------------------------
    def _requests(
        self,
        referral: dict[str, Any],
        level: str,
        now: datetime,
        due: datetime | None,
        chaser: int = 0,
        only: tuple[str, ...] | None = None,
    ) -> list[dict[str, Any]]:
        level_policy = self.policy.levels[level]
        basis = level_policy.lawful_basis.model_dump() if level_policy.lawful_basis else None
        out = []
        for agency in level_policy.agencies:
            if only is not None and agency not in only:
                continue
            rid = str(
                uuid.uuid5(REQUEST_IDS, f"{referral['referral_id']}:{agency}:{level}:{chaser}")
            )
            out.append(
                {
                    "request_id": rid,
                    "referral_id": referral["referral_id"],
                    "agency": agency,
                    "level": level,
                    "purpose": level_policy.purpose,
                    "lawful_basis": basis,
                    "issued_at": now,
                    "deadline": due or now,
                    "subjects": referral["subjects"],
                    "chaser": chaser,
                }
            )
        return out

    @staticmethod
    def _request_outputs(requests: list[dict[str, Any]], referral_id: str) -> list[Outgoing]:
        """Each request sealed to its agency on the agency's own topic."""
        return [
            Outgoing(
                f"mash.requests.{r['agency'].lower()}",
                "mash.InformationRequest",
                r,
                (r["agency"].lower(),),
                referral_id,
            )
            for r in requests
        ]

    def _common(
        self,
        origin: str,
        index: int,
        referral: dict[str, Any],
        state: dict[str, Any],
        operation: str,
        now: datetime,
    ) -> dict[str, Any]:
        return base_entry(
            origin=origin,
            index=index,
            referral_id=referral["referral_id"],
            at=now,
            operation=operation,
            actor=self.principal,
            actor_key_id=self.ring.signing_key_id,
            policy=self.policy,
            level=state["level"],
            state=state,
            referral=referral,
        )

    def _collect_entries(
        self,
        origin: str,
        start: int,
        referral: dict[str, Any],
        state: dict[str, Any],
        requests: list[dict[str, Any]],
        now: datetime,
        reason: str,
    ) -> list[dict[str, Any]]:
        every = sorted({p for ps in state["pseudonyms"].values() for p in ps})
        id_types = sorted(
            {k for s in referral["subjects"] for k, v in (s["identifiers"] or {}).items() if v}
            | {"name", "dob"}
        )
        entries = []
        for i, request in enumerate(requests):
            entry = self._common(origin, start + i, referral, state, "collect", now)
            entry.update(
                {
                    "decision": None,
                    "agency": request["agency"],
                    "recipients": [request["agency"].lower()],
                    "request_id": request["request_id"],
                    "subject_pseudonyms": every,
                    "identifier_types": id_types,
                    "rule_id": f"{state['level']}-agencies",
                    "reason": reason,
                    "chaser": request["chaser"],
                }
            )
            entries.append(entry)
        return entries

    def _case_opened(
        self, referral: dict[str, Any], state: dict[str, Any], now: datetime
    ) -> Outgoing:
        level = state["level"]
        record = {
            "referral": {**referral, "level": level, "locality": locality_of(referral)},
            "route": self.policy.levels[level].route,
            "deadline": _dt(state["deadline"]) if state.get("deadline") else now,
            "requests": [
                {
                    "request_id": r["request_id"],
                    "agency": a,
                    "issued_at": _dt(r["issued_at"]),
                    "deadline": _dt(r["deadline"]),
                }
                for a, r in sorted(state["requests"].items())
            ],
            "policy_version": self.policy.digest,
            "opened_at": _dt(state["opened_at"]),
            "level_history": [{**h, "at": _dt(h["at"])} for h in state["level_history"]],
        }
        return Outgoing(
            "mash.disclosures", "mash.CaseOpened", record, ("collator",), referral["referral_id"]
        )

    def _notification(self, referral: dict[str, Any], now: datetime) -> Outgoing:
        record = {
            "notification_id": str(uuid.uuid5(REQUEST_IDS, f"{referral['referral_id']}:notify")),
            "referral_id": referral["referral_id"],
            "level": "LEVEL_3",
            "created_at": now,
            "recipients": list(LEVEL3_RECIPIENTS),
            "route": self.policy.levels["LEVEL_3"].route,
            "message": "Level 3 referral: s47 strategy discussion needed now; "
            "MASH information package to follow.",
        }
        return Outgoing(
            "mash.notifications",
            "mash.Notification",
            record,
            LEVEL3_RECIPIENTS,
            referral["referral_id"],
        )

    def on_referral(self, opened: Opened) -> list[Outgoing]:
        """Open a case: requests to each agency the level needs, notification for Level 3."""
        if opened.header.sender != "intake":
            raise _invalid("referrals are accepted from the intake principal only")
        referral = opened.record
        found = problems(referral)
        if found:
            raise _invalid("invalid referral: " + "; ".join(found))
        origin = opened.header.message_id
        existing = self.state.referral(referral["referral_id"])
        if existing is not None and existing[1]["origin"] != origin:
            log.info("duplicate_referral_ignored", referral_id=referral["referral_id"])
            return []
        now = self.clock()
        level = referral["level"]
        due = deadline(level, referral["received_at"], self.timescales)
        requests = self._requests(referral, level, now, due)
        state = (
            existing[1]
            if existing
            else {
                "origin": origin,
                "level": level,
                "opened_at": _iso(now),
                "deadline": _iso(due) if due else None,
                "level_history": [
                    {
                        "at": _iso(now),
                        "from_level": None,
                        "to_level": level,
                        "reason": referral.get("triage_reason") or "triage",
                        "by": opened.header.sender,
                    }
                ],
                "requests": {
                    r["agency"]: {
                        "request_id": r["request_id"],
                        "issued_at": _iso(now),
                        "deadline": _iso(r["deadline"]),
                        "chasers": 0,
                        "message_id": output_id(origin, i),
                    }
                    for i, r in enumerate(requests)
                },
                "pseudonyms": {
                    s["subject_id"]: subject_pseudonyms(self.pseudonym_key, s)
                    for s in referral["subjects"]
                },
            }
        )
        if existing is None:
            self.state.save(referral, state)
        outputs = self._request_outputs(requests, referral["referral_id"])
        entries = self._collect_entries(
            origin, 0, referral, state, requests, now, f"information request for {level}"
        )
        if level == "LEVEL_3":
            outputs.append(self._notification(referral, now))
            note = self._common(origin, len(entries), referral, state, "disclose", now)
            note.update(
                {
                    "decision": "RELEASED",
                    "data_category": "notification",
                    "recipients": list(LEVEL3_RECIPIENTS),
                    "rule_id": "L3-notify",
                    "reason": "Level 3: police and social care notified immediately",
                    "subject_pseudonyms": [],
                    "fields_disclosed": ["referral_id", "route"],
                }
            )
            entries.append(note)
        self.log.append(entries)
        outputs.append(self._case_opened(referral, state, now))
        log.info(
            "case_opened", referral_id=referral["referral_id"], level=level, agencies=len(requests)
        )
        return outputs

    # -- responses ---------------------------------------------------------------------------
    def _assess(
        self,
        referral: dict[str, Any],
        state: dict[str, Any],
        response: dict[str, Any],
        origin: str,
        response_sha: str,
        now: datetime,
    ) -> tuple[Outgoing, list[dict[str, Any]]]:
        consent = referral["consent"]
        ctx = ReferralContext(
            referral["referral_id"],
            state["level"],
            consent["status"],
            consent.get("not_sought_reason"),
            {s["subject_id"]: s["role"] for s in referral["subjects"]},
        )
        try:
            disclosure = apply_policy(self.policy, ctx, response, now)
        except PolicyInputError as exc:
            raise _invalid(str(exc)) from exc
        request = state["requests"].get(response["agency"], {})
        common = self._common(origin, 0, referral, state, "disclose", now)
        entries = decision_entries(
            disclosure.decisions,
            origin=f"{origin}:{state['level']}",
            start=0,
            common=common,
            pseudonyms=state["pseudonyms"],
            agency=response["agency"],
            response_message_id=origin,
            response_sha256=response_sha,
            request_message_id=request.get("message_id"),
            recipients=("collator",),
        )
        out = Outgoing(
            "mash.disclosures",
            "mash.DisclosedInformation",
            disclosure.record,
            ("collator",),
            referral["referral_id"],
        )
        return out, entries

    def on_response(self, opened: Opened, message: Consumed) -> list[Outgoing]:
        """Apply the policy to an agency's answer and pass on only what it allows."""
        response = opened.record
        agency = response["agency"].lower()
        if opened.header.sender != agency or not message.topic.endswith(f"responses.{agency}"):
            raise _invalid("an agency may only answer for itself, on its own topic")
        found = self.state.referral(response["referral_id"])
        if found is None:
            raise _invalid("response for a referral the firewall does not know")
        referral, state = found
        request = state["requests"].get(response["agency"], {})
        if request.get("answered_by") not in (None, response["response_id"]):
            # The agency already answered this referral (e.g. it now answers a chaser too):
            # the first answer stands; a later one would only repeat it downstream.
            log.info(
                "repeat_answer_ignored",
                referral_id=response["referral_id"],
                agency=response["agency"],
            )
            return []
        self.state.add_response(response)
        now = self.clock()
        sha = hashlib.sha256(message.value).hexdigest()
        out, entries = self._assess(referral, state, response, opened.header.message_id, sha, now)
        self.log.append(entries)
        answered = state["requests"].setdefault(response["agency"], {})
        answered.setdefault("answered_at", _iso(now))
        answered["answered_by"] = response["response_id"]
        self.state.save(referral, state)
        log.info(
            "response_assessed",
            referral_id=response["referral_id"],
            agency=response["agency"],
            decisions=len(entries),
        )
        return [out]

    # -- chasers and re-levelling ------------------------------------------------------------
    def on_chaser(self, opened: Opened) -> list[Outgoing]:
        """Re-issue a request to an agency that has not answered."""
        if opened.header.sender != "collator":
            raise _invalid("chasers are accepted from the collator only")
        chaser = opened.record
        found = self.state.referral(chaser["referral_id"])
        if found is None:
            raise _invalid("chaser for a referral the firewall does not know")
        referral, state = found
        request = state["requests"].get(chaser["agency"])
        if request is None or request.get("answered_at"):
            return []
        now = self.clock()
        due = _dt(request["deadline"])
        reissued = self._requests(
            referral, state["level"], now, due, chaser["chaser"], only=(chaser["agency"],)
        )
        request["chasers"] = max(request["chasers"], chaser["chaser"])
        self.state.save(referral, state)
        self.log.append(
            self._collect_entries(
                opened.header.message_id,
                0,
                referral,
                state,
                reissued,
                now,
                f"chaser {chaser['chaser']}",
            )
        )
        return self._request_outputs(reissued, referral["referral_id"])

    def on_relevel(self, opened: Opened) -> list[Outgoing]:
        """Escalate or de-escalate: re-plan, re-assess what is held, notify if now Level 3."""
        if opened.header.sender != "intake":
            raise _invalid("re-levelling is accepted from the intake principal only")
        change = opened.record
        found = self.state.referral(change["referral_id"])
        if found is None:
            raise _invalid("re-levelling for a referral the firewall does not know")
        referral, state = found
        old, new = state["level"], change["level"]
        if old == new:
            return []
        origin = opened.header.message_id
        now = self.clock()
        due = deadline(new, now, self.timescales)
        state["level"] = new
        state["deadline"] = _iso(due) if due else None
        state["level_history"].append(
            {
                "at": _iso(now),
                "from_level": old,
                "to_level": new,
                "reason": change["reason"],
                "by": change["decided_by"],
            }
        )
        missing = tuple(a for a in self.policy.levels[new].agencies if a not in state["requests"])
        requests = self._requests(referral, new, now, due, only=missing)
        for i, r in enumerate(requests):
            state["requests"][r["agency"]] = {
                "request_id": r["request_id"],
                "issued_at": _iso(now),
                "deadline": _iso(r["deadline"]),
                "chasers": 0,
                "message_id": output_id(origin, i),
            }
        for r in state["requests"].values():
            if due is not None and not r.get("answered_at"):
                r["deadline"] = _iso(due)
        self.state.save(referral, state)
        rerate = self._common(origin, 0, referral, state, "re-rate", now)
        rerate.update(
            {
                "decision": None,
                "rule_id": "relevel",
                "from_level": old,
                "to_level": new,
                "reason": change["reason"],
                "actor": {
                    "principal": self.principal,
                    "key_id": self.ring.signing_key_id,
                    "decided_by": change["decided_by"],
                },
            }
        )
        entries = [
            rerate,
            *self._collect_entries(
                origin, 1, referral, state, requests, now, f"re-levelled {old} to {new}"
            ),
        ]
        outputs = self._request_outputs(requests, referral["referral_id"])
        if new == "LEVEL_3" and old != "LEVEL_3":
            outputs.append(self._notification(referral, now))
        order = ("NFA", "LEVEL_1", "LEVEL_2", "LEVEL_3")
        # The re-plan goes first: the collator must know the new level before the
        # re-assessed disclosures (same key, same partition, so the order is kept).
        outputs.append(self._case_opened(referral, state, now))
        if order.index(new) > order.index(old):
            for response in self.state.responses(referral["referral_id"]):
                out, more = self._assess(
                    referral, state, response, f"{origin}:{response['response_id']}", "", now
                )
                outputs.append(out)
                entries.extend(more)
        self.log.append(entries)
        log.info("referral_relevelled", referral_id=referral["referral_id"], old=old, new=new)
        return outputs
