"""The CLI as its users meet it: intake errors, triage advice, IG's audit commands."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import cli
from hub.disclosure_log import DisclosureLog, sign_checkpoint
from hub.disclosure_log.pseudonym import pseudonyms
from hub.keys import KeyRing
from hub.keys.local import local_key_store
from hub.secrets import SecretStore


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run folder with firewall keys and a small signed disclosure log."""
    monkeypatch.setenv("MASH_HOME", str(tmp_path))
    monkeypatch.delenv("MASH_NAMESPACE", raising=False)
    store = local_key_store(tmp_path)
    store.init(["firewall"])
    key = SecretStore(tmp_path / "secrets").get_or_create("log-pseudonym-key")
    ava = pseudonyms(
        key.get_secret_value().encode(),
        given_names="Ava",
        family_name="Smith",
        date_of_birth=date(2019, 3, 4),
    )
    log = DisclosureLog(tmp_path / "state" / "firewall" / "disclosure-log.db")
    log.append(
        [
            {
                "entry_id": f"e{i}",
                "correlation_id": "ref-1",
                "at": f"2026-11-21T10:0{i}",
                "operation": "withhold" if i % 2 else "disclose",
                "decision": "WITHHELD" if i % 2 else "RELEASED",
                "agency": "POLICE",
                "level": "LEVEL_1",
                "data_category": "police.intelligence",
                "rule_id": "L1-police-withhold",
                "recipients": ["collator"],
                "subject_pseudonyms": ava if i < 3 else ["ps:other"],
            }
            for i in range(6)
        ]
    )
    size, root, chain = log.root()
    signing = KeyRing.load(store, "firewall").signing_key
    log.add_checkpoint(sign_checkpoint("mash-exchange/disclosure-log", size, root, chain, signing))
    log.close()
    return tmp_path


def test_refer_names_the_bad_field(tmp_path: Path) -> None:
    """A referral without a child is refused before anything is sent, naming the field."""
    file = tmp_path / "referral.json"
    file.write_text(
        json.dumps(
            {
                "referrer": {"name": "x", "source": "PUBLIC"},
                "concern": "worried",
                "indicators": [],
                "subjects": [],
                "consent": {"status": "GIVEN"},
                "level": "LEVEL_2",
                "need": "COMPLEX",
                "rag": "AMBER",
            }
        )
    )
    result = CliRunner().invoke(cli, ["refer", str(file)])
    assert result.exit_code == 1
    assert "subjects: at least one subject must have role CHILD" in result.output


def test_triage_suggestion_is_advice(tmp_path: Path) -> None:
    """Indicators from the Acute column suggest Level 3, marked as advice only."""
    file = tmp_path / "r.yaml"
    file.write_text("indicators: ['serious physical harm']\nconcern: ''\n")
    advice = json.loads(CliRunner().invoke(cli, ["triage", "suggest", str(file)]).output)
    assert advice == {
        "suggested_level": "LEVEL_3",
        "need": "ACUTE",
        "matched": ["serious physical harm"],
        "advice_only": True,
    }


def test_audit_verify_passes_then_pinpoints_tampering(home: Path) -> None:
    """`mash audit verify` exits 0 on a clean log, 1 naming the entry after an edit."""
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "6 entries, 1 checkpoints verified" in ok.output
    db = sqlite3.connect(home / "state" / "firewall" / "disclosure-log.db", isolation_level=None)
    db.execute("DROP TRIGGER entries_no_update")
    db.execute("UPDATE entries SET body = replace(body, 'WITHHELD', 'RELEASED') WHERE seq = 4")
    db.close()
    bad = runner.invoke(cli, ["audit", "verify"])
    assert bad.exit_code == 1 and "first bad entry 4" in bad.output


def test_audit_subject_finds_one_persons_entries(home: Path) -> None:
    """Subject access: everything about Ava Smith, born 2019-03-04, and nothing else."""
    result = CliRunner().invoke(
        cli,
        [
            "audit",
            "subject",
            "--family-name",
            "Smith",
            "--given-names",
            "Ava",
            "--dob",
            "2019-03-04",
            "--json",
        ],
    )
    seqs = [json.loads(line)["seq"] for line in result.output.splitlines()]
    assert seqs == [1, 2, 3]


def test_audit_list_filters_and_summary(home: Path) -> None:
    """Filter by decision; the summary counts by agency, level and decision."""
    runner = CliRunner()
    withheld = runner.invoke(cli, ["audit", "list", "--decision", "withheld", "--json"])
    assert [json.loads(x)["seq"] for x in withheld.output.splitlines()] == [2, 4, 6]
    summary = runner.invoke(cli, ["audit", "summary"]).output.splitlines()
    assert summary[1].split() == ["police", "LEVEL_1", "3", "0", "0", "3"]
    csv = runner.invoke(cli, ["audit", "export", "--format", "csv"]).output.splitlines()
    assert len(csv) == 7 and "rule_id" in csv[0]
