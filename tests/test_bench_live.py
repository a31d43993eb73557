"""`mash bench` as a user runs it (small): its own broker, every phase, and the results file,
CSV and plot written with figures that are measurements, not placeholders."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.broker


def test_bench_writes_results_and_plot(tmp_path: Path) -> None:
    """A short run: baselines, 1 and 2 firewalls, drain, open loop, per-service figures."""
    out = tmp_path / "out"
    env = {**os.environ, "MASH_BROKER_PORT": "0", "MASH_BROKER_CONTROLLER_PORT": "0"}
    args = ["--people", "1500", "--rate", "5", "--seconds", "3", "--burst", "30"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "hub",
            "bench",
            *args,
            "--home",
            str(tmp_path / "home"),
            "--out",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    figures = json.loads((out / "pipeline.json").read_text())
    assert figures["machine"]["cores"] >= 1
    assert figures["crypto_bound"]["referrals_per_s"] > 0
    assert figures["crypto_bound"]["with_avro_per_cpu_s"] > 0  # the bound with Avro, for reference
    assert figures["ratios"]["firewall_per_cpu_second_to_crypto_bound"] > 0
    assert figures["pass_through"]["referral_messages_per_s"] > 0
    assert [s["instances"] for s in figures["firewall_stage"]] == [1, 2]
    assert all(s["referral_messages_per_s"] > 0 for s in figures["firewall_stage"])
    assert figures["drain"]["packages"] == 2 * (30 + 10)
    loop = figures["open_loop"][0]
    assert loop["packaged"] == loop["referrals"] == 15
    assert 0 < loop["level3_notification_ms"]["p50"] <= loop["level3_notification_ms"]["p99"]
    assert set(figures["services"]) >= {"firewall", "firewall-2", "collator", "adapter-health"}
    assert all(0 < s["peak_rss_mb"] < 1024 for s in figures["services"].values())
    with (out / "pipeline.csv").open() as file:
        rows = {r["figure"]: r["value"] for r in csv.DictReader(file)}
    assert "open_loop[0].level3_notification_ms.p99" in rows
    assert (out / "pipeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", "processes left running after the bench"
