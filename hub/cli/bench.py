"""`mash bench`: the whole pipeline on a real broker against the limits of this machine."""

from __future__ import annotations

from pathlib import Path

import click

from hub.cli.common import friendly_errors


@click.command()
@click.option("--people", type=int, default=100_000, show_default=True, help="Synthetic people.")
@click.option(
    "--rate",
    "rates",
    type=float,
    multiple=True,
    default=(20.0, 50.0),
    show_default=True,
    help="Open loop referrals/s (repeat for several).",
)
@click.option("--seconds", type=float, default=30.0, show_default=True, help="Open loop length.")
@click.option(
    "--burst", type=int, default=400, show_default=True, help="Referrals per firewall burst."
)
@click.option(
    "--home",
    type=click.Path(path_type=Path),
    help="Run folder for the benchmark's own broker and state (default: a new temp folder).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("benchmarks/results"),
    show_default=True,
    help="Where pipeline.json, pipeline.csv and pipeline.png go.",
)
@click.option(
    "--profile",
    is_flag=True,
    help="Profile every service (cProfile) and write pipeline-profile.txt beside the results.",
)
@click.option(
    "--bulk-nice",
    type=click.IntRange(0, 19),
    default=0,
    show_default=True,
    help="Run adapters and collator at this lower CPU priority (MASH_NICE), as on a shared host.",
)
@friendly_errors
def bench(
    people: int,
    rates: tuple[float, ...],
    seconds: float,
    burst: int,
    home: Path | None,
    out: Path,
    profile: bool,
    bulk_nice: int,
) -> None:
    """Drive intake -> firewall -> four adapters -> firewall -> collator -> package on a broker
    the project starts (its own, on free ports), with the crypto-only bound and a raw Kafka
    pass-through measured in the same run; the firewall with 1 and 2 instances; Level 3
    notification latency and time to package at each RATE (referrals/s); CPU and peak memory per
    service. Writes the results file (JSON, CSV) and a plot (PNG)."""
    from benchmarks.pipeline import Options
    from benchmarks.pipeline import bench as run_bench

    options = Options(people, rates, seconds, burst, home, out, click.echo, profile, bulk_nice)
    paths = run_bench(options)
    for path in paths:
        click.echo(f"      {path}")
