"""Sealed envelopes open only for their recipients, and every failed check has its own reason."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta

import pytest

from hub.codec import Codec
from hub.envelope import Opener, Sealer
from hub.envelope.format import EnvelopeCodec, key_commitment
from hub.errors import MessageRejected, Redelivered, RejectReason, Resent
from hub.keys import KeyUse
from hub.replay import MemorySeenMessages
from hub.samples import Samples
from hub.schemas import MESSAGE_TYPES
from tests.forge import parse, rebuild, resign
from tests.keyring import TestKeys

TOPIC = "mash.responses.police"


@pytest.fixture
def envelopes() -> EnvelopeCodec:
    """Header/sealed-message codec."""
    return EnvelopeCodec(Codec().registry)


def _sealed(
    keys: TestKeys,
    record: dict | None = None,
    recipients: tuple[str, ...] = ("firewall",),
    topic: str = TOPIC,
    **kw: object,
) -> bytes:
    record = record or Samples().agency_response("POLICE")
    data, _ = Sealer(keys.ring("police"), **kw).seal(  # type: ignore[arg-type]
        topic=topic,
        schema_name="mash.AgencyResponse",
        record=record,
        recipients=recipients,
        correlation_id=record["referral_id"],
    )
    return data


def _open(
    keys: TestKeys,
    data: bytes,
    who: str = "firewall",
    topic: str = TOPIC,
    seen: MemorySeenMessages | None = None,
) -> dict:
    return Opener(keys.ring(who), seen or MemorySeenMessages()).open(data, topic=topic).record


def _reason(keys: TestKeys, data: bytes, **kw: object) -> RejectReason:
    with pytest.raises(MessageRejected) as caught:
        _open(keys, data, **kw)  # type: ignore[arg-type]
    return caught.value.reason


@pytest.mark.parametrize("schema_name", MESSAGE_TYPES)
def test_every_message_type_round_trips_sealed(keys: TestKeys, schema_name: str) -> None:
    """Seal then open gives back exactly the record, for every message type."""
    record = Samples().of(schema_name)
    data, header = Sealer(keys.ring("firewall")).seal(
        topic="mash.disclosures",
        schema_name=schema_name,
        record=record,
        recipients=["collator", "dutymanager"],
        correlation_id="ref-1",
    )
    for reader in ("collator", "dutymanager"):
        opened = Opener(keys.ring(reader), MemorySeenMessages()).open(
            data, topic="mash.disclosures"
        )
        assert opened.record == record
        assert opened.header.sender == "firewall"
        assert opened.header.message_id == header.message_id


def test_ciphertext_hides_the_payload(keys: TestKeys) -> None:
    """Names and narrative never appear in the sealed bytes."""
    record = Samples().agency_response("POLICE")
    data = _sealed(keys, record)
    for subject in record["subjects"]:
        narrative = subject["records"]["crime_reports"][0]["narrative"]
        assert narrative.encode() not in data
    assert record["referral_id"].encode() in data  # the correlation id is metadata, not personal


def test_malformed_bytes(keys: TestKeys) -> None:
    """Garbage, an empty value and a truncated envelope are MALFORMED."""
    assert _reason(keys, b"") is RejectReason.MALFORMED
    assert _reason(keys, b"hello world") is RejectReason.MALFORMED
    assert _reason(keys, _sealed(keys)[:-10]) is RejectReason.MALFORMED


def test_unknown_sender_key(keys: TestKeys, envelopes: EnvelopeCodec) -> None:
    """A key id absent from the directory is refused before anything else."""
    sealed, _ = parse(envelopes, _sealed(keys))
    forged = resign(envelopes, sealed, keys.ring("police").signing_key, sender_key_id="00" * 16)
    assert _reason(keys, forged) is RejectReason.UNKNOWN_SENDER_KEY


def test_forged_sender_with_another_principals_key(
    keys: TestKeys, envelopes: EnvelopeCodec
) -> None:
    """Health signing as 'police' with its own key id: the key's owner is not the sender."""
    sealed, _ = parse(envelopes, _sealed(keys))
    health = keys.ring("health")
    forged = resign(envelopes, sealed, health.signing_key, sender_key_id=health.signing_key_id)
    assert _reason(keys, forged) is RejectReason.UNKNOWN_SENDER_KEY


