"""Avro codec: strict writing, single-object framing, logical types, schema evolution."""

from __future__ import annotations

import copy
import json
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from hub.codec import MAGIC, Codec
from hub.errors import MessageRejected, RejectReason
from hub.samples import Samples
from hub.schemas import MESSAGE_TYPES, SchemaRegistry, schemas_dir


@pytest.mark.parametrize("name", MESSAGE_TYPES)
def test_round_trip_every_message_type(name: str) -> None:
    """Encoding then decoding returns the same record, with dates and times as such."""
    codec = Codec()
    record = Samples().of(name)
    data, sha = codec.encode(name, record)
    assert data.startswith(MAGIC + codec.registry.current(name).crc64)
    assert codec.decode(name, data, sha) == record


def test_logical_types_come_back_typed() -> None:
    """Dates decode as date and timestamps as timezone-aware datetimes."""
    codec = Codec()
    record = Samples().referral()
    out = codec.decode("mash.Referral", *codec.encode("mash.Referral", record))
    assert isinstance(out["received_at"], datetime) and out["received_at"].tzinfo is not None
    assert isinstance(out["subjects"][0]["date_of_birth"], date)


def test_unknown_field_is_an_error_not_dropped() -> None:
    """fastavro drops unknown fields unless strict; we refuse them."""
    record = Samples().notification()
    record["nhs_number"] = "9434765919"
    with pytest.raises(MessageRejected) as caught:
        Codec().encode("mash.Notification", record)
    assert caught.value.reason is RejectReason.INVALID_CONTENT


def test_missing_required_field_is_an_error() -> None:
    """A field without a default must be present."""
    record = Samples().notification()
    del record["message"]
    with pytest.raises(MessageRejected) as caught:
        Codec().encode("mash.Notification", record)
    assert caught.value.reason is RejectReason.INVALID_CONTENT


def test_a_field_with_a_default_must_still_be_stated() -> None:
    """Writers state every field: a missing one is refused even where the schema has a
    default (the default is for readers of older records), so nothing is filled in unseen."""
    record = Samples().information_package()
    del record["history"]
    with pytest.raises(MessageRejected) as caught:
        Codec().encode("mash.InformationPackage", record)
    assert caught.value.reason is RejectReason.INVALID_CONTENT and "history" in caught.value.detail


def test_frame_and_body_damage_are_malformed() -> None:
    """Wrong magic, wrong fingerprint, truncated or padded bodies are MALFORMED."""
    codec = Codec()
    data, sha = codec.encode("mash.Notification", Samples().notification())
    for bad in (
        b"\x00\x01" + data[2:],
        data[:2] + b"\x00" * 8 + data[10:],
        data[:-3],
        data + b"\x00",
    ):
        with pytest.raises(MessageRejected) as caught:
            codec.decode("mash.Notification", bad, sha)
        assert caught.value.reason is RejectReason.MALFORMED


def test_unknown_or_mismatched_schema_hash() -> None:
    """A writer schema not in the registry, or of another type, is UNKNOWN_SCHEMA."""
    codec = Codec()
    data, _sha = codec.encode("mash.Notification", Samples().notification())
    _, other = codec.encode("mash.Quarantined", Samples().quarantined())
    for digest in (b"\x00" * 32, other):
        with pytest.raises(MessageRejected) as caught:
            codec.decode("mash.Notification", data, digest)
        assert caught.value.reason is RejectReason.UNKNOWN_SCHEMA


def test_full_schema_hash_sees_logical_types_the_canonical_form_ignores(tmp_path: Path) -> None:
    """Changing a date field to a plain int keeps the CRC-64 but changes the SHA-256."""
    folder = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), folder)
    file = folder / "mash.Notification.avsc"
    schema = json.loads(file.read_text())
    created = next(f for f in schema["fields"] if f["name"] == "created_at")
    created["type"] = "long"
    file.write_text(json.dumps(schema))
    changed = SchemaRegistry(folder).current("mash.Notification")
    original = SchemaRegistry().current("mash.Notification")
    assert changed.crc64 == original.crc64
    assert changed.sha256 != original.sha256


def _evolved_registry(tmp_path: Path) -> SchemaRegistry:
    """The schemas with a new optional field in Notification (a compatible change)."""
    folder = tmp_path / "schemas"
    shutil.copytree(schemas_dir(), folder)
    file = folder / "mash.Notification.avsc"
    schema = json.loads(file.read_text())
    schema["fields"].append({"name": "urgency", "type": "string", "default": "routine"})
    file.write_text(json.dumps(schema))
    return SchemaRegistry(folder)


def test_new_reader_reads_old_messages(tmp_path: Path) -> None:
    """A consumer upgraded to a new schema still reads messages written with the released one."""
    new = Codec(_evolved_registry(tmp_path))
    old_version = new.registry.history("mash.Notification")[-1]
    record = Samples().notification()
    data = Codec.encode_with(old_version, record)
    out = new.decode("mash.Notification", data, old_version.sha256)
    assert out == {**record, "urgency": "routine"}


def test_old_reader_reads_new_messages(tmp_path: Path) -> None:
    """A consumer still on the released schema reads messages from an upgraded producer."""
    new_registry = _evolved_registry(tmp_path)
    record = {**Samples().notification(), "urgency": "immediate"}
    data, sha = Codec(new_registry).encode("mash.Notification", record)
    old = SchemaRegistry()
    old._by_sha[sha] = new_registry.current("mash.Notification")  # learnt from the upgrade
    out = Codec(old).decode("mash.Notification", data, sha)
    expected = copy.deepcopy(record)
    del expected["urgency"]
    assert out == expected


@pytest.mark.parametrize("agency", ["POLICE", "HEALTH", "EDUCATION", "HOUSING"])
def test_union_hints_write_the_same_bytes(agency: str) -> None:
    """Naming the record branch of each agency's findings (the fast path) writes exactly
    what fastavro's own branch search writes, and decodes to the same record."""
    import io

    from fastavro import schemaless_writer

    codec = Codec()
    schema = codec.registry.current("mash.AgencyResponse")
    record = Samples().agency_response(agency)
    assert any(s.get("records") for s in record["subjects"])
    searched = io.BytesIO()
    schemaless_writer(searched, schema.parsed, record, strict=True, strict_allow_default=True)
    data, sha = codec.encode("mash.AgencyResponse", record)
    assert data[len(MAGIC) + 8 :] == searched.getvalue()
    assert codec.decode("mash.AgencyResponse", data, sha) == record


def test_union_hints_leave_misfits_to_the_strict_writer() -> None:
    """A findings dict that fits no branch is not guessed at: it is still rejected."""
    codec = Codec()
    record = Samples().agency_response("HEALTH")
    record["subjects"][0]["records"] = {"gp_registrations": [], "not_a_field": 1}
    with pytest.raises(MessageRejected) as caught:
        codec.encode("mash.AgencyResponse", record)
    assert caught.value.reason is RejectReason.INVALID_CONTENT
