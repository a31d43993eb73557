"""What CLI commands share: the principal's connection, keys and topology, and error mapping."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from hub.broker.errors import BrokerError
from hub.keys import KeyRing, KeysUnavailable
from hub.keys.local import local_key_store
from hub.local import client_settings
from hub.paths import mash_home
from hub.policy.model import PolicyError
from hub.settings import KafkaSettings
from hub.sources.base import SourceUnavailable
from hub.topology import Topology, TopologyError

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Principal:
    """A CLI user's identity towards the broker."""

    name: str
    home: Path
    kafka: KafkaSettings
    ring: KeyRing
    topology: Topology


def principal(name: str) -> Principal:
    """Connection, keys and topology for ``name`` (local broker unless MASH_KAFKA_* is set)."""
    home = mash_home()
    return Principal(
        name,
        home,
        client_settings(name, home),
        KeyRing.load(local_key_store(home), name),
        Topology.load(namespace=os.environ.get("MASH_NAMESPACE", "")),
    )


def friendly_errors(fn: F) -> F:
    """Turn the project's typed start-up errors into one clear line and exit code 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (
            BrokerError,
            KeysUnavailable,
            PolicyError,
            SourceUnavailable,
            TopologyError,
            FileNotFoundError,
        ) as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc

    return wrapper  # type: ignore[return-value]
