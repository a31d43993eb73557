"""A running service takes in key rotations and revocations without a restart, refuses an older
or forged directory, and holds its input while its own keys cannot be used."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.envelope import Opener, Sealer
from hub.errors import MessageRejected, RejectReason
from hub.keys import KeyRing, KeyStore, KeyUse
from hub.keys.refresh import KeyRefresher
from hub.replay import MemorySeenMessages
from hub.runtime.keywatch import KeyWatch
from hub.runtime.metrics import ServiceMetrics
from hub.samples import Samples

TOPIC = "mash.responses.police"


def _store(tmp_path: Path) -> KeyStore:
    store = KeyStore(tmp_path / "keys", lambda who: f"pw-{who}".encode())
    store.init(["police", "firewall"])
    return store


def _running(store: KeyStore, principal: str) -> tuple[KeyRing, KeyRefresher, Opener]:
    """A service's ring as loaded at its start, its refresher, and its opener wired to it."""
    ring = KeyRing.load(store, principal)
    refresher = KeyRefresher(store, ring)
    opener = Opener(ring, MemorySeenMessages())
    opener.refresh = refresher.on_miss
    return ring, refresher, opener


def _from(sender: KeyRing, to: str = "firewall") -> bytes:
    data, _ = Sealer(sender).seal(
        topic=TOPIC,
        schema_name="mash.AgencyResponse",
        record=Samples().agency_response("POLICE"),
        recipients=[to],
        correlation_id="c",
    )
    return data


def test_a_senders_new_key_is_read_when_its_first_message_arrives(tmp_path: Path) -> None:
    """Police rotate; the firewall, started before, opens police's first message signed with
    the new key (the unknown key makes it read the folder) and seals to police's new key."""
    store = _store(tmp_path)
    ring, _, opener = _running(store, "firewall")
    store.rotate("police")
    police = KeyRing.load(store, "police")
    assert ring.directory.get(police.signing_key_id) is None
    opened = opener.open(_from(police), topic=TOPIC)
    assert opened.header.sender_key_id == police.signing_key_id
    answer = Opener(police, MemorySeenMessages()).open(_from(ring, to="police"), topic=TOPIC)
    police_now = store.load_directory().current("police", KeyUse.ENCRYPT)
    assert police_now is not None and answer.header.recipient_key_ids == (police_now.key_id,)


def test_without_the_refresh_the_new_key_is_unknown(tmp_path: Path) -> None:
    """The same message to an opener that never reads the folder again is refused: the refresh
    is what makes the difference."""
    store = _store(tmp_path)
    opener = Opener(KeyRing.load(store, "firewall"), MemorySeenMessages())
    store.rotate("police")
    with pytest.raises(MessageRejected) as refused:
        opener.open(_from(KeyRing.load(store, "police")), topic=TOPIC)
    assert refused.value.reason is RejectReason.UNKNOWN_SENDER_KEY


def test_a_revocation_takes_effect_at_the_next_look(tmp_path: Path) -> None:
    """A key revoked while the firewall runs: its messages are refused after the next read of
    the folder, without a restart."""
    store = _store(tmp_path)
    _, refresher, opener = _running(store, "firewall")
    police = KeyRing.load(store, "police")
    opener.open(_from(police), topic=TOPIC)
    store.revoke(police.signing_key_id, "laptop stolen")
    assert refresher.refresh()
    with pytest.raises(MessageRejected) as refused:
        opener.open(_from(police), topic=TOPIC)
    assert refused.value.reason is RejectReason.REVOKED_KEY


def test_an_older_directory_is_refused(tmp_path: Path) -> None:
    """A validly signed but older directory put back in the folder (undoing a revocation) is
    refused: the ring keeps the newer one and the key stays revoked."""
    store = _store(tmp_path)
    ring, refresher, opener = _running(store, "firewall")
    before = store.directory_file.read_text()
    police = KeyRing.load(store, "police")
    store.revoke(police.signing_key_id, "compromised")
    refresher.refresh()
    serial = ring.directory.serial
    store.directory_file.write_text(before)
    assert not refresher.refresh()
    assert ring.directory.serial == serial
    with pytest.raises(MessageRejected, match="revoked"):
        opener.open(_from(police), topic=TOPIC)


def test_a_directory_not_signed_by_the_root_is_refused(tmp_path: Path) -> None:
    """A directory edited in place (its signature no longer matches) changes nothing."""
    store = _store(tmp_path)
    ring, refresher, _ = _running(store, "firewall")
    serial = ring.directory.serial
    text = store.directory_file.read_text().replace('"serial": ', '"serial": 9')
    store.directory_file.write_text(text)
    assert not refresher.refresh()
    assert ring.directory.serial == serial


