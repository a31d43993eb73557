"""CPU time per named function, each call's own time only (nested watched calls are
subtracted): where a service's CPU goes, itemised, without a profiler's per-call distortion.

A profiler such as cProfile inflates many small Python calls several times over; this wraps a
handful of functions with a thread-CPU clock (``time.thread_time``), so the items add up to what
the process really spent. Only synchronous functions can be watched (an await inside would
count other tasks' time).
"""

from __future__ import annotations

import functools
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class Ledger:
    """Exclusive CPU seconds and call counts per label, for the functions it watches."""

    def __init__(self, clock: Callable[[], float] = time.thread_time) -> None:
        self.clock = clock
        self.cpu: defaultdict[str, float] = defaultdict(float)
        self.calls: Counter[str] = Counter()
        self._inner: list[float] = []  # per open call: CPU of the watched calls inside it
        self._undo: list[tuple[Any, str, Any]] = []

    def watch(self, owner: Any, name: str, label: str) -> None:
        """Count ``owner.name`` (a class's method or a module's function) under ``label``."""
        own = name in vars(owner)
        original = vars(owner)[name] if own else getattr(owner, name)
        function = original.__func__ if isinstance(original, staticmethod) else original

        @functools.wraps(function)
        def counted(*args: Any, **kwargs: Any) -> Any:
            began = self.clock()
            self._inner.append(0.0)
            try:
                return function(*args, **kwargs)
            finally:
                spent = self.clock() - began
                inner = self._inner.pop()
                self.cpu[label] += spent - inner
                self.calls[label] += 1
                if self._inner:
                    self._inner[-1] += spent

        replacement = staticmethod(counted) if isinstance(original, staticmethod) else counted
        self._undo.append((owner, name, original if own else None))
        setattr(owner, name, replacement)

    def reset(self) -> None:
        """Forget what was counted so far (e.g. the warm-up)."""
        self.cpu.clear()
        self.calls.clear()

    def unwatch(self) -> None:
        """Put every watched function back."""
        while self._undo:
            owner, name, original = self._undo.pop()
            if original is None:
                delattr(owner, name)  # it was inherited: the base's is seen again
            else:
                setattr(owner, name, original)

    def per(self, units: int, total_cpu_s: float) -> dict[str, dict[str, float]]:
        """Milliseconds and calls per unit (e.g. per referral) for each label, most first,
        and what the watched functions do not account for, against ``total_cpu_s``."""
        items = {
            label: {
                "ms": 1000 * spent / units,
                "calls": self.calls[label] / units,
            }
            for label, spent in sorted(self.cpu.items(), key=lambda item: -item[1])
        }
        items["not itemised"] = {
            "ms": 1000 * (total_cpu_s - sum(self.cpu.values())) / units,
            "calls": 0.0,
        }
        return items


@contextmanager
def watching(ledger: Ledger, targets: list[tuple[Any, str, str]]) -> Iterator[Ledger]:
    """``ledger`` watching each (owner, name, label) for the duration of the block."""
    try:
        for owner, name, label in targets:
            ledger.watch(owner, name, label)
        yield ledger
    finally:
        ledger.unwatch()
