"""Ingest, chains, the coordinator feed and messages to one device."""

from __future__ import annotations

import threading
from typing import Any

from tests.server.conftest import Server
from tests.server.helpers import Actor


def _feed(server: Server, after: int = 0, limit: int = 100) -> dict[str, Any]:
    answer = server.api.call(
        "GET", "/v1/envelopes", server.org.coordinator, query=f"after={after}&limit={limit}"
    )
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


def _device_summary(server: Server, device: Actor) -> dict[str, Any]:
    answer = server.api.call("GET", "/v1/devices", server.org.coordinator)
    assert answer.status_code == 200
    return next(d for d in answer.json()["devices"] if d["id"] == device.id)


def test_pushed_envelope_comes_back_byte_for_byte_in_the_feed(
    org_server: Server, device: Actor
) -> None:
    envelope = device.envelope()
    assert org_server.api.push(device, [envelope]) == [
        {"id": envelope["header"]["id"], "status": "stored"}
    ]
    page = _feed(org_server)
    assert [item["envelope"] for item in page["items"]] == [envelope]
    assert page["next"] == page["items"][0]["cursor"]
    assert page["items"][0]["received_at"] == org_server.clock()


def test_same_envelope_twice_is_stored_once_and_acknowledged_twice(
    org_server: Server, device: Actor
) -> None:
    envelope = device.envelope()
    assert org_server.api.push(device, [envelope])[0]["status"] == "stored"
    assert org_server.api.push(device, [envelope, envelope])[0]["status"] == "duplicate"
    assert org_server.repo.row_counts()["envelopes"] == 1
    summary = _device_summary(org_server, device)
    assert (summary["envelopes"], summary["chain"], summary["problems"]) == (1, "ok", [])


def test_fork_is_rejected_and_recorded(org_server: Server, device: Actor) -> None:
    first = device.envelope()
    org_server.api.push(device, [first])
    rival = device.envelope(seq=1, prev="0" * 64, advance=False)
    results = org_server.api.push(device, [rival])
    assert results == [{"id": rival["header"]["id"], "status": "rejected", "reason": "fork"}]
    assert org_server.repo.row_counts()["envelopes"] == 1
    summary = _device_summary(org_server, device)
    assert summary["chain"] == "fork"
    assert [p["kind"] for p in summary["problems"]] == ["fork"]
    assert summary["problems"][0]["envelope_id"] == rival["header"]["id"]


def test_gap_is_stored_recorded_and_healed_when_the_missing_envelope_arrives(
    org_server: Server, device: Actor
) -> None:
    one = device.envelope()
    two = device.envelope()
    three = device.envelope()
    results = org_server.api.push(device, [one, three])
    assert [r["status"] for r in results] == ["stored", "stored"]
    summary = _device_summary(org_server, device)
    assert (summary["chain"], summary["last_seq"], summary["envelopes"]) == ("gap", 3, 2)
    assert summary["problems"][0]["kind"] == "gap"
    assert org_server.api.push(device, [two])[0]["status"] == "stored"
    summary = _device_summary(org_server, device)
    assert (summary["chain"], summary["envelopes"]) == ("ok", 3)


def test_prev_that_does_not_match_is_stored_and_shown_as_a_broken_chain(
    org_server: Server, device: Actor
) -> None:
    org_server.api.push(device, [device.envelope()])
    wrong = device.envelope(prev="ab" * 32)
    assert org_server.api.push(device, [wrong])[0]["status"] == "stored"
    summary = _device_summary(org_server, device)
    assert summary["chain"] == "gap"
    assert summary["problems"][-1]["kind"] == "break"


def test_envelope_by_another_author_is_rejected_and_nothing_stored(
    org_server: Server, device: Actor
) -> None:
    other = org_server.api.enrol(org_server.org, "second phone")
    envelope = other.envelope()
    results = org_server.api.push(device, [envelope])
    assert results == [
        {"id": envelope["header"]["id"], "status": "rejected", "reason": "author_not_signer"}
    ]
    assert org_server.repo.row_counts()["envelopes"] == 0


