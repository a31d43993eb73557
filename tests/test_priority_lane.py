"""The runner's priority lane: new referrals never wait behind a backlog of responses."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from hub.envelope import Opened
from hub.runtime.service import (
    URGENT_RUN_S,
    Batch,
    ServiceRunner,
    committable,
    flush_due,
    split_lane,
    urgent_first,
)
from hub.runtime.settings import ServiceSettings
from hub.transport.base import Consumed


def _m(topic: str, partition: int, offset: int, key: bytes | None = None) -> Consumed:
    return Consumed(topic, partition, offset, key, b"")


def test_priority_topics_go_first_and_partitions_keep_their_order() -> None:
    """Referrals form the lane, ahead of responses; each partition stays in offset order."""
    batch = [_m("responses", 0, 1), _m("referrals", 0, 7), _m("responses", 0, 2)]
    batch += [_m("referrals", 1, 3), _m("referrals", 0, 8)]
    lane, rest = split_lane(batch, {"referrals"})
    assert [(m.partition, m.offset) for m in lane] == [(0, 7), (1, 3), (0, 8)]
    assert [(m.topic, m.offset) for m in rest] == [("responses", 1), ("responses", 2)]


def _runner(urgency: Any = None) -> Any:
    runner: Any = ServiceRunner.__new__(ServiceRunner)
    runner._priority = frozenset({"referrals"})
    runner._urgency = urgency
    runner.handler = type("H", (), {"accepts": {}})()
    runner._logical = {}
    return runner


class _Inbox:
    """Opens each message to a record of the level its offset names."""

    def __init__(self, levels: dict[int, int]) -> None:
        self.levels = levels
        self.opened: list[int] = []

    async def receive(self, message: Consumed, expect: Collection[str]) -> Opened:
        self.opened.append(message.offset)
        record = {"level": f"LEVEL_{self.levels[message.offset]}"}
        return Opened(header=None, record=record)  # type: ignore[arg-type]


def _level3_first(opened: Opened) -> int:
    return 0 if opened.record["level"] == "LEVEL_3" else 1


def test_urgent_input_joins_the_lane_behind_queued_referrals() -> None:
    """Referrals fetched mid-batch join the lane after the referrals already queued (no
    urgency: arrival order)."""
    lane = deque([_m("referrals", 0, 8)])
    arrived = [_m("referrals", 0, 9), _m("referrals", 1, 4)]
    lane = asyncio.run(_runner()._arrange(lane, arrived, None, {}, {}))
    assert [(m.partition, m.offset) for m in lane] == [(0, 8), (0, 9), (1, 4)]


def test_level3_goes_first_and_each_referral_keeps_its_order() -> None:
    """Among queued referrals the most urgent go first; a referral's own messages (same key)
    move together in their order, so a re-levelling never overtakes its referral."""
    inbox = _Inbox({8: 2, 9: 3, 10: 1, 11: 3, 12: 2})
    b, c = b"ref-b", b"ref-c"
    runner, early, ranks = _runner(_level3_first), dict[Any, Any](), dict[Any, int]()
    lane = asyncio.run(
        runner._arrange(
            deque(), [_m("referrals", 0, 8, b), _m("referrals", 0, 9, c)], inbox, early, ranks
        )
    )
    assert [m.offset for m in lane] == [9, 8]  # the Level 3 referral first
    arrived = [_m("referrals", 0, 10, b"ref-d"), _m("referrals", 0, 11, b), _m("referrals", 1, 12)]
    lane = asyncio.run(runner._arrange(lane, arrived, inbox, early, ranks))
    assert [m.offset for m in lane] == [9, 8, 11, 10, 12]  # 11 escalates ref-b, after its 8
    assert sorted(inbox.opened) == [8, 9, 10, 11, 12]  # each opened once, on arrival
    assert set(early) == {
        ("referrals", p, o) for p, o in ((0, 8), (0, 9), (0, 10), (0, 11), (1, 12))
    }


def test_less_urgent_arrivals_are_appended_without_reordering_the_lane() -> None:
    """Arrivals no more urgent than the lane's last message join its end as they are."""
    inbox = _Inbox({1: 3, 2: 2, 3: 2, 4: 1})
    runner, early, ranks = _runner(_level3_first), dict[Any, Any](), dict[Any, int]()
    lane = asyncio.run(
        runner._arrange(
            deque(), [_m("referrals", 0, 2, b"x"), _m("referrals", 0, 1, b"y")], inbox, early, ranks
        )
    )
    assert [m.offset for m in lane] == [1, 2]
    lane = asyncio.run(
        runner._arrange(
            lane, [_m("referrals", 0, 4, b"z"), _m("referrals", 0, 3, b"w")], inbox, early, ranks
        )
    )
    assert [m.offset for m in lane] == [1, 2, 4, 3]


