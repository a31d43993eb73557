"""The front door: validates a referral and publishes it, sealed to the firewall."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from hub.codec import Codec, fill_defaults
from hub.envelope import Sealer
from hub.errors import MessageRejected
from hub.keys import KeyRing
from hub.referrals import problems
from hub.topology import Topology
from hub.transport.base import Publisher


class ReferralInvalid(ValueError):
    """The referral file is not a valid referral; the message names each bad field."""


def _dates(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _dates(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates(v, key) for v in value]
    if isinstance(value, str) and key in ("received_at", "recorded_at", "at"):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if isinstance(value, str) and key == "date_of_birth":
        return date.fromisoformat(value)
    return value


def load_referral(path: Path) -> dict[str, Any]:
    """Read a JSON or YAML referral, fill id and received time, and validate it fully."""
    try:
        raw = (
            yaml.safe_load(path.read_text())
            if path.suffix in (".yaml", ".yml")
            else json.loads(path.read_text())
        )
    except (OSError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ReferralInvalid(f"{path}: cannot read: {exc}") from exc
    return prepare(raw)


def prepare(raw: dict[str, Any]) -> dict[str, Any]:
    """Normalise a referral dict and check it against the schema and the business rules."""
    referral: dict[str, Any] = _dates(dict(raw))
    referral.setdefault("referral_id", str(uuid.uuid4()))
    referral.setdefault("received_at", datetime.now(UTC))
    codec = Codec()
    referral = fill_defaults(codec.registry.current("mash.Referral").full, referral)
    found = problems(referral)
    if found:
        raise ReferralInvalid("; ".join(found))
    try:
        codec.encode("mash.Referral", referral)
    except MessageRejected as exc:
        raise ReferralInvalid(exc.detail) from exc
    return referral


async def publish_referral(
    referral: dict[str, Any],
    ring: KeyRing,
    topology: Topology,
    publisher: Publisher,
    schema_name: str = "mash.Referral",
) -> str:
    """Seal to the firewall and publish on mash.referrals; returns the referral id."""
    topic = topology.topic("mash.referrals")
    sealed, _ = Sealer(ring).seal(
        topic=topic,
        schema_name=schema_name,
        record=referral,
        recipients=["firewall"],
        correlation_id=referral["referral_id"],
    )
    await publisher.publish(topic, sealed, key=referral["referral_id"].encode())
    return str(referral["referral_id"])
