"""The highest key-directory serial a service has used, kept in its state folder: a directory
put back to an older serial (which could undo a revocation) is refused at start as well as
while running, not only until the next restart. The mark belongs to one root key: keys set
up afresh under a new root start their serials again."""

from __future__ import annotations

import os
from pathlib import Path

from hub.keys.directory import KeyDirectory
from hub.keys.ring import KeysUnavailable


class HighestSerial:
    """The serial mark of one service (a small file, replaced atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> tuple[str, int]:
        try:
            root, serial = self.path.read_text().split()
            return root, int(serial)
        except FileNotFoundError:
            return "", 0
        except ValueError as exc:
            raise KeysUnavailable(f"{self.path} does not hold a root key id and serial") from exc

    def value(self, directory: KeyDirectory) -> int:
        """The highest serial recorded under ``directory``'s root key (0 if none)."""
        root, serial = self._read()
        return serial if root == directory.root_key_id else 0

    def admit(self, directory: KeyDirectory) -> None:
        """Record ``directory``'s serial if it is the highest yet under its root;
        KeysUnavailable if it is lower than one already used here (a rollback)."""
        held = self.value(directory)
        if directory.serial < held:
            raise KeysUnavailable(
                f"key directory serial {directory.serial} is older than serial {held} already "
                "used here: a rollback (which could undo a revocation) is refused; put the "
                "current directory back"
            )
        if directory.serial > held or self._read()[0] != directory.root_key_id:
            fresh = self.path.with_name(self.path.name + ".new")
            fresh.write_text(f"{directory.root_key_id} {directory.serial}\n")
            os.replace(fresh, self.path)