def test_urgent_first_is_stable_within_equal_urgency() -> None:
    """Messages of equal urgency keep their arrival order."""
    messages = [_m("t", 0, i, bytes([i])) for i in range(6)]
    ordered = urgent_first(messages, lambda m: 0 if m.offset in (2, 5) else 1)
    assert [m.offset for m in ordered] == [2, 5, 0, 1, 3, 4]


def test_a_stop_mid_batch_commits_only_below_the_first_unhandled_message() -> None:
    """Handled out of offset order, a partition is committed only up to the first message
    not handled yet; other partitions are committed in full."""
    done = [_m("referrals", 0, 11), _m("referrals", 0, 8), _m("referrals", 1, 4)]
    left = [_m("referrals", 0, 9), _m("referrals", 0, 10)]
    assert [(m.partition, m.offset) for m in committable(done, left)] == [(0, 8), (1, 4)]
    assert committable(done, []) == done


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


def test_the_firewall_ranks_what_makes_a_level3_notification_due_first() -> None:
    """A Level 3 referral or concern, or a re-levelling to Level 3, outranks the rest."""
    from hub.firewall.handler import FirewallHandler

    def rank(record: dict[str, Any]) -> int:
        return FirewallHandler.urgency(Opened(header=None, record=record))  # type: ignore[arg-type]

    assert rank({"level": "LEVEL_3", "referral_id": "r"}) == 0
    assert rank({"level": "LEVEL_3", "reason": "escalated"}) == 0  # a mash.Relevel
    assert rank({"level": "LEVEL_2"}) == rank({"level": "NFA"}) == 1


def test_a_run_of_level3_notifications_is_flushed_together_briefly() -> None:
    """A Level 3 notification is flushed at once, unless the next lane message is as urgent
    and the run is young: then they go together, never later than the window (here 20 ms)."""
    urgent, run = Batch(started=100.0, urgent=True), {"run_s": 0.02}
    assert flush_due(urgent, 100.005, 0.2, rank=0, next_rank=None, **run)  # nothing behind
    assert flush_due(urgent, 100.005, 0.2, rank=0, next_rank=1, **run)  # a Level 2 comes next
    assert not flush_due(urgent, 100.005, 0.2, rank=0, next_rank=0, **run)  # another Level 3
    assert flush_due(urgent, 100.021, 0.2, rank=0, next_rank=0, **run)  # run too old
    assert flush_due(urgent, 100.005, 0.2, rank=None, next_rank=0, **run)  # not from the lane
    calm = Batch(started=100.0)
    assert not flush_due(calm, 100.1, 0.2, rank=1, next_rank=1)
    assert flush_due(calm, 100.2, 0.2, rank=1, next_rank=1)  # the flush interval


def test_the_run_window_is_a_setting_and_by_default_each_notification_goes_alone() -> None:
    """MASH_URGENT_RUN_MS sets the window; 0, the default, sends every Level 3 notification
    at once even with another queued right behind it."""
    urgent = Batch(started=100.0, urgent=True)
    assert flush_due(urgent, 100.001, 0.2, rank=0, next_rank=0)
    assert flush_due(urgent, 100.001, 0.2, rank=0, next_rank=0, run_s=0.0)
    assert not flush_due(urgent, 100.03, 0.2, rank=0, next_rank=0, run_s=0.05)
    assert flush_due(urgent, 100.051, 0.2, rank=0, next_rank=0, run_s=0.05)
    assert ServiceSettings(urgent_run_ms=0).urgent_run_ms == 0
    assert ServiceSettings().urgent_run_ms == 0 == URGENT_RUN_S  # the default: off


def test_the_firewall_fetch_wait_is_short_by_default_and_a_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The firewall long-polls the broker 50 ms at most (aiokafka's 500 ms, which the other
    services keep, held back the partition where a Level 3 referral had just landed);
    MASH_FETCH_WAIT_MS changes it, within 1-500."""
    from hub.services import FirewallSettings

    assert FirewallSettings().fetch_wait_ms == 50
    assert ServiceSettings().fetch_wait_ms == 500
    monkeypatch.setenv("MASH_FETCH_WAIT_MS", "20")
    assert FirewallSettings().fetch_wait_ms == 20
    for wrong in (0, 501):
        with pytest.raises(ValueError):
            FirewallSettings(fetch_wait_ms=wrong)
