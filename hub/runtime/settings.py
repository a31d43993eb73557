"""Settings every service shares (env prefix MASH_, or a YAML file); secrets stay masked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.paths import mash_home
from hub.settings import KafkaSettings
from hub.statedb import PostgresState, StateWhere, schema_for


class ServiceSettings(BaseSettings):
    """Common service settings; each service subclasses this with its own fields."""

    model_config = SettingsConfigDict(env_prefix="MASH_", extra="ignore", frozen=True)

    home: Path = Field(default_factory=mash_home, description="run folder: state, keys, logs")
    namespace: str = Field(default="", description="topic/group prefix (one per authority)")
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port")
    log_level: str = "INFO"
    poll_timeout_ms: int = Field(default=500, ge=10)
    max_batch: int = Field(default=200, ge=1)
    flush_ms: int = Field(
        default=200, ge=0, description="send a batch's outputs at least this often (latency cap)"
    )
    urgent_run_ms: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="a run of Level 3 notifications in the lane goes together for at most this "
        "long (0: each alone, at once)",
    )
    fetch_wait_ms: int = Field(
        default=500,
        ge=1,
        le=500,
        description="longest a fetch waits at the broker for data: a partition that becomes "
        "fetchable meanwhile (e.g. where a Level 3 referral just landed) waits for it; the "
        "firewall's default is 50",
    )
    shutdown_timeout_s: float = Field(default=15.0, gt=0)
    keys_refresh_s: float = Field(
        default=30.0,
        gt=0,
        description="how often the key folder is read for a rotation or revocation (a message "
        "naming an unknown key also triggers a read)",
    )
    liveness_stall_s: float = Field(
        default=60.0, gt=0, description="no successful poll for this long: not live"
    )
    kafka: KafkaSettings | None = Field(default=None, description="None: the local broker")
    state_url: str | None = Field(
        default=None,
        pattern=r"^postgres(ql)?://",
        description="postgresql://... : the service's state (cases, replay protection) in a "
        "schema of its own there, shared by its instances on every host; None: SQLite files in "
        "the state folder (one host)",
    )
    nice: int = Field(
        default=0,
        ge=0,
        le=19,
        description="lower CPU priority on a shared host (bulk stages: adapters, collator)",
    )
    profile: Path | None = Field(
        default=None, description="a folder: write a cProfile of the whole run there at exit"
    )

    @classmethod
    def from_file(cls, path: Path, **overrides: Any) -> ServiceSettings:
        """Settings from a YAML file, with environment variables still taking precedence."""
        data = yaml.safe_load(path.read_text()) or {}
        return cls(**{**data, **overrides})

    def state_store(self, service: str, filename: str) -> StateWhere:
        """Where one of this service's stores lives: its schema in PostgreSQL when state_url
        is set, else ``filename`` in its state folder."""
        folder = f"{self.namespace}.{service}" if self.namespace else service
        if self.state_url:
            return PostgresState(self.state_url, schema_for(folder))
        return self.state_dir(service) / filename

    def state_dir(self, service: str) -> Path:
        """Where this service keeps its databases."""
        folder = (
            self.home / "state" / (f"{self.namespace}.{service}" if self.namespace else service)
        )
        folder.mkdir(parents=True, exist_ok=True)
        return folder
