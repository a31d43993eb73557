"""Property tests: random or mutated bytes never crash the opener; they raise MessageRejected."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.envelope import Opener, Sealer
from hub.errors import MessageRejected
from hub.replay import MemorySeenMessages
from hub.samples import Samples
from tests.keyring import TestKeys

TOPIC = "mash.responses.police"


@pytest.fixture(scope="module")
def valid(keys: TestKeys) -> bytes:
    """One valid sealed AgencyResponse."""
    record = Samples().agency_response("POLICE")
    data, _ = Sealer(keys.ring("police")).seal(
        topic=TOPIC,
        schema_name="mash.AgencyResponse",
        record=record,
        recipients=["firewall"],
        correlation_id="c",
    )
    return data


def _only_typed_errors(keys: TestKeys, data: bytes) -> None:
    opener = Opener(keys.ring("firewall"), MemorySeenMessages())
    with contextlib.suppress(MessageRejected):
        opener.open(data, topic=TOPIC)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=4096))
def test_random_bytes_never_crash(keys: TestKeys, data: bytes) -> None:
    """Arbitrary bytes give MessageRejected, never another exception."""
    _only_typed_errors(keys, data)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_mutated_messages_never_open_and_never_crash(
    keys: TestKeys, valid: bytes, data: st.DataObject
) -> None:
    """Flipping, cutting or inserting bytes in a valid message is always a typed rejection."""
    blob = bytearray(valid)
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "splice"]))
    at = data.draw(st.integers(0, len(blob) - 1))
    if kind == "flip":
        blob[at] ^= data.draw(st.integers(1, 255))
    elif kind == "truncate":
        del blob[at:]
    elif kind == "insert":
        blob[at:at] = data.draw(st.binary(min_size=1, max_size=16))
    else:
        end = data.draw(st.integers(at, len(blob)))
        blob[at:end] = data.draw(st.binary(max_size=32))
    mutated = bytes(blob)
    opener = Opener(keys.ring("firewall"), MemorySeenMessages())
    if mutated == valid:
        return
    with pytest.raises(MessageRejected):
        opener.open(mutated, topic=TOPIC)
