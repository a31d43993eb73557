"""Builds each service (firewall, collator, adapters) from settings: keys, stores, handler,
runner. Services refuse to start with a clear error when keys, policy or sources are unusable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from adapters import profile
from hub.adapter import AdapterHandler
from hub.adapter_state import AdapterState
from hub.collator.handler import CollatorHandler
from hub.collator.state import CollatorState
from hub.disclosure_log import DisclosureLog
from hub.firewall.handler import FirewallHandler
from hub.firewall.state import FirewallState
from hub.keys import KeyRing, KeyStore
from hub.keys.highest import HighestSerial
from hub.keys.local import local_key_store
from hub.keys.refresh import KeyRefresher
from hub.local import client_settings
from hub.policy.model import load_policy
from hub.runtime.service import Handler, ServiceRunner
from hub.runtime.settings import ServiceSettings
from hub.secrets import SecretStore
from hub.sources.sqlite import SqliteSource
from hub.timescales import Timescales
from hub.topology import Topology


class FirewallSettings(ServiceSettings):
    """Firewall settings (MASH_ env): policy file, checkpoint cadence, timescales."""

    policy_file: Path | None = None
    log_url: str | None = None  # postgresql://... ; None: SQLite in the state folder
    checkpoint_every: int = 100
    checkpoint_interval_s: float = 10.0
    link_window_hours: float = 72.0
    timescales: Timescales = Timescales()
    # The priority lane's service polls briefly: a long poll holds back the partition where a
    # Level 3 referral just landed behind a batch (the other services keep aiokafka's 500 ms,
    # which costs the broker less when idle).
    fetch_wait_ms: int = Field(default=50, ge=1, le=500)


class CollatorSettings(ServiceSettings):
    """Collator settings (MASH_ env): the timescales it runs to."""

    timescales: Timescales = Timescales()


class AdapterSettings(ServiceSettings):
    """Adapter settings (MASH_ env): where the agency's records are."""

    source_path: Path | None = None
    concern_poll_s: float = 2.0


@dataclass
class Built:
    """A runnable service and the handler inside it."""

    runner: ServiceRunner
    handler: Handler


def _principal(kind: str, agency: str | None) -> str:
    return agency.lower() if kind == "adapter" and agency else kind


def build(
    kind: str,
    agency: str | None = None,
    settings: ServiceSettings | None = None,
    key_store: KeyStore | None = None,
) -> Built:
    """The service ``kind`` (firewall, collator, adapter) ready to run()."""
    principal = _principal(kind, agency)
    if kind == "firewall":
        settings = settings or FirewallSettings()
    elif kind == "collator":
        settings = settings or CollatorSettings()
    elif kind == "adapter":
        if agency is None:
            raise ValueError("an adapter needs its agency")
        settings = settings or AdapterSettings()
    else:
        raise ValueError(f"unknown service {kind!r}")
    if settings.kafka is None:
        settings = settings.model_copy(update={"kafka": client_settings(principal, settings.home)})
    store = key_store or local_key_store(settings.home)
    ring = KeyRing.load(store, principal)
    state_name = f"adapter-{agency.lower()}" if kind == "adapter" and agency else kind
    highest = HighestSerial(settings.state_dir(state_name) / "key-directory-serial")
    highest.admit(ring.directory)  # an older directory than one used here: refused
    topology = Topology.load(namespace=settings.namespace)
    handler: Handler
    if isinstance(settings, FirewallSettings):
        from datetime import timedelta

        policy = load_policy(settings.policy_file)
        key = SecretStore(settings.home / "secrets").get_or_create("log-pseudonym-key")
        handler = FirewallHandler(
            policy=policy,
            state=FirewallState(settings.state_store("firewall", "referrals.db")),
            log_store=DisclosureLog(
                settings.log_url or settings.state_dir("firewall") / "disclosure-log.db"
            ),
            ring=ring,
            pseudonym_key=key.get_secret_value().encode(),
            timescales=settings.timescales,
            checkpoint_every=settings.checkpoint_every,
            checkpoint_interval=timedelta(seconds=settings.checkpoint_interval_s),
            link_window=timedelta(hours=settings.link_window_hours),
        )
    elif isinstance(settings, CollatorSettings):
        handler = CollatorHandler(
            CollatorState(settings.state_store("collator", "cases.db")), settings.timescales
        )
    else:
        assert isinstance(settings, AdapterSettings) and agency is not None
        path = settings.source_path or settings.home / "sources" / f"{agency.lower()}.db"
        handler = AdapterHandler(
            profile(agency),
            SqliteSource(path),
            AdapterState(settings.state_store(f"adapter-{agency.lower()}", "adapter.db")),
            settings.concern_poll_s,
        )
    keys = KeyRefresher(store, ring, highest=highest)
    runner = ServiceRunner(settings, handler, ring, topology, keys=keys)
    return Built(runner, handler)
