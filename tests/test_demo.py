"""`mash demo` — the README's main command — run as a user runs it: from nothing to a package
for every level, a verified disclosure log and a clean stop."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.broker


def test_demo_end_to_end(tmp_path: Path) -> None:
    """Separate processes for the broker, the firewall, the collator and four adapters."""
    env = {
        **os.environ,
        "MASH_HOME": str(tmp_path),
        "MASH_BROKER_PORT": "0",
        "MASH_BROKER_CONTROLLER_PORT": "0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "hub", "demo", "--people", "800"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for level in (
        "Level 3 - s47",
        "Level 2 - Social care",
        "Level 1 - Referral to the Locality",
        "Level NFA - No further action",
    ):
        assert level in out
    assert "NOTIFICATION LEVEL_3" in out and "ms after intake" in out
    assert "MISSED" not in out
    assert "Public Protection Notice" in out and "Contacts (1):" in out
    for outcome in ("s47-strategy", "s17-assessment", "locality-early-help", "nfa-advice"):
        assert f"DECISION {outcome}" in out
    assert "disseminated to: locality-" in out
    assert "feedback to the front door" in out and "advice: " in out
    assert "feedback to police (its adapter)" in out
    assert "told: dutymanager (a sealed correction notice each)" in out
    assert "received 1 correction notice(s); 1 item(s) marked" in out
    assert "IG corrections: 1" in out
    assert "ok: " in out and "checkpoints verified" in out and "FAILED" not in out
    assert "stopped services and broker" in out
    leftovers = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == "", "processes left running after the demo"