def test_forged_signature_claiming_police_key(keys: TestKeys, envelopes: EnvelopeCodec) -> None:
    """Health signing with its key but naming police's key id: the signature does not verify."""
    sealed, _ = parse(envelopes, _sealed(keys))
    forged = resign(envelopes, sealed, keys.ring("health").signing_key)
    assert _reason(keys, forged) is RejectReason.BAD_SIGNATURE


def test_tampered_ciphertext_and_header(keys: TestKeys, envelopes: EnvelopeCodec) -> None:
    """Any change to ciphertext, wrapped keys or header breaks the signature."""
    sealed, _ = parse(envelopes, _sealed(keys))
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    tampered = envelopes.encode_sealed(dataclasses.replace(sealed, ciphertext=flipped))
    assert _reason(keys, tampered) is RejectReason.BAD_SIGNATURE
    header = bytearray(sealed.header_bytes)
    header[-40] ^= 1
    tampered = envelopes.encode_sealed(dataclasses.replace(sealed, header_bytes=bytes(header)))
    assert _reason(keys, tampered) in {RejectReason.BAD_SIGNATURE, RejectReason.MALFORMED}
    kid, blob = sealed.wrapped_keys[0]
    tampered = envelopes.encode_sealed(
        dataclasses.replace(sealed, wrapped_keys=((kid, blob[:-1] + bytes([blob[-1] ^ 1])),))
    )
    assert _reason(keys, tampered) is RejectReason.BAD_SIGNATURE


def test_revoked_sender_key(tmp_path: object) -> None:
    """After revocation, messages signed by the key are refused as REVOKED_KEY."""
    local = TestKeys(tmp_path)  # type: ignore[arg-type]
    data = _sealed(local)
    local.store.revoke(local.ring("police").signing_key_id, "compromised")
    opener = Opener(local.reload("firewall"), MemorySeenMessages())
    with pytest.raises(MessageRejected) as caught:
        opener.open(data, topic=TOPIC)
    assert caught.value.reason is RejectReason.REVOKED_KEY


def test_unsupported_version(keys: TestKeys, envelopes: EnvelopeCodec) -> None:
    """A validly signed envelope of an unknown version is refused."""
    sealed, _ = parse(envelopes, _sealed(keys))
    forged = resign(envelopes, sealed, keys.ring("police").signing_key, version=2)
    assert _reason(keys, forged) is RejectReason.UNSUPPORTED_VERSION


def test_wrong_topic(keys: TestKeys) -> None:
    """A message sealed for one topic and replayed onto another is refused."""
    data = _sealed(keys, topic="mash.responses.police")
    assert _reason(keys, data, topic="mash.responses.health") is RejectReason.WRONG_TOPIC


def test_expired_and_future_messages(keys: TestKeys, envelopes: EnvelopeCodec) -> None:
    """Past its expiry, or created too far in the future, a message is EXPIRED."""
    sealed, _header = parse(envelopes, _sealed(keys))
    police = keys.ring("police").signing_key
    now = datetime.now(UTC)
    lapsed = resign(envelopes, sealed, police, expires_at=now - timedelta(seconds=1))
    assert _reason(keys, lapsed) is RejectReason.EXPIRED
    early = resign(envelopes, sealed, police, created_at=now + timedelta(hours=1))
    assert _reason(keys, early) is RejectReason.EXPIRED
    before_key = resign(envelopes, sealed, police, created_at=now - timedelta(days=3))
    assert _reason(keys, before_key) is RejectReason.EXPIRED


