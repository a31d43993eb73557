"""The firewall service logic: the only door between agencies and the MASH.

Referrals (from the front door, or raised by an agency's own system) fan out as information
requests to the agencies the level needs (Level 3 notifies police and social care at once); an
agency's concern about a child with an undecided referral joins it as a further contact;
responses pass the policy engine and leave as disclosed information for the collator; chasers
re-issue requests; re-levelling re-plans; the duty manager's decision disseminates a product
to each recipient team under its rules and feeds the outcome back to every referrer. Every
step is written to the disclosure log (durably, before any output is published); signed
checkpoints of the log go to mash.audit every N entries or T seconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from hub import contacts as contact_rules
from hub import decisions as decision_rules
from hub.disclosure_log import DisclosureLog, sign_checkpoint
from hub.disclosure_log.pseudonym import subject_pseudonyms
from hub.envelope import Opened
from hub.errors import MessageRejected, RejectReason
from hub.firewall.dissemination import package_complete, product
from hub.firewall.entries import base_entry, response_entries
from hub.firewall.outputs import (
    HISTORY_MAX,
    HISTORY_WINDOW,
    LEVEL3_RECIPIENTS,
    case_opened,
    dt,
    history_disclosure,
    iso,
    notification,
    policy_context,
    request_outputs,
    requests_for,
)
from hub.firewall.state import FirewallState
from hub.keys import KeyRing
from hub.policy.engine import PolicyInputError, apply_policy
from hub.policy.model import Policy
from hub.referrals import locality_of, problems
from hub.runtime.service import Outgoing, output_id
from hub.timescales import Timescales, deadline
from hub.transport.base import Consumed

log = structlog.get_logger(__name__)
AGENCIES = ("POLICE", "HEALTH", "EDUCATION", "HOUSING")
LOG_ORIGIN = "mash-exchange/disclosure-log"


def _invalid(detail: str) -> MessageRejected:
    return MessageRejected(RejectReason.INVALID_CONTENT, detail)


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
        link_window: timedelta = contact_rules.DEFAULT_LINK_WINDOW,
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
        self.link_window = link_window
        self.clock = clock
        self._last_checkpoint_at = clock()
        # With group commit (set by the service runner) entries wait for flush(), which the
        # runner calls before it publishes the outputs they account for: one durable log
        # transaction per sent batch instead of one per message.
        self.group_commit = False
        self._pending: list[dict[str, Any]] = []
        self.accepts: dict[str, set[str]] = {
            "mash.referrals": {"mash.Referral", "mash.Relevel"},
            "mash.chasers": {"mash.Chaser"},
            "mash.decisions": {"mash.CaseDecision"},
            **{f"mash.responses.{a.lower()}": {"mash.AgencyResponse"} for a in AGENCIES},
            **{f"mash.concerns.{a.lower()}": {"mash.Referral"} for a in AGENCIES},
        }
        # New referrals and concerns first: a Level 3 notification never waits behind the
        # responses of earlier referrals (the runner's priority lane).
        self.priority = frozenset(
            ["mash.referrals", *(f"mash.concerns.{a.lower()}" for a in AGENCIES)]
        )

    # -- runtime protocol --------------------------------------------------------------------
    @staticmethod
    def urgency(opened: Opened) -> int:
        """Order within the priority lane: whatever makes a Level 3 notification due (a Level 3
        referral or concern, a re-levelling to Level 3) before the rest."""
        return 0 if opened.record.get("level") == "LEVEL_3" else 1

    def _record(self, entries: list[dict[str, Any]]) -> None:
        """Write entries to the log now, or with the batch (group commit)."""
        if self.group_commit:
            self._pending.extend(entries)
        else:
            self.log.append(entries)

    def flush(self) -> None:
        """Make the batch's state and pending log entries durable (before its outputs are
        sent)."""
        self.state.commit_group()
        if self._pending:
            self.log.append(self._pending)
            self._pending = []

    def rollback(self) -> None:
        """Undo the batch's state and forget its pending log entries: a database failed
        before they were durable, so none of their outputs was sent; the messages come again."""
        self.state.rollback_group()
        self._pending = []

    def ready(self) -> tuple[bool, str]:
        """Ready when the log database answers."""
        try:
            self.log.size()
        except Exception as exc:  # the database is gone or locked
            return False, f"disclosure log unavailable: {type(exc).__name__}"
        return True, "ok"

    def close(self) -> None:
        """Close the databases; a batch whose outputs were never sent is rolled back."""
        self.state.close()
        self.log.close()

    async def handle(self, opened: Opened, message: Consumed) -> list[Outgoing]:
        """Dispatch on the message type."""
        if self.group_commit:
            self.state.begin_group()
        logged = len(self._pending)
        try:
            with self.state.message_scope():  # a failure leaves none of this message's writes
                return self._dispatch(opened, message)
        except BaseException:
            del self._pending[logged:]  # nor its log entries
            raise

    def _dispatch(self, opened: Opened, message: Consumed) -> list[Outgoing]:
        schema = opened.header.schema_name
        if schema == "mash.Referral":
            return self.on_referral(opened, message)
        if schema == "mash.AgencyResponse":
            return self.on_response(opened, message)
        if schema == "mash.Chaser":
            return self.on_chaser(opened)
        if schema == "mash.Relevel":
            return self.on_relevel(opened)
        if schema == "mash.CaseDecision":
            return self.on_decision(opened)
        raise _invalid(f"{schema} is not handled by the firewall")

    async def tick(self, now: datetime) -> list[Outgoing]:
        """Publish a signed checkpoint every N entries or T seconds (when there is news)."""
        self.flush()
        size, last = self.log.size(), self.log.last_checkpoint_size()
        due = size - last >= self.checkpoint_every or (
            size > last and now - self._last_checkpoint_at >= self.checkpoint_interval
        )
        if not due:
            return []
        return [self.checkpoint(now)]

    async def drain(self, now: datetime) -> list[Outgoing]:
        """A final checkpoint at shutdown, so every entry is covered by a signed one."""
        self.flush()
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

    def _channel(self, opened: Opened, message: Consumed) -> str:
        """Who may raise a referral where: the front door on mash.referrals, an agency on its
        own mash.concerns topic, for itself, with its own reference for the incident."""
        sender, referral = opened.header.sender, opened.record
        if sender == "intake":
            if not message.topic.endswith("mash.referrals"):
                raise _invalid("the front door raises referrals on mash.referrals only")
            return sender
        if sender in contact_rules.AGENCY_CHANNELS and message.topic.endswith(
            f"mash.concerns.{sender}"
        ):
            referrer = referral["referrer"]
            if referrer["source"] != sender.upper() or not referrer.get("source_reference"):
                raise _invalid(
                    "an agency raises concerns as itself (referrer.source) "
                    "with its own source_reference"
                )
            return sender
        raise _invalid("referrals come from the front door, or from an agency on its own topic")

    def on_referral(self, opened: Opened, message: Consumed) -> list[Outgoing]:
        """Open a case (requests to each agency the level needs, notification for Level 3), or
        add an agency's concern to the undecided referral about the same child."""
        channel = self._channel(opened, message)
        referral = opened.record
        found = problems(referral)
        if found:
            raise _invalid("invalid referral: " + "; ".join(found))
        origin = opened.header.message_id
        now = self.clock()
        contact = contact_rules.contact_of(referral, origin, channel)
        if channel != "intake":
            source, ref = referral["referrer"]["source"], referral["referrer"]["source_reference"]
            known = self.state.referral_for_source(source, ref)
            if known is not None:
                target = self.state.referral(known)
                mine = target is not None and any(
                    c["contact_id"] == origin for c in target[1].get("contacts", [])
                )
                if not mine:  # the same incident raised again: one referral, not two
                    log.info("duplicate_contact_ignored", referral_id=known, source=source)
                    return []
                if known != referral["referral_id"]:  # redelivery of a linked contact
                    return self._link(known, contact, referral, origin, now)
            else:
                since = iso(now - self.link_window)
                pseudonyms = contact_rules.child_pseudonyms(self.pseudonym_key, referral)
                for candidate in self.state.referrals_about(pseudonyms, since):
                    held = self.state.referral(candidate)
                    if (
                        candidate != referral["referral_id"]
                        and held
                        and not held[1].get("decisions")
                    ):
                        return self._link(candidate, contact, referral, origin, now)
        existing = self.state.referral(referral["referral_id"])
        if existing is not None and existing[1]["origin"] != origin:
            log.info("duplicate_referral_ignored", referral_id=referral["referral_id"])
            return []
        level = referral["level"]
        due = deadline(level, referral["received_at"], self.timescales)
        requests = requests_for(self.policy, referral, level, now, due)
        state = (
            existing[1]
            if existing
            else {
                "origin": origin,
                "level": level,
                "opened_at": iso(now),
                "deadline": iso(due) if due else None,
                "level_history": [
                    {
                        "at": iso(now),
                        "from_level": None,
                        "to_level": level,
                        "reason": referral.get("triage_reason") or "triage",
                        "by": opened.header.sender,
                    }
                ],
                "requests": {
                    r["agency"]: {
                        "request_id": r["request_id"],
                        "issued_at": iso(now),
                        "deadline": iso(r["deadline"]),
                        "chasers": 0,
                        "message_id": output_id(origin, i),
                    }
                    for i, r in enumerate(requests)
                },
                "pseudonyms": {
                    s["subject_id"]: subject_pseudonyms(self.pseudonym_key, s)
                    for s in referral["subjects"]
                },
                "contacts": [contact_rules.to_state(contact)],
                "decisions": [],
            }
        )
        children = contact_rules.child_pseudonyms(
            self.pseudonym_key, referral, None if existing else state["pseudonyms"]
        )
        if existing is None:  # what the MASH knows of these children already
            since = iso(now - HISTORY_WINDOW)
            state["history"] = self.state.prior_referrals(
                children, since, referral["referral_id"], HISTORY_MAX
            )
        with self.state.transaction():  # idempotent: a redelivery redoes what is missing
            if existing is None:
                self.state.save(referral, state, opened.encoded)
            self.state.index_children(referral["referral_id"], children, state["opened_at"])
            if channel != "intake":
                self.state.add_source(
                    contact["source"], contact["source_reference"], referral["referral_id"]
                )
        outputs = request_outputs(requests, referral["referral_id"])
        entries = self._collect_entries(
            origin, 0, referral, state, requests, now, f"information request for {level}"
        )
        if level == "LEVEL_3":
            outputs.append(notification(self.policy, referral, now))
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
        if state.get("history"):
            earlier = self._common(origin, len(entries), referral, state, "disclose", now)
            earlier.update(history_disclosure(state["history"], children))
            entries.append(earlier)
        self._record(entries)
        outputs.append(case_opened(self.policy, referral, state, now))
        log.info(
            "case_opened",
            referral_id=referral["referral_id"],
            level=level,
            agencies=len(requests),
            earlier_referrals=len(state.get("history", [])),
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
        try:
            disclosure = apply_policy(self.policy, policy_context(referral, state), response, now)
        except PolicyInputError as exc:
            raise _invalid(str(exc)) from exc
        entries = response_entries(
            disclosure.decisions,
            origin=f"{origin}:{state['level']}",
            common=self._common(origin, 0, referral, state, "disclose", now),
            state=state,
            agency=response["agency"],
            response=(origin, response_sha),
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
        now = self.clock()
        sha = hashlib.sha256(message.value).hexdigest()
        out, entries = self._assess(referral, state, response, opened.header.message_id, sha, now)
        self._record(entries)
        answered = state["requests"].setdefault(response["agency"], {})
        answered.setdefault("answered_at", iso(now))
        answered["answered_by"] = response["response_id"]
        with self.state.transaction():
            self.state.add_response(response, opened.encoded)
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
        due = dt(request["deadline"])
        reissued = requests_for(
            self.policy,
            referral,
            state["level"],
            now,
            due,
            chaser["chaser"],
            only=(chaser["agency"],),
        )
        request["chasers"] = max(request["chasers"], chaser["chaser"])
        self.state.save(referral, state)
        self._record(
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
        return request_outputs(reissued, referral["referral_id"])

    def on_relevel(self, opened: Opened) -> list[Outgoing]:
        """Escalate or de-escalate: re-plan, re-assess what is held, notify if now Level 3."""
        if opened.header.sender != "intake":
            raise _invalid("re-levelling is accepted from the intake principal only")
        change = opened.record
        found = self.state.referral(change["referral_id"])
        if found is None:
            raise _invalid("re-levelling for a referral the firewall does not know")
        referral, state = found
        if state["level"] == change["level"]:
            return []
        outputs, entries = self._relevel(
            referral,
            state,
            change["level"],
            change["reason"],
            change["decided_by"],
            opened.header.message_id,
            self.clock(),
        )
        self._record(entries)
        return outputs

    def _relevel(
        self,
        referral: dict[str, Any],
        state: dict[str, Any],
        new: str,
        reason: str,
        by: str,
        origin: str,
        now: datetime,
    ) -> tuple[list[Outgoing], list[dict[str, Any]]]:
        """Re-plan at a new level: requests to newly needed agencies, new deadlines, the
        collator told first, then what is held re-assessed when the level rises."""
        old = state["level"]
        due = deadline(new, now, self.timescales)
        state["level"] = new
        state["deadline"] = iso(due) if due else None
        state["level_history"].append(
            {"at": iso(now), "from_level": old, "to_level": new, "reason": reason, "by": by}
        )
        missing = tuple(a for a in self.policy.levels[new].agencies if a not in state["requests"])
        requests = requests_for(self.policy, referral, new, now, due, only=missing)
        for i, r in enumerate(requests):
            state["requests"][r["agency"]] = {
                "request_id": r["request_id"],
                "issued_at": iso(now),
                "deadline": iso(r["deadline"]),
                "chasers": 0,
                "message_id": output_id(origin, i),
            }
        for r in state["requests"].values():
            if due is not None and not r.get("answered_at"):
                r["deadline"] = iso(due)
        self.state.save(referral, state)
        rerate = self._common(origin, 0, referral, state, "re-rate", now)
        rerate.update(
            {
                "decision": None,
                "rule_id": "relevel",
                "from_level": old,
                "to_level": new,
                "reason": reason,
                "actor": {
                    "principal": self.principal,
                    "key_id": self.ring.signing_key_id,
                    "decided_by": by,
                },
            }
        )
        entries = [
            rerate,
            *self._collect_entries(
                origin, 1, referral, state, requests, now, f"re-levelled {old} to {new}"
            ),
        ]
        outputs = request_outputs(requests, referral["referral_id"])
        if new == "LEVEL_3" and old != "LEVEL_3":
            outputs.append(notification(self.policy, referral, now))
        # The re-plan goes first: the collator must know the new level before the
        # re-assessed disclosures (same key, same partition, so the order is kept).
        outputs.append(case_opened(self.policy, referral, state, now))
        if contact_rules.higher(new, old):
            for response in self.state.responses(referral["referral_id"]):
                out, more = self._assess(
                    referral, state, response, f"{origin}:{response['response_id']}", "", now
                )
                outputs.append(out)
                entries.extend(more)
        log.info("referral_relevelled", referral_id=referral["referral_id"], old=old, new=new)
        return outputs, entries

    # -- contacts ----------------------------------------------------------------------------
    def _link(
        self,
        referral_id: str,
        contact: dict[str, Any],
        raised: dict[str, Any],
        origin: str,
        now: datetime,
    ) -> list[Outgoing]:
        """Add an agency's concern to the open referral about the same child; a concern at a
        higher level escalates the referral (a Level 3 concern never waits for Level 1)."""
        found = self.state.referral(referral_id)
        assert found is not None
        referral, state = found
        contacts = state.setdefault("contacts", [])
        if not any(c["contact_id"] == contact["contact_id"] for c in contacts):
            contacts.append(contact_rules.to_state(contact))
        self.state.add_source(contact["source"], contact["source_reference"], referral_id)
        link = self._common(f"{origin}:link", 0, referral, state, "link", now)
        link.update(
            {
                "decision": None,
                "rule_id": "link-window",
                "agency": contact["source"],
                "recipients": [],
                "subject_pseudonyms": contact_rules.child_pseudonyms(self.pseudonym_key, raised),
                "reason": f"concern from {contact['source']} ({contact['level']}) about the same "
                f"child within {self.link_window.total_seconds() / 3600:g} h: one referral, "
                f"{len(contacts)} contacts",
            }
        )
        entries = [link]
        if contact_rules.higher(contact["level"], state["level"]):
            outputs, more = self._relevel(
                referral,
                state,
                contact["level"],
                f"linked concern from {contact['source']} at {contact['level']}",
                contact["channel"],
                origin,
                now,
            )
            entries.extend(more)
        else:
            self.state.save(referral, state)
            outputs = [case_opened(self.policy, referral, state, now)]
        self._record(entries)
        log.info(
            "contact_linked",
            referral_id=referral_id,
            source=contact["source"],
            contacts=len(contacts),
        )
        return outputs

    # -- decisions ---------------------------------------------------------------------------
    def on_decision(self, opened: Opened) -> list[Outgoing]:
        """Record the duty manager's decision, disseminate a product to each recipient under
        its rules, feed the outcome back to every referrer, and tell the collator."""
        if opened.header.sender != "dutymanager":
            raise _invalid("decisions are accepted from the duty manager only")
        decision = opened.record
        found = self.state.referral(decision["referral_id"])
        if found is None:
            raise _invalid("decision for a referral the firewall does not know")
        referral, state = found
        origin = opened.header.message_id
        decided = state.setdefault("decisions", [])
        now = self.clock()
        prior = next((d for d in decided if d["decision_id"] == decision["decision_id"]), None)
        if prior is not None:
            record = {**prior, "decided_at": dt(prior["decided_at"])}  # a redelivery
        else:
            ctx = decision_rules.DecisionContext(
                level=state["level"],
                package_complete=package_complete(state, now),
                locality=locality_of(referral),
                prior_outcomes=tuple(d["outcome"] for d in decided),
            )
            try:
                record = decision_rules.check(decision, ctx)
            except decision_rules.DecisionInvalid as exc:
                raise _invalid(str(exc)) from exc
            decided.append({**record, "decided_at": iso(record["decided_at"])})
            self.state.save(referral, state)
        entry = self._common(f"{origin}:decide", 0, referral, state, "decide", now)
        entry.update(
            {
                "decision": None,
                "rule_id": f"outcome:{record['outcome']}",
                "recipients": list(record["recipients"]),
                "reason": f"{record['outcome']}"
                + (
                    " (before the package was complete, Level 3)"
                    if record["before_package"]
                    else ""
                ),
                "actor": {
                    "principal": self.principal,
                    "key_id": self.ring.signing_key_id,
                    "decided_by": record["decided_by"],
                },
            }
        )
        entries = [entry]
        outputs: list[Outgoing] = []
        for recipient in record["recipients"]:
            out, more = product(
                self.policy,
                self.state.responses(referral["referral_id"]),
                referral,
                state,
                record,
                recipient,
                origin,
                now,
                self._common(origin, 0, referral, state, "disclose", now),
            )
            outputs.append(out)
            entries.extend(more)
        for i, contact in enumerate(state.get("contacts", [])):
            topic, principal = decision_rules.feedback_route(contact)
            note = decision_rules.feedback(record, contact, now)
            fed = self._common(f"{origin}:feedback", i, referral, state, "disclose", now)
            fed.update(
                {
                    "decision": "RELEASED",
                    "data_category": "feedback",
                    "recipients": [principal],
                    "rule_id": "referrer-feedback",
                    "reason": "the referrer is told the outcome; never the package contents",
                    "subject_pseudonyms": [],
                    "fields_disclosed": ["outcome", "team", "advice"],
                }
            )
            entries.append(fed)
            outputs.append(
                Outgoing(topic, "mash.Feedback", note, (principal,), referral["referral_id"])
            )
        outputs.append(
            Outgoing(
                "mash.disclosures",
                "mash.CaseDecision",
                record,
                ("collator",),
                referral["referral_id"],
            )
        )
        self._record(entries)
        log.info(
            "decision_recorded",
            referral_id=referral["referral_id"],
            outcome=record["outcome"],
            recipients=len(record["recipients"]),
            before_package=record["before_package"],
        )
        return outputs
