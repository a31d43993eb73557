"""The stores that hold a referral's personal information on this host — the firewall's and
the collator's state (SQLite or PostgreSQL, as the services are configured) and the inboxes of
the duty manager, the front door and the recipient teams — opened together so that IG can judge
retention from them and erase a referral from all of them."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from hub.collator.state import CollatorState
from hub.dutymanager import Inbox
from hub.firewall.state import FirewallState
from hub.runtime.settings import ServiceSettings
from hub.statedb import StateWhere

CHILD_ROLES = ("CHILD", "SIBLING")


def child_dobs(referral: dict[str, Any]) -> list[date]:
    """Dates of birth of the children a referral names (those known)."""
    return [
        s["date_of_birth"]
        for s in referral.get("subjects", [])
        if s.get("role") in CHILD_ROLES and s.get("date_of_birth") is not None
    ]


def _existing(settings: ServiceSettings, service: str, filename: str) -> StateWhere | None:
    """The service's store if it exists here (never creates an empty one)."""
    if settings.state_url:
        return settings.state_store(service, filename)
    folder = f"{settings.namespace}.{service}" if settings.namespace else service
    path = settings.home / "state" / folder / filename
    return path if path.is_file() else None


@dataclass
class HubStores:
    """Every store on this host that may hold a referral's information."""

    firewall: FirewallState | None = None
    collator: CollatorState | None = None
    inboxes: dict[str, Inbox] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: ServiceSettings) -> HubStores:
        """Open the stores the services have made here (none is created)."""
        stores = cls()
        if where := _existing(settings, "firewall", "referrals.db"):
            stores.firewall = FirewallState(where)
        if where := _existing(settings, "collator", "cases.db"):
            stores.collator = CollatorState(where)
        state = settings.home / "state"
        inboxes: list[Path] = [
            state / "dutymanager" / "inbox.db",
            state / "intake" / "feedback.db",
            *sorted(state.glob("*/products-*.db")),
        ]
        for path in inboxes:
            if path.is_file():
                stores.inboxes[f"{path.parent.name}/{path.stem}"] = Inbox(path)
        return stores

    def referral(self, referral_id: str) -> dict[str, Any] | None:
        """The referral as the collator or the firewall holds it, or None (erased, or never
        here)."""
        if self.collator and (found := self.collator.case(referral_id)):
            return found[1]
        if self.firewall and (held := self.firewall.referral(referral_id)):
            return held[0]
        return None

    def is_open(self, referral_id: str) -> bool:
        """True while the collator still awaits the referral's package or chasers."""
        return bool(self.collator and self.collator.is_open(referral_id))

    def erase(self, referral_id: str) -> dict[str, int]:
        """Remove the referral from every store: rows removed per ``store.table`` (only
        those that held some)."""
        removed: dict[str, int] = {}
        parts: list[tuple[str, Any]] = [("firewall", self.firewall), ("collator", self.collator)]
        parts += list(self.inboxes.items())
        for name, store in parts:
            if store is None:
                continue
            for table, n in store.erase(referral_id).items():
                if n:
                    removed[f"{name}.{table}"] = n
        return removed

    def close(self) -> None:
        """Close every store."""
        for store in (self.firewall, self.collator, *self.inboxes.values()):
            if store is not None:
                with contextlib.suppress(Exception):
                    store.close()
