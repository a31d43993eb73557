"""Local secret files (SCRAM passwords, key passphrases) kept 0600 under the run folder.

Production deployments pass secrets through the environment or mounted files instead; the
store only generates them for the embedded, single-machine set-up.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import SecretStr


class SecretStore:
    """Named secrets in one folder: read if present, generated once if not."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, name: str) -> Path:
        """File that holds the secret called ``name``."""
        if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ValueError(f"bad secret name {name!r}")
        return self.folder / f"{name}.secret"

    def get(self, name: str) -> SecretStr | None:
        """The secret, from env MASH_SECRET_<NAME> or its file; None if neither exists."""
        env_name = "MASH_SECRET_" + name.upper().replace("-", "_").replace(".", "_")
        if env_name in os.environ:
            return SecretStr(os.environ[env_name])
        file = self.path(name)
        return SecretStr(file.read_text().strip()) if file.is_file() else None

    def get_or_create(self, name: str) -> SecretStr:
        """The secret, generating a random URL-safe one (no commas) the first time."""
        existing = self.get(name)
        if existing is not None:
            return existing
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        value = secrets.token_urlsafe(32)
        file = self.path(name)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(value + "\n")
        return SecretStr(value)
