"""`mash serve ...`: run one service in the foreground (as systemd, compose or `mash up` do)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from hub.cli.common import friendly_errors
from hub.logs import configure_logging
from hub.runtime.settings import ServiceSettings
from hub.services import AdapterSettings, CollatorSettings, FirewallSettings, build


def _run(kind: str, agency: str | None, settings: ServiceSettings) -> None:
    configure_logging((agency and f"adapter-{agency}") or kind, settings.log_level)
    built = build(kind, agency, settings)
    asyncio.run(built.runner.run())


@click.group()
def serve() -> None:
    """Run a MASH service: settings from MASH_* environment variables and an optional YAML file;
    health on /healthz, readiness on /readyz, Prometheus metrics on /metrics."""


@serve.command()
@click.option(
    "--config",
    type=click.Path(exists=True, path_type=Path),
    help="YAML settings file (environment variables take precedence).",
)
@friendly_errors
def firewall(config: Path | None) -> None:
    """The firewall: requests, policy, disclosure log, notifications, checkpoints."""
    settings = FirewallSettings.from_file(config) if config else FirewallSettings()
    _run("firewall", None, settings)


@serve.command()
@click.option(
    "--config",
    type=click.Path(exists=True, path_type=Path),
    help="YAML settings file (environment variables take precedence).",
)
@friendly_errors
def collator(config: Path | None) -> None:
    """The collator: deadlines, chasers, packages and addenda."""
    settings = CollatorSettings.from_file(config) if config else CollatorSettings()
    _run("collator", None, settings)


@serve.command()
@click.argument("agency", type=click.Choice(["police", "health", "education", "housing"]))
@click.option(
    "--config",
    type=click.Path(exists=True, path_type=Path),
    help="YAML settings file (environment variables take precedence).",
)
@friendly_errors
def adapter(agency: str, config: Path | None) -> None:
    """One agency's adapter: answers information requests from its records."""
    settings = AdapterSettings.from_file(config) if config else AdapterSettings()
    _run("adapter", agency, settings)
