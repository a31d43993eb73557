"""`mash serve ...`: run one service in the foreground (as systemd, compose or `mash up` do)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import click

from hub.cli.common import friendly_errors
from hub.logs import configure_logging
from hub.runtime.settings import ServiceSettings
from hub.services import AdapterSettings, CollatorSettings, FirewallSettings, build


def _run(kind: str, agency: str | None, settings: ServiceSettings) -> None:
    name = (agency and f"adapter-{agency}") or kind
    configure_logging(name, settings.log_level)
    if settings.nice:
        import os

        os.nice(settings.nice)  # the firewall's Level 3 lane keeps the CPU it needs
    built = build(kind, agency, settings)
    if settings.profile is None:
        asyncio.run(built.runner.run())
        return
    import cProfile
    import os

    settings.profile.mkdir(parents=True, exist_ok=True)
    with cProfile.Profile() as profiler:  # MASH_PROFILE: where the CPU goes, as a service
        asyncio.run(built.runner.run())
    profiler.dump_stats(settings.profile / f"{name}-{os.getpid()}.prof")


config_option = click.option(
    "--config",
    type=click.Path(exists=True, path_type=Path),
    help="YAML settings file (environment variables take precedence).",
)


@click.group()
def serve() -> None:
    """Run a MASH service: settings from MASH_* environment variables and an optional YAML file;
    health on /healthz, readiness on /readyz, Prometheus metrics on /metrics."""


@serve.command()
@config_option
@friendly_errors
def firewall(config: Path | None) -> None:
    """The firewall: requests, policy, disclosure log, notifications, checkpoints."""
    settings = FirewallSettings.from_file(config) if config else FirewallSettings()
    _run("firewall", None, settings)


@serve.command()
@config_option
@friendly_errors
def collator(config: Path | None) -> None:
    """The collator: deadlines, chasers, packages and addenda."""
    settings = CollatorSettings.from_file(config) if config else CollatorSettings()
    _run("collator", None, settings)


@serve.command()
@click.argument("agency", type=click.Choice(["police", "health", "education", "housing"]))
@config_option
@friendly_errors
def adapter(agency: str, config: Path | None) -> None:
    """One agency's adapter: answers information requests from its records."""
    settings = AdapterSettings.from_file(config) if config else AdapterSettings()
    _run("adapter", agency, settings)


def _serve_http(name: str, make_app: Any, host: str, port: int) -> None:
    """Run an HTTP service as principal ``name`` until SIGTERM/SIGINT."""
    from aiohttp import web

    from hub.cli.common import principal
    from hub.transport.kafka import KafkaPublisher

    configure_logging(name)
    me = principal(name)

    async def main() -> None:
        async with KafkaPublisher(me.kafka) as publisher:
            runner = web.AppRunner(make_app(me, publisher))
            await runner.setup()
            await web.TCPSite(runner, host, port).start()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            await runner.cleanup()

    asyncio.run(main())


@serve.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8090, show_default=True)
@friendly_errors
def intake(host: str, port: int) -> None:
    """The HTTP front door: POST /referrals (JSON, docs/referrals.md) and
    POST /referrals/{id}/relevel; publishes as the intake principal."""
    from hub.intake_http import intake_app

    _serve_http("intake", lambda me, pub: intake_app(me.ring, me.topology, pub), host, port)


@serve.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8091, show_default=True)
@friendly_errors
def dutymanager(host: str, port: int) -> None:
    """The duty manager's decisions over HTTP: POST /referrals/{id}/decision (JSON: outcome,
    reason, decided_by, team, lead_professional) and GET /referrals/{id}/decisions."""
    from hub.dutymanager import PRINCIPAL, Inbox
    from hub.dutymanager_http import dutymanager_app
    from hub.paths import mash_home

    inbox = Inbox(mash_home() / "state" / "dutymanager" / "inbox.db")
    _serve_http(
        PRINCIPAL,
        lambda me, pub: dutymanager_app(inbox, me.ring, me.kafka, me.topology, pub),
        host,
        port,
    )
