"""Correction notices (UK GDPR Art 19): when information governance corrects a disclosure, each
principal that received it is told, sealed to it alone on its own ``mash.corrections.<reader>``
topic. Pure functions build the notice; ``send_notices`` seals and publishes it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from hub.envelope import Sealer
from hub.ids import name_id
from hub.topology import Topology
from hub.transport.base import Publisher

NOTICE_IDS = uuid.UUID("7d0c9a52-3b8e-4f55-9c1e-6a4f2b1d8e30")
# The collator only assembles what was disclosed to it into packages: the duty manager, who
# reads the packages, is who must be told.
RELAYED = {"collator": "dutymanager"}
ACTIONS = {
    "WRONG_PERSON": "Do not use this item: it is about another person. Remove it from the "
    "case record and tell whoever you passed it on to.",
    "INACCURATE": "Do not rely on this item as disclosed: check it with the agency before any "
    "decision, and correct the case record.",
    "INCOMPLETE": "This item was incomplete: ask the agency for the full record before relying "
    "on it.",
    "OUT_OF_DATE": "This item was out of date: check the current position with the agency "
    "before relying on it.",
}


def readers(recipients: Sequence[str], principals: Mapping[str, str] | None = None) -> list[str]:
    """Who must be told about a disclosure to ``recipients``, once each, in order.
    ``principals``: the policy's recipients of products (``social-care-assessment``,
    ``police-strategy``) and the principal that reads each (``dutymanager``, ``police``)."""
    names = {**RELAYED, **(principals or {})}
    return list(dict.fromkeys(names.get(r, r) for r in recipients))


def notice_topic(reader: str) -> str:
    """The logical topic a reader's correction notices arrive on."""
    return f"mash.corrections.{reader}"


def correction_notice(entry: Mapping[str, Any], disclosed_at: datetime) -> dict[str, Any]:
    """The mash.Correction record for a ``correct`` log entry (``disclosed_at``: when the
    corrected disclosure was made)."""
    kind = str(entry["correction"]).upper().replace("-", "_")
    return {
        "correction_id": entry["entry_id"],
        "referral_id": entry["correlation_id"],
        "corrects_entry_id": entry["corrects"],
        "kind": kind,
        "reason": entry["reason"],
        "agency": entry.get("agency"),
        "data_category": entry.get("data_category"),
        "record_id": entry.get("record_id"),
        "disclosed_at": disclosed_at,
        "decided_at": datetime.fromisoformat(entry["at"]),
        "personal_data_breach": bool(entry.get("personal_data_breach")),
        "action": ACTIONS[kind],
    }


def notice_id(correction_id: str, reader: str) -> str:
    """The notice's message id: the same correction sent again is the same message."""
    return name_id(NOTICE_IDS, f"{correction_id}:{reader}")


async def send_notices(
    notice: Mapping[str, Any],
    recipients: Sequence[str],
    sealer: Sealer,
    topology: Topology,
    publisher: Publisher,
    principals: Mapping[str, str] | None = None,
) -> tuple[list[str], list[str]]:
    """Seal ``notice`` to each reader of ``recipients`` (see ``readers``) on its topic and wait
    for the broker: (readers told, readers with no correction topic, to be told another way)."""
    told, untold = [], []
    for reader in readers(recipients, principals):
        try:
            topic = topology.topic(notice_topic(reader))
        except KeyError:
            untold.append(reader)
            continue
        sealed, _ = sealer.seal(
            topic=topic,
            schema_name="mash.Correction",
            record=dict(notice),
            recipients=[reader],
            correlation_id=notice["referral_id"],
            message_id=notice_id(notice["correction_id"], reader),
        )
        await publisher.publish(topic, sealed, key=str(notice["referral_id"]).encode())
        told.append(reader)
    return told, untold
