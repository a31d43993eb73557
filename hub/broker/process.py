"""Start, stop and inspect the project's own single-node Kafka broker (a JVM child process)."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import SecretStr

from hub.broker.config import ADMIN_USER, BrokerConfig, render_server_properties
from hub.broker.errors import ClusterMismatch, NotRunning, PortInUse, StartFailed, ToolMissing
from hub.broker.fetch import KAFKA_VERSION, fetch_kafka
from hub.broker.tls import BrokerTls, ensure_broker_tls
from hub.proc import alive
from hub.secrets import SecretStore
from hub.settings import KafkaSettings

DEFAULT_CLIENT_PORT = 19092
DEFAULT_CONTROLLER_PORT = 19093
DEFAULT_TLS_PORT = 19094
_JVM_HEAP = ["-Xms128m", "-Xmx512m"]


@dataclass(frozen=True)
class BrokerStatus:
    """What `mash broker status` reports."""

    running: bool
    ready: bool
    pid: int | None
    bootstrap: str | None
    rss_mib: float | None
    topics: int | None
    tls_bootstrap: str | None = None


def _java_major() -> int:
    java = shutil.which("java")
    if java is None:
        raise ToolMissing(
            "Java is not installed; the Kafka broker needs Java 17 or newer "
            "(Debian: apt-get install openjdk-17-jre-headless, or run scripts/setup.sh)."
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        raise ToolMissing(f"cannot read the Java version from: {out.strip()[:200]}")
    major = int(match.group(1))
    major = int(match.group(2) or 0) if major == 1 else major
    if major < 17:
        raise ToolMissing(f"Java {major} found; the Kafka {KAFKA_VERSION} broker needs Java 17+")
    return major


def _port_free(host: str, port: int) -> bool:
    """Nobody listens on the port (connections lingering in TIME_WAIT do not count: the
    broker binds with SO_REUSEADDR too, so a restart can reuse its own ports)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def new_cluster_id() -> str:
    """16 random bytes, url-safe base64 without padding, never starting with '-'."""
    while True:
        cid = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        if not cid.startswith("-"):
            return cid


def _rss_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(match.group(1)) / 1024 if match else None


