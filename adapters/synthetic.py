"""Helpers the agencies' synthetic record generators share (dates, ids)."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta


def rid(rng: random.Random) -> str:
    """A random record id."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def day(rng: random.Random, years: float = 4.0, today: date = date(2026, 11, 1)) -> date:
    """A date in the last ``years`` years."""
    return today - timedelta(days=rng.randint(1, max(2, int(365 * years))))


def base(rng: random.Random, narrative: str | None = None, years: float = 4.0) -> dict[str, object]:
    """Fields every record has."""
    out: dict[str, object] = {"record_id": rid(rng), "recorded_on": day(rng, years)}
    if narrative is not None:
        out["narrative"] = narrative
    return out
