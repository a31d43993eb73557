"""Render released record fields as text for the package (dates ISO, addresses on one line)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any


def render(value: Any) -> str | None:
    """Text for one field value; None for an empty value (nothing to show)."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        parts = [*value.get("lines", []), value.get("town", ""), value.get("postcode", "")]
        return ", ".join(p for p in parts if p) or None
    if isinstance(value, list):
        return "; ".join(t for t in (render(v) for v in value) if t) or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return str(value)
