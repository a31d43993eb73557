"""The benchmarks' CPU ledger: each watched call counts its own time, not its callees'."""

from __future__ import annotations

from typing import Any

from benchmarks.ledger import Ledger, watching


class Clock:
    """A CPU clock the test advances by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Base:
    def inherited(self) -> str:
        return "base"


class Work(Base):
    clock: Clock

    def outer(self) -> str:
        self.clock.now += 1.0
        self.inner()
        self.clock.now += 0.5
        return "done"

    def inner(self) -> None:
        self.clock.now += 2.0

    @staticmethod
    def helper(value: int) -> int:
        return value * 2


def test_nested_calls_count_only_their_own_time() -> None:
    """outer spends 1.5 s itself around a 2 s inner call: 1.5 and 2, not 3.5 and 2."""
    clock = Clock()
    Work.clock = clock
    ledger = Ledger(clock)
    with watching(ledger, [(Work, "outer", "outer"), (Work, "inner", "inner")]):
        assert Work().outer() == "done"
        Work().inner()
    assert ledger.cpu == {"outer": 1.5, "inner": 4.0}
    assert ledger.calls == {"outer": 1, "inner": 2}


def test_per_unit_figures_and_what_is_not_itemised() -> None:
    """Per-unit milliseconds, most first, and the total's remainder as 'not itemised'."""
    clock = Clock()
    Work.clock = clock
    ledger = Ledger(clock)
    with watching(ledger, [(Work, "outer", "outer"), (Work, "inner", "inner")]):
        Work().outer()
    figures = ledger.per(units=2, total_cpu_s=5.0)
    assert list(figures) == ["inner", "outer", "not itemised"]
    assert figures["inner"] == {"ms": 1000.0, "calls": 0.5}
    assert figures["outer"]["ms"] == 750.0
    assert figures["not itemised"]["ms"] == 750.0


def test_reset_forgets_the_warm_up() -> None:
    """What was counted before reset() is not reported."""
    clock = Clock()
    Work.clock = clock
    ledger = Ledger(clock)
    with watching(ledger, [(Work, "inner", "inner")]):
        Work().inner()
        ledger.reset()
        Work().inner()
    assert ledger.cpu == {"inner": 2.0}


def test_unwatch_restores_own_static_and_inherited_methods() -> None:
    """After the block the class is exactly as before: its own methods, its static methods,
    and no shadow of an inherited one."""
    before: dict[str, Any] = dict(vars(Work))
    ledger = Ledger(Clock())
    with watching(ledger, [(Work, "inner", "i"), (Work, "helper", "h"), (Work, "inherited", "b")]):
        assert Work.helper(2) == 4
        assert Work().inherited() == "base"
        assert "inherited" in vars(Work)
    assert dict(vars(Work)) == before
    assert "inherited" not in vars(Work)
    assert ledger.calls == {"h": 1, "b": 1}
