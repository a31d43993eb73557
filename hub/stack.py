"""The whole MASH on one machine: broker, provisioning, keys, sources and every service as its
own process, with logs and a service table in the run folder (used by `mash up|down|status`)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from hub.broker import LocalBroker
from hub.broker.process import free_port
from hub.keys.local import local_key_store
from hub.local import local_settings, principal_password
from hub.proc import alive, exit_code
from hub.provision import ClusterAdmin, provision
from hub.sources.generate import Population
from hub.topology import Topology

SERVICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("firewall", ("serve", "firewall")),
    ("collator", ("serve", "collator")),
    *(
        (f"adapter-{a}", ("serve", "adapter", a))
        for a in ("police", "health", "education", "housing")
    ),
)


@dataclass
class ServiceProcess:
    """One running service as recorded in run/services.json."""

    name: str
    pid: int
    port: int
    log: str


def _table(home: Path) -> Path:
    return home / "run" / "services.json"


def running(home: Path) -> list[ServiceProcess]:
    """Services recorded as started (they may have died since)."""
    file = _table(home)
    return [ServiceProcess(**s) for s in json.loads(file.read_text())] if file.is_file() else []


def probe(port: int, path: str = "/readyz") -> tuple[bool, str]:
    """GET a health endpoint; (ok, detail)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as answer:
            return answer.status == 200, json.loads(answer.read()).get("detail", "")
    except OSError as exc:
        return False, str(getattr(exc, "reason", exc))


def prepare(home: Path, people: int = 2000) -> LocalBroker:
    """Broker up, topology provisioned, keys present, sources generated (each idempotent)."""
    broker = LocalBroker(home)
    broker.start()
    topology = Topology.load()
    provision(
        topology, ClusterAdmin(local_settings("admin", home)), lambda p: principal_password(p, home)
    )
    local_key_store(home).init(topology.service_principals())
    if not (home / "sources" / "health.db").is_file():
        Population(seed=1).write(home / "sources", people)
    return broker


def spawn(
    home: Path, name: str, args: tuple[str, ...], extra_env: dict[str, str] | None = None
) -> ServiceProcess:
    """Start one service process (``python -m hub <args>``) with its own health port and log."""
    port = free_port()
    log = home / "run" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MASH_HOME": str(home), "MASH_HEALTH_PORT": str(port), **(extra_env or {})}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    return ServiceProcess(name, proc.pid, port, str(log))


def wait_ready(service: ServiceProcess, wait_s: float = 60.0) -> None:
    """Block until the service answers /readyz (RuntimeError if it dies or takes too long)."""
    deadline = time.monotonic() + wait_s
    while not probe(service.port)[0]:
        if not _alive(service.pid):
            tail = Path(service.log).read_text(errors="replace").splitlines()[-5:]
            code = exit_code(service.pid)
            how = "" if code is None else f" ({_ended(code)})"
            raise RuntimeError(f"{service.name} exited during start-up{how}:\n" + "\n".join(tail))
        if time.monotonic() > deadline:
            raise RuntimeError(f"{service.name} not ready after {wait_s:.0f}s")
        time.sleep(0.2)


def remember(home: Path, table: list[ServiceProcess]) -> None:
    """Record the running services (for `mash status` and `mash down`)."""
    _table(home).write_text(json.dumps([s.__dict__ for s in table], indent=2))


def up(home: Path, wait_s: float = 60.0) -> list[ServiceProcess]:
    """Start every service process not already running and wait until each is ready."""
    (home / "run").mkdir(parents=True, exist_ok=True)
    alive = {s.name: s for s in running(home) if _alive(s.pid)}
    table: list[ServiceProcess] = list(alive.values())
    for name, args in SERVICES:
        if name in alive:
            continue
        table.append(spawn(home, name, args))
    remember(home, table)
    for service in table:
        wait_ready(service, wait_s)
    return table


def _ended(code: int) -> str:
    """'exit code 1' or 'killed by SIGKILL'."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


def _cmdline(pid: int) -> bytes | None:
    """The process's command line; None when it is gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None


def _alive(pid: int) -> bool:
    """A running MASH service: alive, and not another program that reused the pid. Right
    after a spawn the command line can read empty for a moment (measured: 5 reads in 200);
    an empty one is taken as the service starting, not as a stranger."""
    if not alive(pid):
        return False
    cmdline = _cmdline(pid)
    if cmdline is None:
        return False
    return cmdline == b"" or (b"hub" in cmdline and b"serve" in cmdline)


def down(home: Path, timeout: float = 20.0) -> list[str]:
    """SIGTERM every service, SIGKILL what is left after ``timeout``; returns names stopped."""
    stopped = []
    services = [s for s in running(home) if _alive(s.pid)]
    for s in services:
        os.kill(s.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for s in services:
        while _alive(s.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(s.pid):
            os.kill(s.pid, signal.SIGKILL)
        stopped.append(s.name)
    _table(home).unlink(missing_ok=True)
    return stopped
