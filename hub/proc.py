"""Process liveness that is not fooled by zombies (children that exited but were not reaped)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_EXITS: dict[int, int] = {}  # exit codes of children reaped here (negative: the signal)


def alive(pid: int) -> bool:
    """True while ``pid`` runs; reaps it if it is our exited child."""
    with contextlib.suppress(ChildProcessError):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            _EXITS[pid] = os.waitstatus_to_exitcode(status)
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def exit_code(pid: int) -> int | None:
    """How our child ``pid`` ended, once alive() has reaped it: its exit code, or minus the
    signal that killed it; None if unknown."""
    return _EXITS.get(pid)
