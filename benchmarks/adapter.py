"""Adapter benchmark: responses per second for one adapter against a synthetic source
(match + build response + Avro + seal), single core, no broker (the broker's share is
measured by `mash bench` in the end-to-end benchmark).
Run: `python -m benchmarks.adapter --people 100000 [--agency health] [--requests 300]`."""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from adapters import profile
from benchmarks.common import write_results
from hub.adapter import answer
from hub.envelope import Sealer
from hub.keys import KeyRing, KeyStore
from hub.sources.generate import Population, referral_for_household
from hub.sources.sqlite import SqliteSource


def main() -> None:
    """Generate (or reuse) a population, then time answering requests about its households."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--agency", default="health")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--sources", type=Path, help="reuse generated sources in this folder")
    args = parser.parse_args()
    folder = args.sources or Path(tempfile.mkdtemp()) / "sources"
    generated_s = None
    if not (folder / "health.db").is_file():
        began = time.perf_counter()
        Population(seed=1).write(folder, args.people)
        generated_s = time.perf_counter() - began
    store = KeyStore(Path(tempfile.mkdtemp()), lambda who: b"bench-" + who.encode())
    store.init([args.agency, "firewall"])
    sealer = Sealer(KeyRing.load(store, args.agency))
    source = SqliteSource(folder / f"{args.agency}.db")
    referrals = [referral_for_household(folder, "LEVEL_2", seed=i) for i in range(50)]
    agency = profile(args.agency)
    matched = subjects = 0
    began = time.perf_counter()
    for i in range(args.requests):
        referral = referrals[i % len(referrals)]
        request = {
            "request_id": f"r{i}",
            "referral_id": referral["referral_id"],
            "subjects": referral["subjects"],
        }
        response = answer(agency, source, request, datetime.now(UTC))
        sealer.seal(
            topic="mash.responses.x",
            schema_name="mash.AgencyResponse",
            record=response,
            recipients=["firewall"],
            correlation_id="c",
        )
        subjects += len(response["subjects"])
        matched += sum(s["match"]["confidence"] != "NO_MATCH" for s in response["subjects"])
    elapsed = time.perf_counter() - began
    figures = {
        "agency": args.agency,
        "people": args.people,
        "generation_seconds": generated_s,
        "requests": args.requests,
        "responses_per_s": args.requests / elapsed,
        "subjects_per_s": subjects / elapsed,
        "match_rate": matched / subjects,
    }
    path = write_results(f"adapter-{args.agency}", figures)
    print(
        f"{args.agency}: {figures['responses_per_s']:.0f} responses/s "
        f"({figures['subjects_per_s']:.0f} subjects/s, {figures['match_rate']:.0%} matched) "
        f"against {args.people} people; written to {path}"
    )


if __name__ == "__main__":
    main()
