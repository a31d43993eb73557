"""Service start-up: a service that dies while starting is reported with how it ended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
