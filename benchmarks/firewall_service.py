"""The firewall as a service on the real broker, in this process: a backlog of referrals is
published, then one firewall runner (the same code `mash serve firewall` runs) handles it.
Reports referrals per second and per CPU-second against the crypto-only bound of the same
messages, measured before and after each round, and with --profile where the CPU goes
(cProfile on CPU time: waits for the broker or the disk are not counted).
Run: `python -m benchmarks.firewall_service`."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import write_results
from benchmarks.ledger import Ledger, watching
from benchmarks.pipeline import LEVEL_MIX, Run, _referral, _seal_referral, crypto_bound
from hub.envelope import Sealer
from hub.intake import prepare as prepare_referral
from hub.keys import KeyRing
from hub.keys.local import local_key_store
from hub.local import local_settings
from hub.services import FirewallSettings, build
from hub.sources.generate import referral_for_household
from hub.stack import prepare
from hub.topology import Topology
from hub.transport.kafka import KafkaPublisher

BOUND_REFERRALS = 600  # about two seconds of crypto per measurement of the bound


async def _backlog(run: Run, count: int) -> None:
    """``count`` referrals (a quarter at Level 3) sealed by intake and published at once."""
    sealer = Sealer(KeyRing.load(local_key_store(run.home), "intake"))
    topic = run.topology.topic("mash.referrals")
    referrals = [
        _referral(run.templates[i % len(run.templates)], LEVEL_MIX[i % 4]) for i in range(count)
    ]
    sealed = [(topic, _seal_referral(run, sealer, r), r["referral_id"].encode()) for r in referrals]
    async with KafkaPublisher(local_settings("intake", run.home)) as publisher:
        await publisher.publish_all(sealed)


async def _serve(
    run: Run, count: int, profiler: cProfile.Profile | None, ledger: Ledger | None = None
) -> dict[str, Any]:
    """Start the firewall on the backlog; time from its first handled referral to the last
    (with ``ledger``, also where that CPU went, per referral)."""
    built = build("firewall", settings=FirewallSettings(home=run.home, checkpoint_interval_s=1))
    runner = built.runner
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(600):
            while runner.processed < 1:  # noqa: ASYNC110 - a counter, polled finely
                await asyncio.sleep(0.001)
            wall, cpu = time.perf_counter(), time.process_time()
            if ledger is not None:
                ledger.reset()
            if profiler is not None:
                profiler.enable()
            while runner.processed < count:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            if profiler is not None:
                profiler.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        runner.request_stop()
        await task
    handled = count - 1  # the first one started the clocks
    figures: dict[str, Any] = {
        "referrals_per_s": handled / wall,
        "referrals_per_cpu_s": handled / cpu,
        "cpu_ms_per_referral": 1000 * cpu / handled,
    }
    if ledger is not None:
        figures["cpu_per_referral"] = ledger.per(handled, cpu)
    return figures


def breakdown_targets() -> list[tuple[Any, str, str]]:
    """The firewall's steps for --breakdown: the crypto the bound counts (open_bytes,
    seal_bytes), then the rest: Avro, the firewall's logic, its state, the disclosure log,
    the replay store and the runner's own sealing work."""
    from hub import codec, replay
    from hub.disclosure_log import store
    from hub.envelope import opener, sealer
    from hub.firewall import handler, state
    from hub.runtime import service

    return [
        (opener.Opener, "open_bytes", "crypto: open (verify, decrypt, framing)"),
        (sealer.Sealer, "seal_bytes", "crypto: seal (encrypt, sign, framing)"),
        (codec.Codec, "encode", "Avro encode"),
        (codec.Codec, "decode", "Avro decode"),
        (opener.Opener, "open", "open: the rest"),
        (sealer.Sealer, "seal", "seal: the rest"),
        (handler.FirewallHandler, "on_referral", "firewall logic (policy, entries)"),
        (state.FirewallState, "save", "state: save"),
        (state.FirewallState, "commit_group", "state: commit"),
        (store.DisclosureLog, "append", "disclosure log: append and commit"),
        (replay.SqliteSeenMessages, "seen", "replay store: check"),
        (replay.SqliteSeenMessages, "remember_many", "replay store: remember"),
        (service.ServiceRunner, "_seal", "runner: output ids, topics"),
    ]


