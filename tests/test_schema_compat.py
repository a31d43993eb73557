"""Every schema stays compatible with its released versions (Apache Avro's own checker)."""

from __future__ import annotations

import json

import avro.schema
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType

from hub.errors import RejectReason
from hub.schemas import ENVELOPE_TYPES, MESSAGE_TYPES, default_registry


def _avro(full: dict) -> avro.schema.Schema:
    return avro.schema.parse(json.dumps(full))


@pytest.mark.parametrize("name", MESSAGE_TYPES + ENVELOPE_TYPES)
def test_current_schema_is_compatible_both_ways_with_every_release(name: str) -> None:
    """New readers read old data (backward) and old readers read new data (forward)."""
    registry = default_registry()
    released = registry.history(name)
    assert released, f"{name} has no released version in schemas/history (mash schemas release)"
    current = _avro(registry.current(name).full)
    checker = ReaderWriterCompatibilityChecker()
    for old in released:
        previous = _avro(old.full)
        backward = checker.get_compatibility(reader=current, writer=previous)
        forward = checker.get_compatibility(reader=previous, writer=current)
        assert backward.compatibility is SchemaCompatibilityType.compatible, (name, old.version)
        assert forward.compatibility is SchemaCompatibilityType.compatible, (name, old.version)


def test_an_incompatible_change_would_be_caught() -> None:
    """The checker really detects a breaking change: a new field without a default."""
    full = json.loads(json.dumps(default_registry().current("mash.Notification").full))
    full["fields"].append({"name": "mandatory", "type": "string"})
    result = ReaderWriterCompatibilityChecker().get_compatibility(
        reader=_avro(full), writer=_avro(default_registry().current("mash.Notification").full)
    )
    assert result.compatibility is SchemaCompatibilityType.incompatible


def test_reject_reasons_match_the_avro_enum() -> None:
    """The Python enum and mash.RejectReason stay symbol-for-symbol identical."""
    quarantined = default_registry().current("mash.Quarantined").full
    reason = next(f for f in quarantined["fields"] if f["name"] == "reason")["type"]
    assert reason["symbols"] == [r.value for r in RejectReason]
