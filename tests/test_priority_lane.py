"""The runner's priority lane: new referrals never wait behind a backlog of responses."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection
from pathlib import Path
from typing import Any

from hub.runtime.service import ServiceRunner, prioritised
from hub.transport.base import Consumed


def _m(topic: str, partition: int, offset: int) -> Consumed:
    return Consumed(topic, partition, offset, None, b"")


def test_priority_topics_go_first_and_partitions_keep_their_order() -> None:
    """Referrals move ahead of responses; each partition's messages stay in offset order."""
    batch = [_m("responses", 0, 1), _m("referrals", 0, 7), _m("responses", 0, 2)]
    batch += [_m("referrals", 1, 3), _m("referrals", 0, 8)]
    ordered = prioritised(batch, {"referrals"})
    assert [m.topic for m in ordered] == ["referrals"] * 3 + ["responses"] * 2
    assert [(m.partition, m.offset) for m in ordered if m.topic == "referrals"] == [
        (0, 7),
        (1, 3),
        (0, 8),
    ]
    assert [m.offset for m in ordered if m.topic == "responses"] == [1, 2]


class _Subscription:
    """Referrals that arrived while the runner was busy with a batch."""

    def __init__(self, arrived: list[Consumed]) -> None:
        self.arrived = arrived
        self.asked: list[Collection[str]] = []

    async def fetched_now(self, topics: Collection[str]) -> list[Consumed]:
        self.asked.append(topics)
        out, self.arrived = self.arrived, []
        return out


def test_urgent_input_joins_behind_queued_referrals_and_ahead_of_responses() -> None:
    """Referrals fetched mid-batch are handled before the remaining responses, after the
    referrals already queued from the same partition."""
    runner: Any = ServiceRunner.__new__(ServiceRunner)
    runner._priority = frozenset({"referrals"})
    queue = deque([_m("referrals", 0, 8), _m("responses", 0, 2), _m("responses", 0, 3)])
    subscription = _Subscription([_m("referrals", 0, 9), _m("referrals", 1, 4)])
    asyncio.run(runner._take_urgent(queue, subscription))
    assert [(m.topic, m.offset) for m in queue] == [
        ("referrals", 8),
        ("referrals", 9),
        ("referrals", 4),
        ("responses", 2),
        ("responses", 3),
    ]
    assert subscription.asked == [frozenset({"referrals"})]


def test_the_firewall_puts_referrals_and_concerns_in_the_priority_lane(tmp_path: Path) -> None:
    """Intake of new referrals and agency concerns is the firewall's priority lane; responses,
    chasers and decisions are not."""
    from hub.disclosure_log import DisclosureLog
    from hub.firewall.handler import FirewallHandler
    from hub.firewall.state import FirewallState
    from hub.keys import KeyRing, KeyStore
    from hub.policy.model import load_policy

    store = KeyStore(tmp_path / "keys", lambda who: b"t-" + who.encode())
    store.init(["firewall"])
    handler = FirewallHandler(
        policy=load_policy(),
        state=FirewallState(tmp_path / "s.db"),
        log_store=DisclosureLog(tmp_path / "log.db"),
        ring=KeyRing.load(store, "firewall"),
        pseudonym_key=b"k",
    )
    assert "mash.referrals" in handler.priority and "mash.concerns.police" in handler.priority
    assert handler.priority <= set(handler.accepts)
    assert not any(t.startswith(("mash.responses", "mash.decisions")) for t in handler.priority)
    handler.close()
