"""Records written in parts: a referral's subjects encoded once for the batch, same bytes,
same strictness."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from hub.codec import Codec
from hub.codec_parts import Shared, parts_for
from hub.errors import MessageRejected, RejectReason
from hub.samples import Samples


def _batch(samples: Samples) -> list[tuple[str, dict[str, Any]]]:
    """What the firewall seals for one referral: a request per agency and the case opened,
    all holding the very same subjects list."""
    case = samples.case_opened()
    subjects = case["referral"]["subjects"]
    requests = []
    for agency in ("POLICE", "HEALTH", "EDUCATION", "HOUSING"):
        request = samples.information_request(agency)
        request["subjects"] = subjects
        requests.append(("mash.InformationRequest", request))
    return [*requests, ("mash.CaseOpened", case)]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_parts_write_the_same_bytes_as_one_write(seed: int) -> None:
    """Each record of a batch encodes to exactly the bytes of a plain strict write."""
    codec, shared = Codec(), Shared()
    for name, record in _batch(Samples(seed)):
        plain, sha = codec.encode(name, record)
        assert codec.encode(name, record, shared) == (plain, sha)
        assert codec.decode(name, plain, sha) == record


def test_a_shared_value_is_reused_only_for_the_same_object() -> None:
    """An equal-looking but different subjects list is encoded on its own."""
    codec, shared = Codec(), Shared()
    samples = Samples(9)
    first = samples.information_request()
    second = copy.deepcopy(first)
    second["subjects"][0]["given_names"] = "Changed"
    data1, sha = codec.encode("mash.InformationRequest", first, shared)
    data2, _ = codec.encode("mash.InformationRequest", second, shared)
    decoded = codec.decode("mash.InformationRequest", data2, sha)
    assert decoded["subjects"][0]["given_names"] == "Changed"
    assert codec.decode("mash.InformationRequest", data1, sha)["subjects"] != decoded["subjects"]


@pytest.mark.parametrize(
    ("name", "spoil"),
    [
        ("mash.InformationRequest", lambda r: r.update(extra=1)),
        ("mash.InformationRequest", lambda r: r.pop("request_id")),
        ("mash.InformationRequest", lambda r: r["subjects"][0].update(extra=1)),
        ("mash.InformationRequest", lambda r: r["subjects"][0].update(date_of_birth=3.5)),
        ("mash.InformationRequest", lambda r: r.update(subjects="not a list")),
        ("mash.CaseOpened", lambda r: r["referral"].update(extra=1)),
        ("mash.CaseOpened", lambda r: r.update(referral=["not", "a", "record"])),
        ("mash.CaseOpened", lambda r: r["referral"].pop("consent")),
        ("mash.CaseOpened", lambda r: r.update(route=7)),
    ],
)
def test_parts_are_as_strict_as_one_write(name: str, spoil: Any) -> None:
    """Unknown or missing fields and wrong types are INVALID_CONTENT, in every part."""
    record = Samples(3).of(name)
    spoil(record)
    for shared in (None, Shared()):
        with pytest.raises(MessageRejected) as caught:
            Codec().encode(name, record, shared)
        assert caught.value.reason is RejectReason.INVALID_CONTENT


def test_a_rejected_shared_value_is_not_remembered() -> None:
    """A subjects list that failed to encode fails again for the next record of the batch."""
    codec, shared = Codec(), Shared()
    request = Samples(4).information_request()
    request["subjects"][0]["date_of_birth"] = "not a date"
    for _ in range(2):
        with pytest.raises(MessageRejected):
            codec.encode("mash.InformationRequest", request, shared)


def test_only_schemas_holding_subjects_are_written_in_parts() -> None:
    """Types without a subjects array keep the single write."""
    registry = Codec().registry
    assert parts_for(registry.current("mash.InformationRequest").full) is not None
    assert parts_for(registry.current("mash.CaseOpened").full) is not None
    assert parts_for(registry.current("mash.Notification").full) is None
    assert parts_for(registry.current("mash.AgencyResponse").full) is None