def test_altered_payload_is_rejected_and_the_rest_of_the_batch_stored(
    org_server: Server, device: Actor
) -> None:
    good = device.envelope()
    bad = device.envelope()
    bad["payload"] = good["payload"]
    bad["header"]["size"] = good["header"]["size"]
    results = org_server.api.push(device, [good, bad])
    assert results[0]["status"] == "stored"
    assert results[1]["status"] == "rejected"
    assert results[1]["reason"] in {"payload_mismatch", "bad_signature"}
    assert org_server.repo.row_counts()["envelopes"] == 1


def test_batch_over_one_hundred_envelopes_is_refused(org_server: Server, device: Actor) -> None:
    batch = [device.envelope() for _ in range(101)]
    answer = org_server.api.call("POST", "/v1/envelopes", device, json={"envelopes": batch})
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_body"
    assert org_server.repo.row_counts()["envelopes"] == 0


def test_device_may_not_send_coordinator_kinds(org_server: Server, device: Actor) -> None:
    results = org_server.api.push(device, [device.envelope(kind="event")])
    assert results[0]["reason"] == "kind_not_allowed"
    assert org_server.repo.row_counts()["envelopes"] == 0


def test_message_reaches_only_the_device_it_names(org_server: Server, device: Actor) -> None:
    other = org_server.api.enrol(org_server.org, "second phone")
    coordinator = org_server.org.coordinator
    org_server.api.push(other, [other.envelope()])
    message = coordinator.envelope(kind="message", to=device.id)
    assert org_server.api.push(coordinator, [message])[0]["status"] == "stored"
    mine = org_server.api.call("GET", "/v1/messages", device).json()
    theirs = org_server.api.call("GET", "/v1/messages", other).json()
    assert [i["envelope"] for i in mine["items"]] == [message]
    assert theirs["items"] == []
    assert len(_feed(org_server)["items"]) == 2


def test_message_to_unknown_device_is_rejected(org_server: Server) -> None:
    coordinator = org_server.org.coordinator
    results = org_server.api.push(coordinator, [coordinator.envelope(kind="message", to="c" * 32)])
    assert results[0]["reason"] == "unknown_recipient"


def test_feed_pages_by_cursor_without_skipping_or_repeating(
    org_server: Server, device: Actor
) -> None:
    sent = [device.envelope() for _ in range(25)]
    for start in range(0, 25, 7):
        org_server.api.push(device, sent[start : start + 7])
    seen: list[str] = []
    cursors: list[int] = []
    after = 0
    while True:
        page = _feed(org_server, after, 10)
        if not page["items"]:
            break
        seen += [i["envelope"]["header"]["id"] for i in page["items"]]
        cursors += [i["cursor"] for i in page["items"]]
        after = page["next"]
    assert seen == [e["header"]["id"] for e in sent]
    assert cursors == sorted(set(cursors))


def test_feed_read_during_concurrent_pushes_misses_nothing(org_server: Server) -> None:
    devices = [org_server.api.enrol(org_server.org, f"phone {i}") for i in range(4)]
    batches = {d.id: [[d.envelope() for _ in range(3)] for _ in range(8)] for d in devices}
    expected = {e["header"]["id"] for bs in batches.values() for b in bs for e in b}
    seen: list[str] = []
    done = threading.Event()
    errors: list[BaseException] = []

    def pusher(d: Actor) -> None:
        try:
            for batch in batches[d.id]:
                org_server.api.push(d, batch)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=pusher, args=(d,)) for d in devices]
    for t in threads:
        t.start()
    after = 0
    while True:
        finished = done.is_set()
        page = _feed(org_server, after)
        seen += [i["envelope"]["header"]["id"] for i in page["items"]]
        after = page["next"]
        if finished and not page["items"]:
            break
        if not any(t.is_alive() for t in threads):
            done.set()
    assert not errors
    assert len(seen) == len(set(seen))
    assert set(seen) == expected


def test_feed_refuses_a_limit_over_one_hundred(org_server: Server) -> None:
    answer = org_server.api.call(
        "GET", "/v1/envelopes", org_server.org.coordinator, query="limit=101"
    )
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_request"
