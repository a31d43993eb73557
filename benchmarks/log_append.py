"""Disclosure-log append cost as the log grows: one flush's worth of entries (20 responses of
12 entries, each naming 6 subjects) appended to a SQLite log of N entries, durable commit
included. Run: `python -m benchmarks.log_append [--entries 50000] [--appends 40]`."""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.common import write_results
from hub.disclosure_log import DisclosureLog
from hub.firewall.entries import entry_id

MESSAGES, ENTRIES_PER_MESSAGE, SUBJECTS = 20, 12, 6


def flush_entries() -> list[dict[str, Any]]:
    """What one flush of the firewall appends: per response, a dozen entries about its
    referral's subjects (keyed pseudonyms), with ids grouped by message as the firewall's."""
    out = []
    for _ in range(MESSAGES):
        origin, referral = str(uuid.uuid4()), str(uuid.uuid4())
        pseudonyms = [os.urandom(16).hex() for _ in range(SUBJECTS)]
        for i in range(ENTRIES_PER_MESSAGE):
            out.append(
                {
                    "entry_id": entry_id(origin, i),
                    "correlation_id": referral,
                    "at": "2026-11-23T10:00:00+00:00",
                    "operation": "disclose",
                    "decision": "RELEASED",
                    "rule_id": "L2-health-release",
                    "subject_pseudonyms": pseudonyms,
                    "reason": "released under the Level 2 policy for this category " * 2,
                }
            )
    return out


def main() -> None:
    """Grow a log to --entries, then time --appends further flushes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=50_000, help="log size before timing")
    parser.add_argument("--appends", type=int, default=40, help="timed appends")
    args = parser.parse_args()
    log = DisclosureLog(Path(tempfile.mkdtemp()) / "log.db")
    while log.size() < args.entries:
        log.append(flush_entries())
    times = []
    for _ in range(args.appends):
        batch = flush_entries()
        began = time.perf_counter()
        log.append(batch)
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    figures = {
        "log_entries_before": args.entries,
        "entries_per_append": MESSAGES * ENTRIES_PER_MESSAGE,
        "append_ms_median": statistics.median(times),
        "append_ms_p90": times[int(len(times) * 0.9) - 1],
    }
    path = write_results("log_append", figures)
    for key, value in figures.items():
        print(f"{key:<24} {value:.1f}" if isinstance(value, float) else f"{key:<24} {value}")
    print(path)


if __name__ == "__main__":
    main()
