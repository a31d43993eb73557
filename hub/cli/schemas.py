"""`mash schemas ...`: list message schemas, release versions, check compatibility."""

from __future__ import annotations

import json

import click

from hub.schemas import SchemaRegistry


@click.group()
def schemas() -> None:
    """Avro schemas of every message type, their fingerprints and released versions."""


@schemas.command("list")
def list_schemas() -> None:
    """Each message type with its SHA-256, CRC-64 fingerprint and released versions."""
    registry = SchemaRegistry()
    for name in registry.names():
        current = registry.current(name)
        versions = [v.version for v in registry.history(name)]
        released = (
            "released"
            if any(v.sha256 == current.sha256 for v in registry.history(name))
            else "UNRELEASED CHANGES"
        )
        click.echo(
            f"{name:30} sha256 {current.sha256.hex()[:16]}  crc64 {current.crc64.hex()}  "
            f"versions {versions}  {released}"
        )


@schemas.command()
def check() -> None:
    """Fail unless every schema is backward and forward compatible with all its releases."""
    import avro.schema
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

    registry = SchemaRegistry()
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    failures = []
    for name in registry.names():
        current = avro.schema.parse(json.dumps(registry.current(name).full))
        for old in registry.history(name):
            previous = avro.schema.parse(json.dumps(old.full))
            for reader, writer, way in (
                (current, previous, "backward"),
                (previous, current, "forward"),
            ):
                result = checker.get_compatibility(reader=reader, writer=writer)
                if result.compatibility is not SchemaCompatibilityType.compatible:
                    failures.append(f"{name} v{old.version}: not {way} compatible")
    for failure in failures:
        click.echo(failure, err=True)
    if failures:
        raise SystemExit(1)
    click.echo(f"{len(registry.names())} schemas compatible with all released versions")


@schemas.command()
def release() -> None:
    """Record each changed schema as its next released version under schemas/history/."""
    registry = SchemaRegistry()
    for name in registry.names():
        version = registry.release(name)
        if version is not None:
            click.echo(f"released {name} v{version}")