def test_own_rotation_is_taken_in(tmp_path: Path) -> None:
    """The firewall's own keys rotated: it signs with the new key after the next look, and a
    message sealed to its new encryption key opens."""
    store = _store(tmp_path)
    ring, refresher, opener = _running(store, "firewall")
    old = ring.signing_key_id
    store.rotate("firewall")
    assert refresher.refresh()
    assert ring.signing_key_id != old
    police = KeyRing.load(store, "police")
    assert opener.open(_from(police), topic=TOPIC).header.sender == "police"
    assert refresher.problem() is None


def test_misses_read_the_folder_at_most_once_a_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forged messages naming unknown keys cannot make the service read its folder on each."""
    store = _store(tmp_path)
    _, refresher, _ = _running(store, "firewall")
    looks: list[int] = []
    real = refresher._look
    monkeypatch.setattr(refresher, "_look", lambda: looks.append(1) or real())
    for _ in range(50):
        refresher.on_miss()
    assert len(looks) == 1


def test_a_service_whose_own_key_is_revoked_holds_its_input_until_new_keys_arrive(
    tmp_path: Path,
) -> None:
    """Own signing key revoked with no replacement: the watch reports it (metric at 1) and
    does not return, so nothing is sealed with it; once keys are rotated it goes on."""
    store = _store(tmp_path)
    ring, refresher, _ = _running(store, "firewall")
    metrics = ServiceMetrics("firewall")
    watch = KeyWatch(refresher, metrics, interval_s=0.05)

    def unusable() -> float | None:
        return metrics.registry.get_sample_value("mash_keys_unusable")

    async def scenario() -> None:
        store.revoke(ring.signing_key_id, "compromised")
        held = asyncio.create_task(watch.check(asyncio.Event()))
        await asyncio.sleep(0.3)
        assert not held.done(), "input must wait while the service cannot sign"
        assert watch.problem is not None and "signing key" in watch.problem
        assert unusable() == 1
        store.rotate("firewall")
        await asyncio.wait_for(held, 5)

    asyncio.run(scenario())
    assert watch.problem is None and unusable() == 0
    assert metrics.registry.get_sample_value("mash_key_directory_serial") == (
        store.load_directory().serial
    )
    expiry = metrics.registry.get_sample_value("mash_key_expiry_timestamp_seconds", {"use": "sign"})
    assert expiry == store.load_directory().get(ring.signing_key_id).not_after.timestamp()  # type: ignore[union-attr]


def test_a_restart_onto_an_older_directory_is_refused(tmp_path: Path) -> None:
    """The highest serial a service used is kept in its state folder: after a revocation was
    taken in, a restart with the older directory put back fails with a clear KeysUnavailable,
    and the current directory starts it again."""
    from hub.keys import KeysUnavailable
    from hub.services import FirewallSettings, build
    from hub.settings import KafkaSettings

    store = _store(tmp_path)
    kafka = KafkaSettings(bootstrap_servers="localhost:1", security_protocol="PLAINTEXT")
    settings = FirewallSettings(home=tmp_path / "home", kafka=kafka)  # never connects
    before = store.directory_file.read_text()
    build("firewall", settings=settings, key_store=store).handler.close()
    store.revoke(KeyRing.load(store, "police").signing_key_id, "compromised")
    built = build("firewall", settings=settings, key_store=store)  # sees the new serial
    built.handler.close()
    current = store.directory_file.read_text()
    store.directory_file.write_text(before)
    with pytest.raises(KeysUnavailable, match=r"older than serial .* rollback"):
        build("firewall", settings=settings, key_store=store)
    store.directory_file.write_text(current)
    build("firewall", settings=settings, key_store=store).handler.close()


def test_a_refresher_with_a_mark_refuses_what_an_earlier_run_outgrew(tmp_path: Path) -> None:
    """A running service whose mark is above its ring's serial (a restart raced a rollback)
    refuses a directory below the mark and records each newer one it takes in."""
    from hub.keys.highest import HighestSerial

    store = _store(tmp_path)
    ring = KeyRing.load(store, "firewall")
    mark = HighestSerial(tmp_path / "serial")
    (tmp_path / "serial").write_text(f"{ring.directory.root_key_id} {ring.directory.serial + 5}")
    refresher = KeyRefresher(store, ring, highest=mark)
    store.rotate("police")
    assert not refresher.refresh()  # newer than the ring, still below the mark
    for _ in range(5):
        store.rotate("police")
    assert refresher.refresh()
    assert mark.value(ring.directory) == ring.directory.serial == store.load_directory().serial


def test_keys_set_up_afresh_under_a_new_root_start_their_serials_again(tmp_path: Path) -> None:
    """The mark is per root key: a new key folder (a new root, serial 1) is admitted and
    becomes the mark; the old root's high serial does not block it."""
    from hub.keys.highest import HighestSerial

    old, new = _store(tmp_path / "old"), _store(tmp_path / "new")
    for _ in range(3):
        old.rotate("police")
    mark = HighestSerial(tmp_path / "serial")
    mark.admit(old.load_directory())
    mark.admit(new.load_directory())
    assert mark.value(new.load_directory()) == new.load_directory().serial
    assert mark.value(old.load_directory()) == 0


