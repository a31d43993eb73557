"""The firewall as a service on the real broker, in this process: one firewall runner (the
same code `mash serve firewall` runs) handles referrals that another process publishes once the
runner is warm, so that every measured referral is opened inside the measured window: all at
once (a backlog, the firewall's capacity) or with --rate at a steady rate (each referral
arrives alone, as at the Level 3 target's 50/s).
Reports referrals per second and per CPU-second against the crypto-only bound of the same
messages, measured before and after each round, and with --profile where the CPU goes
(cProfile on CPU time: waits for the broker or the disk are not counted).
The state and the log are SQLite files unless MASH_STATE_URL / MASH_LOG_URL name PostgreSQL.
Run: `python -m benchmarks.firewall_service [--rate 50]`."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import multiprocessing
import os
import pstats
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.common import HOUSEHOLDS, household_referrals, write_results
from benchmarks.ledger import Ledger, watching
from benchmarks.pipeline import LEVEL_MIX, Run, _referral, _seal_referral, crypto_bound
from hub.envelope import Sealer
from hub.keys import KeyRing
from hub.keys.local import local_key_store
from hub.local import local_settings
from hub.services import FirewallSettings, build
from hub.stack import prepare
from hub.topology import Topology
from hub.transport.kafka import KafkaPublisher

BOUND_REFERRALS = 600  # about two seconds of crypto per measurement of the bound


Message = tuple[str, bytes, bytes]


def _backlog(run: Run, count: int) -> list[Message]:
    """``count`` referrals (a quarter at Level 3) sealed by intake, ready to publish."""
    sealer = Sealer(KeyRing.load(local_key_store(run.home), "intake"))
    topic = run.topology.topic("mash.referrals")
    referrals = [
        _referral(run.templates[i % len(run.templates)], LEVEL_MIX[i % 4]) for i in range(count)
    ]
    return [(topic, _seal_referral(run, sealer, r), r["referral_id"].encode()) for r in referrals]


async def _publish(home: Path, messages: list[Message]) -> None:
    """Publish ``messages`` as intake and wait for every acknowledgement."""
    async with KafkaPublisher(local_settings("intake", home)) as publisher:
        await publisher.publish_all(messages)


class Windows:
    """CPU per referral over successive windows of a run (a soak: does the cost drift?)."""

    def __init__(self, processed: int, cpu_s: float) -> None:
        self._last = (processed, cpu_s)
        self.figures: list[dict[str, float]] = []

    def sample(self, processed: int, cpu_s: float) -> None:
        """Close a window at ``processed`` referrals and ``cpu_s`` process CPU-seconds (a
        window in which nothing was processed is skipped)."""
        done, spent = processed - self._last[0], cpu_s - self._last[1]
        if done > 0:
            self.figures.append(
                {"processed": float(processed), "cpu_ms_per_referral": 1000 * spent / done}
            )
            self._last = (processed, cpu_s)


async def publish_paced(
    send: Callable[[list[Message]], Awaitable[None]],
    messages: list[Message],
    rate: float,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Send message i alone at ``i / rate`` seconds from the start, never early; a send that
    ran late is caught up at once (the rate over the whole run is kept)."""
    start = clock()
    for i, message in enumerate(messages):
        delay = start + i / rate - clock()
        if delay > 0:
            await sleep(delay)
        await send([message])


def _publisher_process(
    home: Path, messages: list[Message], ready: Any, go: Any, rate: float | None = None
) -> None:
    """In a process of its own (so its CPU is not the firewall's): connect, say ready, wait
    for the go, publish (all at once, or ``rate`` a second)."""

    async def publish() -> None:
        async with KafkaPublisher(local_settings("intake", home)) as publisher:
            ready.set()
            await asyncio.to_thread(go.wait)
            if rate is None:
                await publisher.publish_all(messages)
            else:
                await publish_paced(publisher.publish_all, messages, rate)

    asyncio.run(publish())


async def _serve(
    run: Run,
    messages: list[Message],
    profiler: cProfile.Profile | None,
    ledger: Ledger | None = None,
    rate: float | None = None,
    window_s: float | None = None,
) -> dict[str, Any]:
    """Start the firewall, let it handle the first message (start-up and warm-up are not
    counted), then start the clocks and have another process publish the rest (at once, or
    ``rate`` a second): every one of them is opened, handled and sealed inside the measured
    window. CPU is this process's (the firewall's alone, idle wake-ups between paced
    referrals included); wall time runs from the first measured referral handled. With
    ``window_s``, also the CPU per referral of each window of that many seconds."""
    first, rest = messages[:1], messages[1:]
    context = multiprocessing.get_context("spawn")
    ready, go = context.Event(), context.Event()
    publisher = context.Process(target=_publisher_process, args=(run.home, rest, ready, go, rate))
    publisher.start()
    await _publish(run.home, first)
    built = build("firewall", settings=FirewallSettings(home=run.home, checkpoint_interval_s=1))
    runner = built.runner
    task = asyncio.create_task(runner.run())
    count = len(rest)
    limit_s = 600.0 if rate is None else max(600.0, 2 * count / rate + 120)
    windows = None
    try:
        async with asyncio.timeout(limit_s):
            while runner.processed < 1 or not ready.is_set():  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            cpu = time.process_time()
            if ledger is not None:
                ledger.reset()
            if profiler is not None:
                profiler.enable()
            go.set()
            while runner.processed < 2:  # noqa: ASYNC110 - a counter, polled finely
                await asyncio.sleep(0.001)
            wall = time.perf_counter()
            # Polling costs this process CPU: finely for a backlog (the wall time is the
            # figure), coarsely when paced (the wall time is the rate's).
            poll_s = 0.005 if rate is None else 0.05
            windows = Windows(runner.processed, time.process_time())
            closes = wall + (window_s or 0.0)
            while runner.processed < 1 + count:
                await asyncio.sleep(poll_s)
                if window_s and time.perf_counter() >= closes:
                    windows.sample(runner.processed, time.process_time())
                    closes += window_s
            if profiler is not None:
                profiler.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        runner.request_stop()
        await task
        publisher.join(60)
    figures: dict[str, Any] = {
        "referrals_per_s": (count - 1) / wall,
        "referrals_per_cpu_s": count / cpu,
        "cpu_ms_per_referral": 1000 * cpu / count,
    }
    if ledger is not None:
        figures["cpu_per_referral"] = ledger.per(count, cpu)
    if window_s and windows is not None:
        figures["windows"] = windows.figures
    return figures


