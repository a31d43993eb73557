"""Correction notices (no broker): who is told, what the notice says, that sending it again is
the same message, and how a package marks the corrected item."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hub.corrections import ACTIONS, correction_notice, notice_id, readers, send_notices
from hub.envelope import Opener, Sealer
from hub.errors import MessageRejected, RejectReason
from hub.render import correction_line, correction_text, package_text
from hub.replay import MemorySeenMessages
from hub.samples import Samples
from hub.topology import Topology
from hub.transport.memory import MemoryBroker
from tests.keyring import TestKeys

DISCLOSED = datetime(2026, 11, 20, 14, 5, tzinfo=UTC)


def _entry(recipients: list[str], **changes: object) -> dict[str, object]:
    """A `correct` log entry as `mash audit correct` appends it."""
    return {
        "entry_id": "correct-0123456789abcdef0123456789abcdef",
        "correlation_id": "ref-1",
        "at": "2026-11-23T09:30:00+00:00",
        "operation": "correct",
        "corrects": "origin-3",
        "correction": "wrong-person",
        "reason": "the record matched another child of the same name",
        "agency": "POLICE",
        "data_category": "police.domestic_abuse_incidents",
        "record_id": "DA-1042",
        "recipients": recipients,
        "personal_data_breach": True,
        **changes,
    }


def test_each_recipient_is_told_through_the_principal_that_reads_it_once() -> None:
    """The collator only assembles packages: their reader, the duty manager, is told; a
    product's recipient team through the principal that reads its products; each once."""
    assert readers(["collator", "dutymanager", "police"]) == ["dutymanager", "police"]
    assert readers(["locality-east"]) == ["locality-east"]
    products = {"social-care-assessment": "dutymanager", "police-strategy": "police"}
    assert readers(["social-care-assessment", "police-strategy", "collator"], products) == [
        "dutymanager",
        "police",
    ]


def test_the_notice_names_the_item_what_was_wrong_and_what_to_do() -> None:
    """The notice identifies the disclosure by referral, agency, category and record id, and
    carries IG's reason, the breach flag and the action for the kind of correction."""
    notice = correction_notice(_entry(["collator"]), DISCLOSED)
    assert notice["kind"] == "WRONG_PERSON" and notice["action"] == ACTIONS["WRONG_PERSON"]
    assert (notice["referral_id"], notice["corrects_entry_id"]) == ("ref-1", "origin-3")
    assert (notice["data_category"], notice["record_id"]) == (
        "police.domestic_abuse_incidents",
        "DA-1042",
    )
    assert notice["disclosed_at"] == DISCLOSED and notice["personal_data_breach"] is True
    late = correction_notice(_entry([], correction="out-of-date"), DISCLOSED)
    assert late["kind"] == "OUT_OF_DATE" and "current position" in late["action"]


async def test_each_reader_gets_a_notice_sealed_to_it_alone(keys: TestKeys) -> None:
    """One notice per reader on its own topic, readable by it and no one else; a recipient
    with no correction topic is reported to be told another way; sent again, the same ids."""
    broker, topology = MemoryBroker(), Topology.load()
    notice_for = ["collator", "police", "health"]
    notice = correction_notice(_entry(notice_for), DISCLOSED)
    sealer = Sealer(keys.ring("auditor"))
    told, untold = await send_notices(notice, notice_for, sealer, topology, broker)
    assert (told, untold) == (["dutymanager", "police"], ["health"])
    [to_dm] = broker.messages("mash.corrections.dutymanager")
    [to_police] = broker.messages("mash.corrections.police")
    opened = Opener(keys.ring("dutymanager"), MemorySeenMessages()).open(
        to_dm.value, topic="mash.corrections.dutymanager"
    )
    assert opened.record == notice and opened.header.sender == "auditor"
    assert opened.header.message_id == notice_id(notice["correction_id"], "dutymanager")
    assert to_dm.key == b"ref-1"
    with pytest.raises(MessageRejected) as refused:
        Opener(keys.ring("dutymanager"), MemorySeenMessages()).open(
            to_police.value, topic="mash.corrections.police"
        )
    assert refused.value.reason is RejectReason.NOT_A_RECIPIENT
    await send_notices(notice, ["collator"], sealer, topology, broker)
    again = broker.messages("mash.corrections.dutymanager")[1]
    assert (
        Opener(keys.ring("dutymanager"), MemorySeenMessages())
        .open(again.value, topic="mash.corrections.dutymanager")
        .header.message_id
        == opened.header.message_id
    )


def test_the_package_marks_the_corrected_item_and_only_it() -> None:
    """In the duty manager's view the corrected item carries a mark under it, the other items
    none, and the correction itself reads in words."""
    package = Samples().information_package()
    items = [i for f in package["findings"] for s in f["subjects"] for i in s["items"]]
    target = next(i for i in items if i["record_id"])
    notice = correction_notice(
        _entry(["collator"], data_category=target["category"], record_id=target["record_id"]),
        DISCLOSED,
    )
    text = package_text(package, [notice]).splitlines()
    marks = [n for n, line in enumerate(text) if "!! CORRECTED (wrong person)" in line]
    label = target["category"].split(".", 1)[1].replace("_", " ")
    assert len(marks) == 1 and label in text[marks[0] - 1]
    assert "!! CORRECTED" not in package_text(package)
    words = correction_text(notice)
    assert "CORRECTION (wrong person)" in words and "personal data breach" in words
    assert "the record matched another child" in words and ACTIONS["WRONG_PERSON"] in words


def test_one_line_per_correction_flags_a_breach() -> None:
    """The listing line names the referral, the kind and the item, and BREACH for a wrong
    person only."""
    wrong = correction_line(correction_notice(_entry(["collator"]), DISCLOSED))
    assert wrong.startswith("2026-11-23 09:30  ref-1  wrong-person")
    assert "police.domestic_abuse_incidents DA-1042" in wrong and wrong.endswith("BREACH")
    stale = _entry(["collator"], correction="out-of-date", personal_data_breach=False)
    assert not correction_line(correction_notice(stale, DISCLOSED)).endswith("BREACH")