def test_replay_is_refused(keys: TestKeys) -> None:
    """The same message id twice: the second is a REPLAY."""
    data = _sealed(keys)
    seen = MemorySeenMessages()
    _open(keys, data, seen=seen)
    assert _reason(keys, data, seen=seen) is RejectReason.REPLAY


def test_the_same_record_again_is_a_redelivery_and_a_copy_elsewhere_a_replay(
    keys: TestKeys,
) -> None:
    """A message processed at a topic, partition and offset, consumed there again, is a
    redelivery (skipped, not quarantined); the same envelope at another offset, or where
    the position is not known, is still a REPLAY."""
    data = _sealed(keys)
    seen = MemorySeenMessages()
    opener = Opener(keys.ring("firewall"), seen)
    first = opener.open(data, topic=TOPIC, remember=False, position=f"{TOPIC}:0:7")
    assert first.position == f"{TOPIC}:0:7" and not seen.seen(first.header.message_id)
    opener.remember_all([first])
    with pytest.raises(Redelivered) as again:
        opener.open(data, topic=TOPIC, position=f"{TOPIC}:0:7")
    assert again.value.message_id == first.header.message_id
    for elsewhere in (f"{TOPIC}:0:8", f"{TOPIC}:1:7", ""):
        with pytest.raises(MessageRejected) as replay:
            opener.open(data, topic=TOPIC, position=elsewhere)
        assert replay.value.reason is RejectReason.REPLAY


def test_the_senders_new_sealing_is_a_resend_and_the_same_envelope_a_replay(
    keys: TestKeys,
) -> None:
    """A message processed once, sealed again by its sender with the same message id (as a
    service does when it redoes its work) is a re-send, skipped; the first envelope published
    again elsewhere is still a REPLAY; a reader that does not say where it consumed sees both
    as REPLAY."""
    record = Samples().agency_response("POLICE")
    sealer = Sealer(keys.ring("police"))
    how = {
        "topic": TOPIC,
        "schema_name": "mash.AgencyResponse",
        "recipients": ["firewall"],
        "message_id": "3c6a2f7e-0000-4000-8000-000000000001",
        "correlation_id": "ref-1",
    }
    first, _ = sealer.seal(record=record, **how)  # type: ignore[arg-type]
    again, _ = sealer.seal(record=record, **how)  # type: ignore[arg-type]
    assert first != again
    opener = Opener(keys.ring("firewall"), MemorySeenMessages())
    opener.remember_all([opener.open(first, topic=TOPIC, remember=False, position="t:0:1")])
    with pytest.raises(Resent):
        opener.open(again, topic=TOPIC, position="t:0:2")
    with pytest.raises(MessageRejected) as replay:
        opener.open(first, topic=TOPIC, position="t:0:3")
    assert replay.value.reason is RejectReason.REPLAY
    for data in (first, again):
        with pytest.raises(MessageRejected) as unplaced:
            opener.open(data, topic=TOPIC)
        assert unplaced.value.reason is RejectReason.REPLAY


def test_a_forged_copy_at_the_same_position_is_not_a_redelivery(
    keys: TestKeys, envelopes: EnvelopeCodec
) -> None:
    """Only a verified envelope can be skipped as a redelivery: a re-signed copy of a
    processed message is refused for its signature first."""
    data = _sealed(keys)
    seen = MemorySeenMessages()
    opener = Opener(keys.ring("firewall"), seen)
    opener.remember_all([opener.open(data, topic=TOPIC, remember=False, position="t:0:1")])
    sealed, _ = parse(envelopes, data)
    forged = resign(envelopes, sealed, keys.ring("health").signing_key)
    with pytest.raises(MessageRejected) as caught:
        opener.open(forged, topic=TOPIC, position="t:0:1")
    assert caught.value.reason is RejectReason.BAD_SIGNATURE


