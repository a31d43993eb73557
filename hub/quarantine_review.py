"""Information governance's review of the quarantine: each rejected message with its reason,
the service that refused it and where it came from, and what its envelope claims (unverified:
it was refused) without ever decrypting what it carries. Pure: the CLI reads the topic."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.envelope.archive import ArchiveOpener, logged_at
from hub.envelope.format import EnvelopeCodec
from hub.errors import MessageRejected
from hub.transport.base import Consumed

SCHEMA = "mash.Quarantined"


@dataclass(frozen=True)
class Quarantined:
    """One quarantine record, opened, and where it sits on the quarantine topic. A review that
    does not need the refused bytes keeps only their description (``sealed_claims``) and drops
    the bytes (``record["sealed"]`` empty), so a topic kept for good fits in memory."""

    partition: int
    offset: int
    record: dict[str, Any]
    sealed_claims: dict[str, Any] | None = None

    @property
    def quarantine_id(self) -> str:
        """The record's id (what `show` takes)."""
        return str(self.record["quarantine_id"])


@dataclass(frozen=True)
class Unreadable:
    """A quarantine record the reviewer cannot open, and why (e.g. sealed to a key since
    removed): reported, never skipped in silence."""

    partition: int
    offset: int
    reason: str
    detail: str


def open_all(
    messages: Iterable[Consumed],
    opener: ArchiveOpener,
    keep_sealed: Callable[[dict[str, Any]], bool] = lambda record: True,
) -> tuple[list[Quarantined], list[Unreadable]]:
    """Open every record read from the quarantine topic, each as at its logging time, oldest
    first; the refused bytes are kept only for records ``keep_sealed`` chooses (the others
    keep their description)."""
    opened: list[Quarantined] = []
    unreadable: list[Unreadable] = []
    for m in messages:
        try:
            got = opener.open(m.value, topic=m.topic, at=logged_at(m.timestamp_ms), expect={SCHEMA})
        except MessageRejected as exc:
            unreadable.append(Unreadable(m.partition, m.offset, exc.reason.value, exc.detail))
            continue
        record = got.record
        if keep_sealed(record):
            opened.append(Quarantined(m.partition, m.offset, record))
        else:
            about = claims(record["sealed"], opener.envelopes)
            opened.append(Quarantined(m.partition, m.offset, {**record, "sealed": b""}, about))
    return ordered(opened), unreadable


def ordered(found: Iterable[Quarantined]) -> list[Quarantined]:
    """Records oldest first (by quarantine time, then place on the topic)."""
    return sorted(found, key=lambda q: (q.record["quarantined_at"], q.partition, q.offset))


def matching(
    found: Sequence[Quarantined],
    *,
    reason: str | None = None,
    service: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Quarantined]:
    """The records with this reason and service, quarantined in [since, until)."""
    return [
        q
        for q in found
        if (reason is None or q.record["reason"] == reason.upper())
        and (service is None or q.record["service"] == service.lower())
        and (since is None or q.record["quarantined_at"] >= since)
        and (until is None or q.record["quarantined_at"] < until)
    ]


def find(found: Sequence[Quarantined], wanted: str) -> Quarantined | None:
    """The record whose id is ``wanted`` or starts with it (None unless exactly one)."""
    hits = [q for q in found if q.quarantine_id.startswith(wanted)]
    return hits[0] if len(hits) == 1 else None


def line(q: Quarantined) -> str:
    """One line: when, which service, why, from where, and the record's id."""
    r = q.record
    return (
        f"{r['quarantined_at']:%Y-%m-%d %H:%M:%S} {r['service']:10} {r['reason']:24} "
        f"{r['source_topic']}[{r['partition']}]@{r['offset']}  {r['quarantine_id']}"
    )


def counts(found: Iterable[Quarantined]) -> Counter[tuple[str, str]]:
    """How many records per (service, reason)."""
    return Counter((q.record["service"], q.record["reason"]) for q in found)


def _key_text(key: bytes | None) -> str | None:
    if key is None:
        return None
    text = key.decode("ascii", "replace")
    return text if text.isprintable() and len(text) <= 80 else "0x" + key.hex()


def claims(sealed: bytes, envelopes: EnvelopeCodec) -> dict[str, Any]:
    """What the refused bytes are: size and SHA-256 always; the envelope header's claims
    (sender, key ids, schema, ids, times) when it parses. Unverified, and never the content:
    junk may be anything, so no byte of it is shown."""
    about: dict[str, Any] = {
        "bytes": len(sealed),
        "sha256": hashlib.sha256(sealed).hexdigest(),
    }
    try:
        header = envelopes.decode_header(envelopes.decode_sealed(sealed).header_bytes)
    except MessageRejected as exc:
        about["envelope"] = f"does not parse ({exc.detail})"
        return about
    about["envelope_claims"] = {
        "sender": header.sender,
        "sender_key_id": header.sender_key_id,
        "recipient_key_ids": list(header.recipient_key_ids),
        "schema_name": header.schema_name,
        "message_id": header.message_id,
        "correlation_id": header.correlation_id,
        "topic": header.topic,
        "created_at": header.created_at.isoformat(),
        "expires_at": header.expires_at.isoformat(),
    }
    return about


def details(q: Quarantined, envelopes: EnvelopeCodec) -> dict[str, Any]:
    """The full record for `show`, the sealed bytes described rather than dumped."""
    r = q.record
    return {
        "quarantine_id": r["quarantine_id"],
        "quarantined_at": r["quarantined_at"].isoformat(),
        "service": r["service"],
        "reason": r["reason"],
        "detail": r["detail"],
        "source": {"topic": r["source_topic"], "partition": r["partition"], "offset": r["offset"]},
        "key": _key_text(r["key"]),
        "quarantine_position": {"partition": q.partition, "offset": q.offset},
        "sealed": q.sealed_claims or claims(r["sealed"], envelopes),
    }
