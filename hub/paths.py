"""Where MASH Exchange keeps its state: the run folder (MASH_HOME) and the download cache."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def project_root() -> Path | None:
    """The source checkout this package runs from, or None when installed elsewhere."""
    return _PACKAGE_ROOT if (_PACKAGE_ROOT / "pyproject.toml").is_file() else None


def mash_home() -> Path:
    """The run folder: broker data, secrets, keys, databases and logs (env MASH_HOME)."""
    if env := os.environ.get("MASH_HOME"):
        return Path(env).expanduser().resolve()
    root = project_root()
    return (root / ".mash") if root else Path.home() / ".local" / "state" / "mash-exchange"


def cache_dir() -> Path:
    """The download cache for the Kafka jars (env MASH_CACHE_DIR); ignored by git."""
    if env := os.environ.get("MASH_CACHE_DIR"):
        return Path(env).expanduser().resolve()
    root = project_root()
    return (root / ".cache") if root else Path.home() / ".cache" / "mash-exchange"