def breakdown_targets() -> list[tuple[Any, str, str]]:
    """The firewall's steps for --breakdown: the crypto the bound counts (open_bytes,
    seal_bytes), then the rest: Avro, the firewall's logic, its state, the disclosure log,
    the replay store, the runner's own sealing work, and the synchronous parts of aiokafka
    and of the event loop (coroutines cannot be timed this way)."""
    import selectors

    from aiokafka import conn
    from aiokafka.consumer import fetcher

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
        (replay.DurableSeenMessages, "seen", "replay store: check"),
        (replay.DurableSeenMessages, "remember_many", "replay store: remember"),
        (service.ServiceRunner, "_seal", "runner: output ids, topics"),
        (conn.AIOKafkaConnection, "send", "aiokafka: encode and send requests"),
        (conn.AIOKafkaConnection, "_handle_frame", "aiokafka: decode responses"),
        (fetcher.Fetcher, "_get_actions_per_node", "aiokafka: plan the next fetch"),
        (selectors.DefaultSelector, "select", "event loop: poll for I/O (its CPU)"),
    ]


def measure(
    referrals: int,
    rounds: int,
    profile: bool,
    breakdown: bool = False,
    rate: float | None = None,
    window_s: float | None = None,
    households: int = HOUSEHOLDS,
    people: int = 12_000,
) -> dict[str, Any]:
    """Firewall-service rounds, each between two measurements of the crypto-only bound of the
    same messages (the machine's speed drifts within minutes): per-round ratios, and their
    median. ``rate``: referrals published at that steady rate instead of as a backlog."""
    home = Path(tempfile.mkdtemp(prefix="mash-fw-service-"))
    os.environ["MASH_HOME"] = str(home)
    os.environ.setdefault("MASH_BROKER_PORT", "0")
    os.environ.setdefault("MASH_BROKER_CONTROLLER_PORT", "0")
    broker = prepare(home, people)
    profiler = cProfile.Profile(time.process_time) if profile else None
    ledger = Ledger() if breakdown else None
    try:
        run = Run(home, Topology.load(), household_referrals(home, households))
        bounds, services = [crypto_bound(run, BOUND_REFERRALS)], []
        for _ in range(rounds):
            messages = _backlog(run, referrals + 1)  # the first warms the firewall up
            if ledger is None:
                services.append(asyncio.run(_serve(run, messages, profiler, None, rate, window_s)))
            else:
                with watching(ledger, breakdown_targets()):
                    services.append(
                        asyncio.run(_serve(run, messages, profiler, ledger, rate, window_s))
                    )
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
        # Referrals are about this many households (drawn with repeats; see HOUSEHOLDS).
        "household_templates": households,
        "people": people,
        "published": f"{rate:g} a second" if rate else "all at once (a backlog)",
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
    """Measure and write benchmarks/results/firewall-service[-at-RATE].json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--referrals", type=int, default=1000, help="referrals per round")
    parser.add_argument("--rounds", type=int, default=3, help="service runs, each between bounds")
    parser.add_argument("--profile", action="store_true", help="add a CPU-time cProfile")
    parser.add_argument(
        "--breakdown", action="store_true", help="itemise the firewall's CPU per referral"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="publish the referrals at this steady rate a second (default: all at once)",
    )
    parser.add_argument(
        "--window-s",
        type=float,
        default=None,
        help="also report the CPU per referral of each window of this many seconds (a soak)",
    )
    parser.add_argument(
        "--households",
        type=int,
        default=HOUSEHOLDS,
        help="households the referrals are about (few: each referral repeats earlier ones; "
        "40 makes every referral carry ten earlier ones, the most)",
    )
    parser.add_argument("--people", type=int, default=12_000, help="synthetic population size")
    parser.add_argument(
        "--name", default=None, help="results file name (firewall-service[-at-RATE])"
    )
    args = parser.parse_args()
    if args.rate is not None and args.rate <= 0:
        parser.error("--rate must be above 0")
    if args.window_s is not None and args.window_s <= 0:
        parser.error("--window-s must be above 0")
    name = args.name or ("firewall-service" + (f"-at-{args.rate:g}" if args.rate else ""))
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    figures = measure(
        args.referrals,
        args.rounds,
        args.profile,
        args.breakdown,
        args.rate,
        args.window_s,
        args.households,
        args.people,
    )
    stores = FirewallSettings()  # MASH_STATE_URL / MASH_LOG_URL: PostgreSQL instead of SQLite
    figures["state_store"] = "postgresql" if stores.state_url else "sqlite"
    figures["log_store"] = "postgresql" if stores.log_url else "sqlite"
    print(write_results(name, figures))
    for key, value in figures.items():
        if key == "rounds":
            print(key)
            for line in value:
                print("   ", {k: v for k, v in line.items() if isinstance(v, float)})
                for window in line.get("windows", []):
                    print(
                        f"      {window['processed']:7.0f} processed:"
                        f" {window['cpu_ms_per_referral']:6.2f} ms CPU per referral"
                    )
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
