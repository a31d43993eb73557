"""A throw-away PostgreSQL server for tests, started from Debian's binaries (as the postgres
user when the tests run as root, which PostgreSQL refuses). Missing binaries fail the run."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hub.broker.process import free_port


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError(
        "PostgreSQL server binaries not found: run scripts/setup.sh (installs Debian's postgresql)"
    )


@contextmanager
def postgres_server(password: str | None = None, fsync: bool = False) -> Iterator[str]:
    """Yield a postgresql:// URL to a fresh server on a free loopback port (with
    ``password``, the server asks for it: SCRAM instead of trust; ``fsync``: durable commits,
    as in production, for benchmarks)."""
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="mash-pg-"))
    root.chmod(0o755)
    data, port = root / "data", free_port()
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True)

    try:
        auth = ["-A", "trust"]
        if password is not None:
            (root / "pw").write_text(password)
            auth = ["-A", "scram-sha-256", f"--pwfile={root / 'pw'}"]
        run(str(bindir / "initdb"), "-D", str(data), *auth, "-U", "mash", "--no-sync")
        run(
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "log"),
            "-w",
            "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 "
            f"-c fsync={'on' if fsync else 'off'}",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}") from exc
    try:
        yield f"postgresql://mash@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)
