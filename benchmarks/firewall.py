"""The firewall's work per message on one core, without Kafka: open a referral, run the
firewall's logic (policy, state, disclosure log) and seal every output — against the
crypto-only bound of the same messages (verify, decrypt, encrypt, sign: nothing else), and
the same with Avro decoding and encoding. With --profile, the
functions that dominate (cProfile). Run: `python -m benchmarks.firewall [--referrals N]`."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import crypto_alone, write_results
from hub.codec_parts import Shared
from hub.disclosure_log import DisclosureLog
from hub.envelope import Opener, Sealer
from hub.firewall.handler import FirewallHandler
from hub.firewall.state import FirewallState
from hub.keys import KeyRing, KeyStore
from hub.policy.model import load_policy
from hub.replay import MemorySeenMessages
from hub.runtime.service import Outgoing
from hub.samples import Samples
from hub.transport.base import Consumed

PRINCIPALS = ["intake", "firewall", "police", "health", "education", "housing", "collator"]


class Bench:
    """A firewall with fresh state and the sealed referrals (and responses) it will handle."""

    def __init__(self, referrals: int) -> None:
        folder = Path(tempfile.mkdtemp(prefix="mash-fw-bench-"))
        store = KeyStore(folder / "keys", lambda who: b"bench-" + who.encode())
        store.init(PRINCIPALS)
        self.rings = {p: KeyRing.load(store, p) for p in PRINCIPALS}
        self.handler = FirewallHandler(
            policy=load_policy(),
            state=FirewallState(folder / "state.db"),
            log_store=DisclosureLog(folder / "log.db"),
            ring=self.rings["firewall"],
            pseudonym_key=b"bench",
        )
        self.sealer = Sealer(self.rings["firewall"])
        self.opener = Opener(self.rings["firewall"], MemorySeenMessages())
        samples = Samples()
        self.referrals = []
        for _ in range(referrals):  # each about a household of its own (no earlier referrals)
            record = samples.referral("LEVEL_2")
            sealed, _ = Sealer(self.rings["intake"]).seal(
                topic="mash.referrals",
                schema_name="mash.Referral",
                record=record,
                recipients=["firewall"],
                correlation_id=record["referral_id"],
            )
            self.referrals.append(sealed)
        response = samples.agency_response("HEALTH")
        self.response_template = response

    def _seal(self, outputs: list[Outgoing]) -> None:
        shared = Shared()  # as the service runner: one per handled message
        for out in outputs:
            self.sealer.seal(
                topic=out.topic,
                schema_name=out.schema_name,
                record=dict(out.record),
                recipients=out.recipients,
                correlation_id=out.correlation_id,
                shared=shared,
            )

    async def full(self, group: int) -> list[list[Outgoing]]:
        """Open, handle and seal every referral, the log written once per ``group`` messages
        as the service runner does per sent batch; returns the outputs (for the bound)."""
        self.handler.group_commit = group > 1
        produced = []
        for i, data in enumerate(self.referrals, 1):
            opened = self.opener.open(data, topic="mash.referrals", remember=False)
            outputs = await self.handler.handle(
                opened, Consumed("mash.referrals", 0, 0, None, data)
            )
            self._seal(outputs)
            produced.append(outputs)
            if i % group == 0:
                self.handler.flush()
        self.handler.flush()
        return produced

    def with_avro(self, produced: list[list[Outgoing]]) -> None:
        """Open (and decode) the same referrals and encode and seal the same outputs."""
        for data, outputs in zip(self.referrals, produced, strict=True):
            self.opener.open(data, topic="mash.referrals", remember=False)
            self._seal(outputs)

    def crypto_only(self, produced: list[list[Outgoing]]) -> float:
        """Seconds to verify and decrypt the same referrals and seal the same outputs, already
        encoded: the crypto alone, the floor of the firewall's cost."""
        return crypto_alone(self.opener, self.sealer, self.referrals, produced)[0]


def measure(referrals: int, profile: bool, group: int = 20) -> dict[str, Any]:
    """Messages per second of the firewall's logic and of its crypto alone, same messages."""
    bench = Bench(referrals)
    began = time.perf_counter()
    produced = asyncio.run(bench.full(group))
    full_s = time.perf_counter() - began
    crypto_s = bench.crypto_only(produced)
    began = time.perf_counter()
    bench.with_avro(produced)
    avro_s = time.perf_counter() - began
    figures: dict[str, Any] = {
        "referrals": referrals,
        "log_group_commit": group,
        "outputs_per_referral": sum(map(len, produced)) / referrals,
        "firewall_referrals_per_s": referrals / full_s,
        "crypto_only_referrals_per_s": referrals / crypto_s,
        "ratio_to_crypto_bound": crypto_s / full_s,
        "crypto_and_avro_referrals_per_s": referrals / avro_s,
        "ratio_to_bound_with_avro": avro_s / full_s,
    }
    if profile:
        again = Bench(min(referrals, 500))
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(again.full(group))
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
        figures["profile_top_by_own_time"] = [
            " ".join(line.split())
            for line in text.getvalue().splitlines()
            if line.strip()[:1].isdigit() and ("(" in line or "{" in line)
        ][:15]
    return figures


def main() -> None:
    """Measure and write benchmarks/results/firewall.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--referrals", type=int, default=1000, help="referrals to handle")
    parser.add_argument("--profile", action="store_true", help="add a cProfile of the logic")
    parser.add_argument("--name", default="firewall", help="results file name")
    parser.add_argument(
        "--group", type=int, default=20, help="messages per log transaction (1: one each)"
    )
    args = parser.parse_args()
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    figures = measure(args.referrals, args.profile, args.group)
    print(write_results(args.name, figures))
    for key, value in figures.items():
        if not isinstance(value, list):
            print(f"{key:32} {value:.2f}" if isinstance(value, float) else f"{key:32} {value}")
    for line in figures.get("profile_top_by_own_time", []):
        print("  ", line)


if __name__ == "__main__":
    main()
