"""IG's correction reaches the duty manager over the real broker: `mash audit correct` records
it and sends a notice sealed to the package's reader; the duty manager's inbox takes it in and
marks the item in the package; done again, nothing is doubled."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hub.cli import cli
from hub.disclosure_log import DisclosureLog
from hub.dutymanager import Inbox
from hub.samples import Samples
from hub.topology import Topology
from tests.brokers import KafkaCluster
from tests.keyring import TestKeys

pytestmark = pytest.mark.broker


def _disclosure(package: dict, item: dict) -> dict:
    """The firewall's log entry for releasing ``item`` to the collator (for the package)."""
    return {
        "entry_id": "origin-0",
        "correlation_id": package["referral_id"],
        "at": "2026-11-20T14:05:00+00:00",
        "operation": "disclose",
        "decision": "RELEASED",
        "agency": "POLICE",
        "level": "LEVEL_2",
        "data_category": item["category"],
        "record_id": item["record_id"],
        "recipients": ["collator"],
        "subject_pseudonyms": ["ps:0123456789abcdef0123456789abcdef"],
        "retention_class": "s17-until-25th-birthday-of-youngest-child",
    }


async def test_a_correction_reaches_the_duty_manager_and_marks_the_package_item(
    kafka: KafkaCluster,
    topology: Topology,
    keys: TestKeys,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mash audit correct` as the auditor, then `mash packages show` and `corrections` as the
    duty manager: one notice, the package's item marked; corrected again, still one."""
    package = Samples().information_package()
    items = [i for f in package["findings"] for s in f["subjects"] for i in s["items"]]
    item = next(i for i in items if i["record_id"])
    ns = topology.namespace
    log = DisclosureLog(tmp_path / "state" / f"{ns}.firewall" / "disclosure-log.db")
    log.append([_disclosure(package, item)])
    log.close()
    for name in ("MASH_LOG_URL", "MASH_STATE_URL", "MASH_BROKER_TLS"):
        monkeypatch.delenv(name, raising=False)
    auditor = {
        "MASH_HOME": str(tmp_path),
        "MASH_NAMESPACE": ns,
        "MASH_KEYS_DIR": str(keys.store.folder),
        "MASH_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
    }

    def mash(who: str, *args: str) -> Result:
        env = {
            **auditor,
            "MASH_KEY_PASSPHRASE": f"test-passphrase-{who}",
            "MASH_KAFKA_USERNAME": who,
            "MASH_KAFKA_PASSWORD": kafka.password(who),
        }
        return CliRunner().invoke(cli, list(args), env=env)

    correct = ["audit", "correct", "origin-0", "--kind", "wrong-person", "--by", "J. Patel (IG)"]
    correct += ["--reason", "the incident concerned another child of the same name"]
    first = await asyncio.to_thread(mash, "auditor", *correct)
    assert first.exit_code == 0, first.output
    assert "told: dutymanager (a sealed correction notice each)" in first.output
    inbox = Inbox(tmp_path / "state" / "dutymanager" / "inbox.db")
    inbox.add("mash.InformationPackage", package)  # received before the correction
    inbox.close()
    shown = await asyncio.to_thread(mash, "dutymanager", "packages", "show", package["referral_id"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.count("!! CORRECTED (wrong person) by information governance") == 1
    assert "CORRECTION (wrong person)" in shown.output
    inbox = Inbox(tmp_path / "state" / "dutymanager" / "inbox.db")
    [notice] = inbox.messages("mash.Correction", package["referral_id"])
    inbox.close()
    assert notice["kind"] == "WRONG_PERSON" and notice["personal_data_breach"] is True
    assert (notice["data_category"], notice["record_id"]) == (item["category"], item["record_id"])
    assert notice["corrects_entry_id"] == "origin-0"
    again = await asyncio.to_thread(mash, "auditor", *correct)
    assert again.exit_code == 0 and "already recorded" in again.output
    assert "told: dutymanager" in again.output
    listed = await asyncio.to_thread(mash, "dutymanager", "packages", "corrections")
    [line] = listed.output.splitlines()
    assert package["referral_id"] in line and "wrong-person" in line and line.endswith("BREACH")
