"""Service start-up: a service that is still starting is not taken for dead, and one that dies
while starting is reported with how it ended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import hub.stack
from hub.broker.process import free_port
from hub.stack import ServiceProcess, wait_ready


def _dying(tmp_path: Path, code: str) -> ServiceProcess:
    log = tmp_path / "svc.log"
    log.write_text("")
    proc = subprocess.Popen([sys.executable, "-c", code + "  # as hub serve firewall"])
    proc.returncode = 0  # leave reaping to hub.proc, as for services spawned by `mash up`
    return ServiceProcess("firewall", proc.pid, free_port(), str(log))


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("import sys; sys.exit(3)", "exit code 3"),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", "killed by SIGKILL"),
    ],
)
def test_a_service_that_dies_while_starting_says_how(tmp_path: Path, code: str, said: str) -> None:
    """The error names the exit code or the signal, even when the log is empty."""
    service = _dying(tmp_path, code)
    with pytest.raises(RuntimeError, match=f"firewall exited during start-up \\({said}\\)"):
        wait_ready(service, 30)


@pytest.mark.parametrize(("cmdline", "taken_alive"), [(b"", True), (b"/usr/bin/vim\x00x", False)])
def test_an_empty_command_line_right_after_spawn_is_not_a_death(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cmdline: bytes, taken_alive: bool
) -> None:
    """A service whose command line reads empty (mid-start) is alive; another program that
    reused the pid is not."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(5)"])
    try:
        monkeypatch.setattr(hub.stack, "_cmdline", lambda pid: cmdline)
        assert hub.stack._alive(proc.pid) is taken_alive
    finally:
        proc.kill()
        proc.wait()