def test_not_a_recipient(keys: TestKeys) -> None:
    """Only the named recipients can open; the collator cannot read police's response."""
    data = _sealed(keys, recipients=("firewall",))
    assert _reason(keys, data, who="collator") is RejectReason.NOT_A_RECIPIENT


def test_key_commitment_mismatch(keys: TestKeys, envelopes: EnvelopeCodec) -> None:
    """A sender that commits to one data key and wraps another is caught."""
    _, header = parse(envelopes, _sealed(keys))
    real_key, other_key = os.urandom(32), os.urandom(32)
    header = dataclasses.replace(header, key_commitment=key_commitment(real_key))
    forged = rebuild(envelopes, header, b"x", other_key, "firewall", keys.ring("police"))
    assert _reason(keys, forged) is RejectReason.KEY_COMMITMENT_MISMATCH


def test_decrypt_failure(keys: TestKeys, envelopes: EnvelopeCodec) -> None:
    """A signed envelope whose ciphertext is not AES-GCM under the committed key."""
    _, header = parse(envelopes, _sealed(keys))
    data_key = os.urandom(32)
    header = dataclasses.replace(header, key_commitment=key_commitment(data_key))
    forged = rebuild(
        envelopes, header, b"", data_key, "firewall", keys.ring("police"), ciphertext=os.urandom(64)
    )
    assert _reason(keys, forged) is RejectReason.DECRYPT_FAILURE


def test_unknown_schema(keys: TestKeys) -> None:
    """A payload whose schema fingerprint the registry does not know is refused."""
    sealer = Sealer(keys.ring("police"))
    payload, _ = sealer.codec.encode("mash.Notification", Samples().notification())
    data, _ = sealer.seal_bytes(
        topic=TOPIC,
        schema_name="mash.Notification",
        schema_sha256=os.urandom(32),
        payload=payload,
        recipients=["firewall"],
        correlation_id="c",
    )
    assert _reason(keys, data) is RejectReason.UNKNOWN_SCHEMA


def test_unexpected_message_type_on_a_topic(keys: TestKeys) -> None:
    """An opener that expects AgencyResponse refuses a Notification."""
    data, _ = Sealer(keys.ring("police")).seal(
        topic=TOPIC,
        schema_name="mash.Notification",
        record=Samples().notification(),
        recipients=["firewall"],
        correlation_id="c",
    )
    opener = Opener(keys.ring("firewall"), MemorySeenMessages())
    with pytest.raises(MessageRejected) as caught:
        opener.open(data, topic=TOPIC, expect={"mash.AgencyResponse"})
    assert caught.value.reason is RejectReason.UNKNOWN_SCHEMA


def test_invalid_content_is_refused_at_sealing(keys: TestKeys) -> None:
    """A record that does not fit its schema never leaves the sender."""
    record = Samples().agency_response("POLICE")
    record["surprise"] = "extra field"
    with pytest.raises(MessageRejected) as caught:
        _sealed(keys, record)
    assert caught.value.reason is RejectReason.INVALID_CONTENT


def test_rotation_overlap_keeps_old_messages_openable(tmp_path: object) -> None:
    """Messages sealed before a rotation still open during the overlap; new ones use new keys."""
    local = TestKeys(tmp_path)  # type: ignore[arg-type]
    before = _sealed(local)
    old_kid = local.ring("firewall").directory.current("firewall", KeyUse.ENCRYPT)
    local.store.rotate("firewall")
    local.store.rotate("police")
    firewall = local.reload("firewall")
    police = local.reload("police")
    assert Opener(firewall, MemorySeenMessages()).open(before, topic=TOPIC).record
    after, header = Sealer(police).seal(
        topic=TOPIC,
        schema_name="mash.Notification",
        record=Samples().notification(),
        recipients=["firewall"],
        correlation_id="c",
    )
    assert old_kid is not None and old_kid.key_id not in header.recipient_key_ids
    assert Opener(firewall, MemorySeenMessages()).open(after, topic=TOPIC).record
