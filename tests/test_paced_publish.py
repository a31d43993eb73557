"""benchmarks.firewall_service --rate and --window-s: referrals sent one at a time on schedule,
and the CPU per referral window by window."""

from __future__ import annotations

import asyncio

from benchmarks.firewall_service import Message, Windows, publish_paced


class FakeTime:
    """A clock that only sleeping (or slow sends) moves, and a log of what was sent when."""

    def __init__(self, send_cost: float = 0.0) -> None:
        self.now = 100.0
        self.send_cost = send_cost
        self.sent: list[tuple[float, list[Message]]] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def send(self, messages: list[Message]) -> None:
        self.sent.append((self.now, messages))
        self.now += self.send_cost


def _messages(count: int) -> list[Message]:
    return [("t", str(i).encode(), b"key") for i in range(count)]


def test_each_message_goes_alone_at_its_time() -> None:
    """Message i is sent by itself at i / rate seconds after the start."""
    fake = FakeTime()
    asyncio.run(publish_paced(fake.send, _messages(5), 50.0, fake.clock, fake.sleep))
    assert [len(batch) for _, batch in fake.sent] == [1] * 5
    assert [round(at - 100.0, 6) for at, _ in fake.sent] == [0.0, 0.02, 0.04, 0.06, 0.08]
    assert [batch[0][1] for _, batch in fake.sent] == [b"0", b"1", b"2", b"3", b"4"]


def test_a_late_send_is_caught_up_not_shifted() -> None:
    """Sends slower than the rate do not push the schedule back: the next goes at once."""
    fake = FakeTime(send_cost=0.03)  # each send takes longer than the 20 ms between them
    asyncio.run(publish_paced(fake.send, _messages(4), 50.0, fake.clock, fake.sleep))
    times = [round(at - 100.0, 6) for at, _ in fake.sent]
    assert times == [0.0, 0.03, 0.06, 0.09]  # never waited: behind schedule all along


def test_windows_give_the_cpu_per_referral_of_each_window() -> None:
    """Each window's CPU per referral is its own, not the run's average so far."""
    windows = Windows(processed=1, cpu_s=10.0)
    windows.sample(processed=101, cpu_s=10.5)  # 100 referrals, 0.5 s: 5 ms each
    windows.sample(processed=101, cpu_s=10.6)  # nothing processed: no window
    windows.sample(processed=201, cpu_s=11.4)  # 100 more, 0.9 s since the last window
    assert [w["processed"] for w in windows.figures] == [101.0, 201.0]
    assert [round(w["cpu_ms_per_referral"], 6) for w in windows.figures] == [5.0, 9.0]
