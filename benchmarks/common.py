"""Helpers shared by the benchmarks: timing loops and a description of the machine."""

from __future__ import annotations

import json
import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.envelope import Opener, Sealer
from hub.intake import prepare as prepare_referral
from hub.sources.generate import referral_for_household

RESULTS = Path(__file__).resolve().parent / "results"
# Households the benchmarks' referrals are about, drawn at random from the population's first
# 2,000 (with repeats): a referral carries the earlier ones about its children, so few
# households would make every referral a tenth repeat (until round 12 there were 40).
HOUSEHOLDS = 2000


def rate(fn: Callable[[], object], seconds: float = 2.0, warmup: int = 50) -> float:
    """Calls per second of ``fn`` on this thread over about ``seconds``."""
    for _ in range(warmup):
        fn()
    calls, began = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - began) < seconds:
        for _ in range(100):
            fn()
        calls += 100
    return calls / elapsed


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "measured_at": datetime.now(UTC).isoformat(),
    }


def write_results(name: str, figures: dict[str, Any]) -> Path:
    """Store figures with the machine description as benchmarks/results/<name>.json."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **figures}, indent=2) + "\n")
    return path


def crypto_alone(
    opener: Opener, sealer: Sealer, referrals: Sequence[bytes], outputs: Sequence[Sequence[Any]]
) -> tuple[float, float]:
    """(wall, CPU) seconds to verify and decrypt each sealed referral and to encrypt and sign
    its ``outputs`` (the runner's Outgoing), encoded beforehand: the crypto alone."""
    frames = [
        [(out, *opener.codec.encode(out.schema_name, dict(out.record))) for out in outs]
        for outs in outputs
    ]
    began, cpu_began = time.perf_counter(), time.process_time()
    for data, encoded in zip(referrals, frames, strict=True):
        opener.open_bytes(data, topic="mash.referrals")
        for out, payload, sha in encoded:
            sealer.seal_bytes(
                topic=out.topic,
                schema_name=out.schema_name,
                schema_sha256=sha,
                payload=payload,
                recipients=out.recipients,
                correlation_id=out.correlation_id,
            )
    return time.perf_counter() - began, time.process_time() - cpu_began


def household_referrals(home: Path, households: int = HOUSEHOLDS) -> list[dict[str, Any]]:
    """Level 2 referrals (prepared as the front door does) about ``households`` households
    of the population in ``home``, shuffled: the templates the benchmarks refer."""
    templates = [
        prepare_referral(referral_for_household(home / "sources", "LEVEL_2", seed=i))
        for i in range(households)
    ]
    random.Random(1).shuffle(templates)
    return templates
