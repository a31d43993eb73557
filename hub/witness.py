"""The firewall's signed checkpoints as witnessed outside its database: every note on
mash.audit, read as the auditor and each opened as at the time the broker logged it (old ones
past their time to live still count), for `mash audit verify --from-kafka`."""

from __future__ import annotations

from hub.envelope.archive import ArchiveOpener, logged_at
from hub.errors import MessageRejected
from hub.keys.ring import KeyRing
from hub.settings import KafkaSettings
from hub.transport.kafka import read_to_end


class WitnessUnreadable(Exception):
    """A checkpoint on the audit topic does not open: the check cannot vouch for the log."""


async def witnessed_notes(kafka: KafkaSettings, ring: KeyRing, topic: str) -> list[str]:
    """The checkpoint notes on ``topic`` in order (LookupError if it cannot be read;
    WitnessUnreadable naming the position of one that does not open)."""
    opener = ArchiveOpener(ring)
    notes: list[str] = []
    for m in await read_to_end(kafka, topic):
        try:
            opened = opener.open(
                m.value, topic=topic, at=logged_at(m.timestamp_ms), expect={"mash.Checkpoint"}
            )
        except MessageRejected as exc:
            raise WitnessUnreadable(
                f"checkpoint at {topic}[{m.partition}]@{m.offset} does not open: {exc}"
            ) from exc
        notes.append(str(opened.record["note"]))
    return notes