class _Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_keys_announced_for_later_are_used_from_then_and_not_before(tmp_path: Path) -> None:
    """A rotation with a delay announces the new keys at once but the old ones stay in use
    until then (and valid the overlap beyond); a running service switches to its new signing
    key when the time comes, with nothing changed in the folder."""
    clock = _Clock(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
    store = KeyStore(tmp_path / "keys", lambda who: f"pw-{who}".encode(), clock=clock)
    store.init(["police", "firewall"])
    ring = KeyRing.load(store, "police", clock())
    refresher = KeyRefresher(store, ring, clock=clock)
    old = ring.signing_key_id
    new_sign, new_encrypt = store.rotate(
        "police", overlap=timedelta(days=1), activate_after=timedelta(minutes=10)
    )
    directory = store.load_directory()
    assert directory.current("police", KeyUse.SIGN, clock()).key_id == old  # type: ignore[union-attr]
    assert directory.get(old).not_after == clock() + timedelta(minutes=10, days=1)  # type: ignore[union-attr]
    refresher.refresh()  # the directory is taken in; police still signs with its old key
    assert ring.directory.get(new_sign) is not None and ring.signing_key_id == old
    assert new_encrypt in ring.decryption  # able to open what is sealed to it once in use
    clock.now += timedelta(minutes=9)
    assert not refresher.refresh()
    clock.now += timedelta(minutes=1)
    assert refresher.refresh() and ring.signing_key_id == new_sign
    assert ring.recipient_key("police", clock()).key_id == new_encrypt


def test_a_host_whose_key_folder_lags_still_opens_messages_until_the_keys_come_into_use(
    tmp_path: Path,
) -> None:
    """On two hosts: police rotates with a delay; the firewall's host has not got the new
    folder yet but opens police's messages, signed with the old key until the new one is in
    use. Rotated without a delay, the same lagging host refuses them (unknown sender key)."""
    import shutil

    for delay, refused in ((timedelta(minutes=10), False), (timedelta(0), True)):
        police_host = _store(tmp_path / f"police-{delay.seconds}")
        firewall_host = tmp_path / f"firewall-{delay.seconds}"
        shutil.copytree(police_host.folder, firewall_host)  # both hosts had the same folder
        lagging = KeyStore(firewall_host, lambda who: f"pw-{who}".encode())
        opener = Opener(KeyRing.load(lagging, "firewall"), MemorySeenMessages())
        police = KeyRing.load(police_host, "police")
        refresher = KeyRefresher(police_host, police)  # police's service reads its folder
        police_host.rotate("police", activate_after=delay)
        assert refresher.refresh()
        message = _from(police)
        if refused:
            with pytest.raises(MessageRejected) as exc:
                opener.open(message, topic=TOPIC)
            assert exc.value.reason is RejectReason.UNKNOWN_SENDER_KEY
        else:
            assert opener.open(message, topic=TOPIC).header.sender == "police"


def test_rotate_refuses_a_negative_delay(tmp_path: Path) -> None:
    """A key cannot come into use before it was made."""
    with pytest.raises(ValueError, match="negative"):
        _store(tmp_path).rotate("police", activate_after=timedelta(minutes=-1))


def test_cli_rotate_with_a_delay_announces_the_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`mash keys rotate --activate-after-minutes` says when the keys come into use, and
    `mash keys list` shows them as announced until then."""
    from click.testing import CliRunner

    from hub.cli import cli
    from hub.keys.local import local_key_store

    monkeypatch.setenv("MASH_HOME", str(tmp_path))
    monkeypatch.delenv("MASH_KEYS_DIR", raising=False)
    local_key_store(tmp_path).init(["police", "firewall"])
    runner = CliRunner()
    rotated = runner.invoke(cli, ["keys", "rotate", "police", "--activate-after-minutes", "30"])
    assert rotated.exit_code == 0, rotated.output
    assert "in use from" in rotated.output and "copy the key folder" in rotated.output
    listed = runner.invoke(cli, ["keys", "list"]).output
    assert listed.count("announced: in use from") == 2  # police's new sign and encrypt keys
    negative = runner.invoke(cli, ["keys", "rotate", "police", "--activate-after-minutes", "-5"])
    assert negative.exit_code == 2