def measure(referrals: int, rounds: int, profile: bool, breakdown: bool = False) -> dict[str, Any]:
    """Firewall-service rounds, each between two measurements of the crypto-only bound of the
    same messages (the machine's speed drifts within minutes): per-round ratios, and their
    median."""
    home = Path(tempfile.mkdtemp(prefix="mash-fw-service-"))
    os.environ["MASH_HOME"] = str(home)
    os.environ.setdefault("MASH_BROKER_PORT", "0")
    os.environ.setdefault("MASH_BROKER_CONTROLLER_PORT", "0")
    broker = prepare(home, 400)
    profiler = cProfile.Profile(time.process_time) if profile else None
    ledger = Ledger() if breakdown else None
    try:
        templates = [
            prepare_referral(referral_for_household(home / "sources", "LEVEL_2", seed=i))
            for i in range(40)
        ]
        random.Random(1).shuffle(templates)
        run = Run(home, Topology.load(), templates)
        bounds, services = [crypto_bound(run, BOUND_REFERRALS)], []
        for _ in range(rounds):
            asyncio.run(_backlog(run, referrals))
            if ledger is None:
                services.append(asyncio.run(_serve(run, referrals, profiler)))
            else:
                with watching(ledger, breakdown_targets()):
                    services.append(asyncio.run(_serve(run, referrals, profiler, ledger)))
            bounds.append(crypto_bound(run, BOUND_REFERRALS))
    finally:
        broker.stop()
    per_round = []
    for i, service in enumerate(services):
        around = bounds[i : i + 2]
        crypto = statistics.fmean(b["referrals_per_cpu_s"] for b in around)
        with_avro = statistics.fmean(b["with_avro_per_cpu_s"] for b in around)
        per_round.append(
            {
                **service,
                "crypto_only_per_cpu_s": crypto,
                "crypto_and_avro_per_cpu_s": with_avro,
                "ratio_to_crypto_bound": service["referrals_per_cpu_s"] / crypto,
                "ratio_to_bound_with_avro": service["referrals_per_cpu_s"] / with_avro,
            }
        )
    figures: dict[str, Any] = {
        "referrals_per_round": referrals,
        "rounds": per_round,
        **{
            f"median_{key}": statistics.median(r[key] for r in per_round)
            for key, value in per_round[0].items()
            if isinstance(value, float)
        },
    }
    if breakdown:
        labels = per_round[0]["cpu_per_referral"]
        figures["median_cpu_ms_per_referral_by_step"] = {
            label: statistics.median(r["cpu_per_referral"][label]["ms"] for r in per_round)
            for label in labels
        }
    if profiler is not None:
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text).strip_dirs().sort_stats("tottime")
        stats.dump_stats(home / "firewall-service.prof")  # for pstats / snakeviz
        stats.print_stats(30)
        figures["profile_top_by_own_cpu"] = [
            " ".join(line.split())
            for line in text.getvalue().splitlines()
            if line.strip()[:1].isdigit() and ("(" in line or "{" in line)
        ][:30]
        figures["profile_file"] = str(home / "firewall-service.prof")
    return figures


def main() -> None:
    """Measure and write benchmarks/results/firewall-service.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--referrals", type=int, default=1000, help="referrals per round")
    parser.add_argument("--rounds", type=int, default=3, help="service runs, each between bounds")
    parser.add_argument("--profile", action="store_true", help="add a CPU-time cProfile")
    parser.add_argument(
        "--breakdown", action="store_true", help="itemise the firewall's CPU per referral"
    )
    parser.add_argument("--name", default="firewall-service", help="results file name")
    args = parser.parse_args()
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    figures = measure(args.referrals, args.rounds, args.profile, args.breakdown)
    print(write_results(args.name, figures))
    for key, value in figures.items():
        if key == "rounds":
            print(key)
            for line in value:
                print("   ", {k: v for k, v in line.items() if not isinstance(v, dict)})
        elif isinstance(value, list):
            print(key)
            for line in value:
                print("   ", line)
        elif isinstance(value, dict):
            print(key)
            for label, ms in value.items():
                print(f"    {ms:7.3f}  {label}")
        else:
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
