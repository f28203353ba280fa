"""The repository contract, run unchanged against SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections.abc import Iterator
from contextlib import nullcontext

import pytest

from server.db import open_repository
from server.db.base import (
    ZERO_HASH,
    Blob,
    Device,
    IncomingEnvelope,
    OrgDocument,
    Refused,
    Repository,
)
from server.db.schema import SCHEMA_VERSION
from tests.support.live_server import postgres_database

NOW = 1_763_700_000


@pytest.fixture
def repo(db_url: str) -> Iterator[Repository]:
    repository = open_repository(db_url)
    yield repository
    repository.close()


def _org(version: int = 1, root: str = "r" * 32) -> OrgDocument:
    return OrgDocument(root, version, '{"doc":{},"sig":""}', {"c" * 32: "key"})


def _device(device_id: str = "d" * 32) -> Device:
    return Device(device_id, "pub-" + device_id, "age1xyz", "phone", NOW, NOW)


class Chain:
    def __init__(self, author: str = "d" * 32) -> None:
        self.author = author
        self.hashes = {0: ZERO_HASH}

    def envelope(self, seq: int, prev: str | None = None, tag: str = "") -> IncomingEnvelope:
        digest = hashlib.sha256(f"{self.author}{seq}{tag}".encode()).hexdigest()
        self.hashes.setdefault(seq, digest)
        return IncomingEnvelope(
            id=hashlib.md5(digest.encode(), usedforsecurity=False).hexdigest(),
            hash=digest,
            author=self.author,
            seq=seq,
            prev=self.hashes.get(seq - 1, "e" * 64) if prev is None else prev,
            kind="report",
            to=None,
            created=NOW,
            header="{}",
            sig="sig",
            payload=b"ciphertext-" + str(seq).encode(),
        )


def test_migrating_twice_keeps_the_schema_version(repo: Repository) -> None:
    assert repo.migrate() == SCHEMA_VERSION
    assert repo.migrate() == SCHEMA_VERSION


def test_nonce_is_accepted_once_until_it_expires(repo: Repository) -> None:
    assert repo.remember_nonce("n1", NOW + 10, NOW) is True
    assert repo.remember_nonce("n1", NOW + 10, NOW + 5) is False
    assert repo.remember_nonce("n1", NOW + 30, NOW + 11) is True


def test_seen_device_is_touched_with_its_nonce_at_most_once_a_minute(repo: Repository) -> None:
    repo.create_invite("t", "", "c" * 32, NOW, NOW + 60)
    repo.enrol("t", _device(), NOW)
    repo.remember_nonce("a", NOW + 200, NOW + 30, seen_device="d" * 32)
    assert repo.device("d" * 32).last_seen == NOW  # type: ignore[union-attr]
    repo.remember_nonce("b", NOW + 200, NOW + 61, seen_device="d" * 32)
    assert repo.device("d" * 32).last_seen == NOW + 61  # type: ignore[union-attr]
    assert repo.remember_nonce("b", NOW + 200, NOW + 200, seen_device="d" * 32) is False
    assert repo.device("d" * 32).last_seen == NOW + 61  # type: ignore[union-attr]


def test_bootstrap_spends_the_token_and_refuses_a_second_time(repo: Repository) -> None:
    repo.set_bootstrap_token("hash")
    with pytest.raises(Refused) as wrong:
        repo.bootstrap("other", _org(), NOW)
    assert wrong.value.reason == "bad_token"
    repo.bootstrap("hash", _org(), NOW)
    with pytest.raises(Refused) as again:
        repo.bootstrap("hash", _org(), NOW)
    assert again.value.reason == "already_bootstrapped"
    assert repo.lookup_key("c" * 32) == ("key", None)


def test_org_document_only_moves_forward_under_the_same_root(repo: Repository) -> None:
    repo.set_bootstrap_token("hash")
    repo.bootstrap("hash", _org(1), NOW)
    with pytest.raises(Refused) as stale:
        repo.replace_org_document(_org(1), NOW)
    assert stale.value.reason == "stale_version"
    with pytest.raises(Refused) as other:
        repo.replace_org_document(_org(2, root="x" * 32), NOW)
    assert other.value.reason == "bad_document"
    repo.replace_org_document(OrgDocument("r" * 32, 2, "{}", {"e" * 32: "k2"}), NOW)
    assert repo.org_document().version == 2  # type: ignore[union-attr]
    assert repo.lookup_key("c" * 32) == (None, None)
    assert repo.lookup_key("e" * 32) == ("k2", None)


def test_enrolment_spends_the_invite_atomically(repo: Repository) -> None:
    repo.create_invite("t", "label", "c" * 32, NOW, NOW + 60)
    device = repo.enrol("t", _device(), NOW)
    assert repo.device(device.id) == device
    assert repo.lookup_key(device.id) == (None, device)
    with pytest.raises(Refused) as spent:
        repo.enrol("t", _device("f" * 32), NOW)
    assert spent.value.reason == "invalid_token"
    assert repo.device("f" * 32) is None


def test_refused_enrolment_leaves_the_invite_unspent(repo: Repository) -> None:
    repo.create_invite("t1", "", "c" * 32, NOW, NOW + 60)
    repo.create_invite("t2", "", "c" * 32, NOW, NOW + 60)
    repo.enrol("t1", _device(), NOW)
    with pytest.raises(Refused) as twice:
        repo.enrol("t2", _device(), NOW)
    assert twice.value.reason == "already_enrolled"
    assert repo.enrol("t2", _device("a" * 32), NOW).id == "a" * 32


def test_expired_invite_is_refused(repo: Repository) -> None:
    repo.create_invite("t", "", "c" * 32, NOW, NOW + 60)
    with pytest.raises(Refused):
        repo.enrol("t", _device(), NOW + 61)


def test_ingest_stores_in_order_and_reports_duplicates(repo: Repository) -> None:
    chain = Chain()
    batch = [chain.envelope(1), chain.envelope(2)]
    assert [r.status for r in repo.ingest(chain.author, batch, NOW)] == ["stored", "stored"]
    assert [r.status for r in repo.ingest(chain.author, batch, NOW)] == ["duplicate", "duplicate"]
    items = repo.feed(0, 10, 1 << 20)
    assert [i.payload for i in items] == [b"ciphertext-1", b"ciphertext-2"]
    assert items[0].cursor < items[1].cursor


def test_same_id_with_other_content_is_an_id_conflict(repo: Repository) -> None:
    chain = Chain()
    first = chain.envelope(1)
    repo.ingest(chain.author, [first], NOW)
    clash = dataclasses.replace(first, hash="f" * 64)
    assert repo.ingest(chain.author, [clash], NOW)[0].reason == "id_conflict"


def test_fork_gap_and_break_are_recorded_in_the_device_summary(repo: Repository) -> None:
    repo.create_invite("t", "", "c" * 32, NOW, NOW + 60)
    repo.enrol("t", _device(), NOW)
    chain = Chain()
    repo.ingest(chain.author, [chain.envelope(1), chain.envelope(3)], NOW)
    summary = repo.devices()[0]
    assert (summary.chain, summary.envelopes, summary.last_seq) == ("gap", 2, 3)
    fork = chain.envelope(1, tag="rival")
    assert repo.ingest(chain.author, [fork], NOW)[0].reason == "fork"
    assert repo.devices()[0].chain == "fork"
    assert [p.kind for p in repo.devices()[0].problems] == ["gap", "fork"]


def test_late_envelope_heals_a_gap(repo: Repository) -> None:
    repo.create_invite("t", "", "c" * 32, NOW, NOW + 60)
    repo.enrol("t", _device(), NOW)
    chain = Chain()
    one, two, three = chain.envelope(1), chain.envelope(2), chain.envelope(3)
    repo.ingest(chain.author, [one, three], NOW)
    repo.ingest(chain.author, [two], NOW)
    assert repo.devices()[0].chain == "ok"


def test_feed_stops_after_the_byte_budget_and_filters_messages(repo: Repository) -> None:
    chain = Chain("c" * 32)
    envelopes = [chain.envelope(i) for i in range(1, 4)]
    message = dataclasses.replace(chain.envelope(4), kind="message", to="d" * 32)
    repo.ingest(chain.author, [*envelopes, message], NOW)
    assert len(repo.feed(0, 10, 1)) == 1
    assert [i.cursor for i in repo.feed(0, 10, 1 << 20)] == sorted(
        i.cursor for i in repo.feed(0, 10, 1 << 20)
    )
    mine = repo.feed(0, 10, 1 << 20, to_device="d" * 32)
    assert [i.payload for i in mine] == [b"ciphertext-4"]
    assert repo.feed(0, 10, 1 << 20, to_device="a" * 32) == []


def test_blob_offset_moves_only_by_compare_and_set(repo: Repository) -> None:
    blob = Blob("b" * 32, "d" * 32, 10, "h" * 64, 0, "n" * 32, False)
    assert repo.begin_blob(blob, NOW) == blob
    assert repo.begin_blob(blob, NOW) == blob
    assert repo.advance_blob(blob.id, 0, 5) is True
    assert repo.advance_blob(blob.id, 0, 7) is False
    repo.reset_blob(blob.id, "o" * 32)
    restarted = repo.blob(blob.id)
    assert restarted is not None and (restarted.offset, restarted.storage_name) == (0, "o" * 32)
    repo.advance_blob(blob.id, 0, 10)
    repo.finish_blob(blob.id, "m" * 32, NOW)
    done = repo.blob(blob.id)
    assert done is not None and done.complete and done.storage_name == "m" * 32
    with pytest.raises(Refused):
        repo.begin_blob(Blob("b" * 32, "x" * 32, 10, "h" * 64, 0, "n" * 32, False), NOW)


def test_commands_are_pending_until_acknowledged_by_their_device(repo: Repository) -> None:
    repo.create_invite("t", "", "c" * 32, NOW, NOW + 60)
    repo.enrol("t", _device(), NOW)
    repo.add_command("1" * 32, "d" * 32, "wipe", "{}", NOW)
    with pytest.raises(Refused):
        repo.add_command("1" * 32, "d" * 32, "wipe", "{}", NOW)
    assert [c.id for c in repo.pending_commands("d" * 32)] == ["1" * 32]
    assert repo.devices()[0].wipe == "pending"
    with pytest.raises(Refused):
        repo.ack_command("a" * 32, "1" * 32, NOW)
    repo.ack_command("d" * 32, "1" * 32, NOW)
    assert repo.pending_commands("d" * 32) == []
    assert repo.devices()[0].wipe == "done"


def test_revocation_is_recorded_once(repo: Repository) -> None:
    repo.create_invite("t", "", "c" * 32, NOW, NOW + 60)
    repo.enrol("t", _device(), NOW)
    assert repo.revoke("d" * 32, NOW + 1).revoked_at == NOW + 1
    assert repo.revoke("d" * 32, NOW + 2).revoked_at == NOW + 1
    with pytest.raises(Refused):
        repo.revoke("a" * 32, NOW)


def test_several_processes_starting_at_once_migrate_once(db_url: str) -> None:
    # A new SQLite file is raced twenty times: a lost race there is a matter of timing.
    rounds = 1 if db_url.startswith("postgresql") else 20
    for attempt in range(rounds):
        fresh = (
            postgres_database()
            if db_url.startswith("postgresql")
            else nullcontext(f"{db_url}.{attempt}")
        )
        with fresh as url:
            _start_at_once(url, processes=4)
            repo = open_repository(url)
            try:
                assert repo.migrate() == SCHEMA_VERSION
                assert repo.row_counts()["envelopes"] == 0
            finally:
                repo.close()


def _start_at_once(url: str, *, processes: int) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            open_repository(url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(processes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_locked_alarms_are_kept_in_order_counted_per_device_and_forgotten_after_their_time(
    repo: Repository,
) -> None:
    other = "e" * 32
    repo.add_locked_alarm("d" * 32, b"\x00sealed-1", NOW, per_day=2, keep_until=NOW - 100)
    repo.add_locked_alarm(other, b"sealed-2", NOW + 1, per_day=2, keep_until=NOW - 100)
    repo.add_locked_alarm("d" * 32, b"sealed-3", NOW + 2, per_day=2, keep_until=NOW - 100)
    with pytest.raises(Refused) as refused:
        repo.add_locked_alarm("d" * 32, b"sealed-4", NOW + 3, per_day=2, keep_until=NOW - 100)
    assert refused.value.reason == "alarm_quota"
    kept = repo.locked_alarms(NOW)
    assert [(a.device_id, a.sealed) for a in kept] == [
        ("d" * 32, b"\x00sealed-1"),
        (other, b"sealed-2"),
        ("d" * 32, b"sealed-3"),
    ]
    assert kept[0].id < kept[1].id < kept[2].id
    assert [a.sealed for a in repo.locked_alarms(NOW + 1)] == [b"sealed-2", b"sealed-3"]
    # a day later the quota is free again, and what is past its time is forgotten
    repo.add_locked_alarm("d" * 32, b"sealed-5", NOW + 86_402, per_day=2, keep_until=NOW + 2)
    assert [a.sealed for a in repo.locked_alarms(0)] == [b"sealed-3", b"sealed-5"]
