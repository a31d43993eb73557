"""`mash --help` documents every command, and each command has its own help."""

from __future__ import annotations

import click
from click.testing import CliRunner

from hub.cli import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


def test_every_command_has_help_text() -> None:
    """No command is undocumented: each --help exits 0 and says what it does."""
    runner = CliRunner()
    for path in _commands(cli):
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        command = cli
        for word in path:
            assert isinstance(command, click.Group)
            command = command.commands[word]
        assert command.help and len(command.help) > 20, f"mash {' '.join(path)} lacks help"


def test_top_level_help_lists_the_commands() -> None:
    """`mash --help` names the broker and provisioning commands."""
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("broker", "provision"):
        assert name in result.output
