"""Fetch the Apache Kafka broker jars from Maven Central into an ignored cache, once."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from hub.broker.errors import FetchFailed, ToolMissing
from hub.paths import cache_dir

KAFKA_VERSION = "4.1.1"
_MARKER = ".complete"


def kafka_lib_dir(version: str = KAFKA_VERSION, cache: Path | None = None) -> Path:
    """Folder that holds (or will hold) the broker's jars for ``version``."""
    return (cache or cache_dir()) / "kafka" / version / "lib"


def is_fetched(version: str = KAFKA_VERSION, cache: Path | None = None) -> bool:
    """True when a complete jar set is cached (the fetch finished and was not interrupted)."""
    return (kafka_lib_dir(version, cache) / _MARKER).is_file()


def fetch_kafka(version: str = KAFKA_VERSION, cache: Path | None = None) -> Path:
    """Resolve kafka_2.13 and its runtime dependencies with Maven; no network once cached."""
    lib = kafka_lib_dir(version, cache)
    if is_fetched(version, cache):
        return lib
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ToolMissing(
            "Apache Maven (mvn) is not installed; it fetches the Kafka jars from Maven Central. "
            "Install it (Debian: apt-get install maven) or run scripts/setup.sh."
        )
    lib.parent.mkdir(parents=True, exist_ok=True)
    pom = resources.files("hub.broker").joinpath("pom.xml")
    with tempfile.TemporaryDirectory(dir=lib.parent) as tmp, resources.as_file(pom) as pom_path:
        staging = Path(tmp) / "lib"
        cmd = [
            mvn,
            "-B",
            "-q",
            "-f",
            str(pom_path),
            f"-Dkafka.version={version}",
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            raise FetchFailed(
                f"Maven could not fetch org.apache.kafka:kafka_2.13:{version}:\n" + "\n".join(tail)
            )
        jars = sorted(p.name for p in staging.glob("*.jar"))
        if not any(j.startswith("kafka_2.13-") for j in jars):
            raise FetchFailed(f"Maven finished but no kafka_2.13 jar arrived in {staging}")
        (staging / _MARKER).write_text("\n".join(jars) + "\n")
        if lib.exists():
            shutil.rmtree(lib)
        staging.rename(lib)
    return lib
