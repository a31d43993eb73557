"""The `mash` command line: one entry point for operators, services and information governance."""

from __future__ import annotations

import click

from hub import __version__
from hub.cli.audit import audit
from hub.cli.bench import bench
from hub.cli.broker import broker
from hub.cli.decisions import decide, feedback, queue
from hub.cli.demo import demo
from hub.cli.governance import correct, erase, retention
from hub.cli.keys import keys
from hub.cli.packages import notifications, packages
from hub.cli.provision import provision
from hub.cli.referrals import refer, referrals, triage
from hub.cli.schemas import schemas
from hub.cli.serve import serve
from hub.cli.sources import sources
from hub.cli.stack import down, status, up


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mash")
def cli() -> None:
    """MASH Exchange: secure, proportionate information sharing for a Multi-Agency Safeguarding Hub.

    State lives in the run folder (MASH_HOME, default ./.mash in a checkout); the Kafka jars in
    the cache (MASH_CACHE_DIR, default ./.cache).
    """


for command in (correct, retention, erase):
    audit.add_command(command)
cli.add_command(broker)
cli.add_command(provision)
cli.add_command(keys)
cli.add_command(schemas)
for command in (
    serve,
    sources,
    refer,
    triage,
    referrals,
    packages,
    notifications,
    decide,
    queue,
    feedback,
    audit,
    up,
    down,
    status,
    demo,
    bench,
):
    cli.add_command(command)


def main(args: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli(args=args, prog_name="mash")