class LocalBroker:
    """One secured KRaft broker whose files live under ``home/broker``."""

    def __init__(
        self,
        home: Path,
        client_port: int | None = None,
        controller_port: int | None = None,
        version: str = KAFKA_VERSION,
        tls_port: int | None = None,
    ) -> None:
        self.home = home
        self.dir = home / "broker"
        self.version = version
        self.secrets = SecretStore(home / "secrets")
        self._requested_ports = (client_port, controller_port)
        self._requested_tls_port = tls_port
        self._proc: subprocess.Popen[bytes] | None = None

    # -- files -----------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        """KRaft metadata and topic logs."""
        return self.dir / "data"

    @property
    def log_file(self) -> Path:
        """The broker's own log (stdout and stderr of the JVM)."""
        return self.dir / "broker.log"

    def _state(self) -> dict[str, int | str]:
        file = self.dir / "broker.json"
        return json.loads(file.read_text()) if file.is_file() else {}

    def _config(self) -> BrokerConfig:
        state = self._state()
        client, controller = self._requested_ports
        if client is None:
            client = int(
                state.get("client_port", os.environ.get("MASH_BROKER_PORT", DEFAULT_CLIENT_PORT))
            )
        if controller is None:
            controller = int(
                state.get(
                    "controller_port",
                    os.environ.get("MASH_BROKER_CONTROLLER_PORT", DEFAULT_CONTROLLER_PORT),
                )
            )
        tls_port = self._requested_tls_port
        if tls_port is None:
            # As before; else as asked; else a free one when the client port is picked freely.
            tls_port = int(
                state.get(
                    "tls_port",
                    os.environ.get("MASH_BROKER_TLS_PORT", 0 if client == 0 else DEFAULT_TLS_PORT),
                )
            )
        client = client or free_port()
        controller = controller or free_port()
        return BrokerConfig(
            data_dir=self.data_dir,
            client_port=client,
            controller_port=controller,
            admin_password=self.secrets.get_or_create("kafka-admin").get_secret_value(),
            controller_password=self.secrets.get_or_create("kafka-controller").get_secret_value(),
            tls_port=tls_port or free_port(),
            tls_keystore=self.tls.keystore,
        )

    @property
    def tls(self) -> BrokerTls:
        """The broker's TLS files (ca.pem is what clients on other hosts trust)."""
        return BrokerTls(self.dir / "tls")

    def admin_settings(self) -> KafkaSettings:
        """Client settings for the super user (provisioning and readiness checks)."""
        state = self._state()
        requested = self._requested_ports[0]
        fallback = (
            str(requested)
            if requested
            else os.environ.get("MASH_BROKER_PORT", str(DEFAULT_CLIENT_PORT))
        )
        port = int(state.get("client_port", fallback))
        password = self.secrets.get("kafka-admin")
        if password is None:
            raise NotRunning(
                f"no broker has been set up under {self.dir} (run `mash broker start`)"
            )
        return KafkaSettings(
            bootstrap_servers=f"127.0.0.1:{port}",
            username=ADMIN_USER,
            password=SecretStr(password.get_secret_value()),
        )

    def tls_settings(self, settings: KafkaSettings) -> KafkaSettings:
        """The same principal's settings over the TLS listener (SASL_SSL, trusting ca.pem)."""
        port = self._state().get("tls_port")
        if port is None:
            raise NotRunning(f"the broker under {self.dir} has no TLS listener yet (start it)")
        return KafkaSettings(
            bootstrap_servers=f"127.0.0.1:{port}",
            security_protocol="SASL_SSL",
            sasl_mechanism=settings.sasl_mechanism,
            username=settings.username,
            password=settings.password,
            ssl_cafile=self.tls.ca_file,
        )

    # -- process ---------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The running broker's pid, or None (stale pid files are ignored)."""
        pid_file = self.dir / "broker.pid"
        if not pid_file.is_file():
            return None
        pid = int(pid_file.read_text().strip())
        if self._proc is not None and self._proc.pid == pid:
            return pid if self._proc.poll() is None else None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return None
        return pid if str(self.dir / "server.properties") in cmdline else None

    def _check_data_dir(self) -> str:
        """The cluster id this folder belongs to, creating one for a new folder."""
        id_file = self.dir / "cluster.id"
        meta = self.data_dir / "meta.properties"
        if meta.is_file():
            found = re.search(r"^cluster\.id=(.+)$", meta.read_text(), re.MULTILINE)
            mine = id_file.read_text().strip() if id_file.is_file() else None
            if not found or found.group(1).strip() != mine:
                raise ClusterMismatch(
                    f"{self.data_dir} belongs to another Kafka cluster "
                    f"(cluster.id {found.group(1).strip() if found else '?'}, expected {mine}). "
                    "Point MASH_HOME elsewhere or wipe it with `mash broker reset`."
                )
            return str(mine)
        cid = new_cluster_id()
        id_file.write_text(cid + "\n")
        return cid

    def _java_cmd(self, lib: Path, main: str, *args: str) -> list[str]:
        log4j = resources.files("hub.broker").joinpath("log4j2.properties")
        return [
            "java",
            *_JVM_HEAP,
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp",
            f"{lib}/*",
            main,
            *args,
        ]

    def start(self, timeout: float = 120.0) -> BrokerStatus:
        """Fetch if needed, format once, start, and wait until an admin request succeeds."""
        _java_major()
        lib = fetch_kafka(self.version)
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.pid() is not None:
            return self.wait_ready(timeout)
        cfg = self._config()
        for port in (cfg.client_port, cfg.controller_port, cfg.tls_port):
            if port is not None and not _port_free(cfg.host, port):
                raise PortInUse(
                    f"port {port} on {cfg.host} is already in use by another process; "
                    "choose others with --port/--controller-port (0 picks a free one)"
                )
        cluster_id = self._check_data_dir()
        ensure_broker_tls(self.tls.folder, cfg.host)
        props = self.dir / "server.properties"
        props.write_text(render_server_properties(cfg))
        props.chmod(0o600)
        (self.dir / "broker.json").write_text(
            json.dumps(
                {
                    "client_port": cfg.client_port,
                    "controller_port": cfg.controller_port,
                    "tls_port": cfg.tls_port,
                }
            )
        )
        if not (self.data_dir / "meta.properties").is_file():
            scram = f"SCRAM-SHA-512=[name={ADMIN_USER},password={cfg.admin_password}]"
            fmt = subprocess.run(
                self._java_cmd(
                    lib,
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "-t",
                    cluster_id,
                    "-c",
                    str(props),
                    "--add-scram",
                    scram,
                ),
                capture_output=True,
                text=True,
                check=False,
            )
            if fmt.returncode != 0:
                raise StartFailed(f"formatting {self.data_dir} failed:\n{fmt.stdout}{fmt.stderr}")
        with self.log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                self._java_cmd(lib, "kafka.Kafka", str(props)),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        (self.dir / "broker.pid").write_text(f"{self._proc.pid}\n")
        return self.wait_ready(timeout)

    def _log_tail(self, lines: int = 25) -> str:
        if not self.log_file.is_file():
            return "(no broker log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def _probe(self, timeout: float) -> int | None:
        """Number of topics if an authenticated metadata request succeeds, else None."""
        from confluent_kafka.admin import AdminClient

        quiet = logging.getLogger("hub.broker.probe")
        quiet.setLevel(logging.CRITICAL)
        admin = AdminClient(self.admin_settings().confluent_config() | {"logger": quiet})
        try:
            md = admin.list_topics(timeout=timeout)
        except Exception:
            return None
        return len(md.topics) if md.brokers else None

    def wait_ready(self, timeout: float = 120.0) -> BrokerStatus:
        """Poll with real metadata requests until the broker answers, or raise StartFailed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise StartFailed(
                    f"the broker exited during start-up; last log lines:\n{self._log_tail()}"
                )
            if self._probe(timeout=2.0) is not None:
                return self.status()
            time.sleep(0.25)
        raise StartFailed(
            f"the broker was not ready after {timeout:.0f}s; last log lines:\n{self._log_tail()}"
        )

    def status(self) -> BrokerStatus:
        """Whether the broker runs and answers, with its pid, endpoint and memory."""
        pid = self.pid()
        if pid is None:
            return BrokerStatus(False, False, None, None, None, None)
        topics = self._probe(timeout=3.0)
        bootstrap = self.admin_settings().bootstrap_servers
        tls_port = self._state().get("tls_port")
        return BrokerStatus(
            True,
            topics is not None,
            pid,
            bootstrap,
            _rss_mib(pid),
            topics,
            None if tls_port is None else f"127.0.0.1:{tls_port}",
        )

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM, then SIGKILL after ``timeout``; True if a broker was running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._alive(pid):
            time.sleep(0.1)
        if self._alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while self._alive(pid):
                time.sleep(0.05)
        (self.dir / "broker.pid").unlink(missing_ok=True)
        return True

    def _alive(self, pid: int) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            return self._proc.poll() is None
        return alive(pid)

    def reset(self) -> None:
        """Stop the broker and delete its data (topics, users, ACLs); secrets are kept."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        (self.dir / "cluster.id").unlink(missing_ok=True)
