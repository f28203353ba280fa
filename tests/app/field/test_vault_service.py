"""The real field service on a real vault (and, where noted, the real server): what reaches the
disk, what the organisation receives, messages both ways, and wipes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app.services.field import VaultFieldService
from core.records import Kind
from sync import coordinator
from tests.integration.conftest import Org, running_org

PASS = "correct horse 42"
MARKER = "ZQXJ-Маркер-Қүө-7731"


def all_bytes(root: Path) -> Iterator[tuple[Path, bytes]]:
    for path in root.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


def assert_marker_absent(root: Path) -> None:
    needles = [MARKER.encode("utf-8"), MARKER.encode("utf-16-le"), b"ZQXJ"]
    for path, data in all_bytes(root):
        for needle in needles:
            assert needle not in data, f"plaintext found in {path.name}"


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "MakerZQXJ"  # camera maker
    exif[0x8825] = {1: "N", 2: (42.0, 52.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def full_answers(evidence: list[str]) -> dict[str, Any]:
    return {
        "occurred_at": "2026-11-01T21:30",
        "ongoing": True,
        "region": "kg.osh",
        "place_type": "police_station",
        "violation_types": ["entrapment", "extortion"],
        "description": f"{MARKER} long text",
        "perpetrator_types": ["police"],
        "perpetrator_details": f"{MARKER} badge",
        "victims": f"{MARKER} A1",
        "victim_count": 2,
        "witnesses": f"{MARKER} W1",
        "contact": f"{MARKER} contact",
        "extortion_amount": 77731,
        "extortion_currency": "KGS",
        "extortion_paid": False,
        "complaint_filed": False,
        "no_complaint_reason": "fear_exposure",
        "needs": ["legal", "psychological"],
        "evidence": evidence,
        "consent": {"share_org": True, "statistics": True, "advocacy": False},
    }


def test_no_plaintext_reaches_the_disk(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = VaultFieldService(data, kdf_log_n=15)
    service.create(PASS, language="ky")
    photo = service.attach_bytes(jpeg_with_gps(), name=f"{MARKER}.jpg")
    doc = service.attach_bytes(f"{MARKER} statement".encode(), name="statement.txt")
    incident = service.save_incident(None, full_answers([photo.id, doc.id]), submit=False)
    service.save_incident(incident, full_answers([photo.id, doc.id]), submit=True)
    service.save_note(None, f"{MARKER} private", shared=False)
    service.save_note(None, f"{MARKER} shared", shared=True)
    service.update_settings(proxy="socks5h://127.0.0.1:9050")
    assert b"MakerZQXJ" not in service.attachment_bytes(photo.id)  # metadata stripped
    service.lock()
    assert_marker_absent(tmp_path)


def test_wipe_leaves_no_file_behind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    service = VaultFieldService(data, kdf_log_n=15)
    service.create(PASS, language="ru")
    service.attach_bytes(b"x" * 100_000, name="a.bin")
    service.save_incident(None, {"description": "x"}, submit=False)
    service.wipe()
    assert not data.exists() or list(data.rglob("*")) == []
    assert list(tmp_path.iterdir()) in ([], [data])


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    with running_org(tmp_path) as value:
        yield value


def joined(org: Org, tmp_path: Path) -> VaultFieldService:
    invite = coordinator.create_invite(org.coordinator, expires_in=3600, label="phone")
    service = VaultFieldService(tmp_path / "phone", kdf_log_n=15)
    service.create(PASS, language="ky")
    service.join(invite.encode())
    return service


@pytest.mark.slow
def test_an_incident_reaches_the_coordinator_and_leaves_only_a_stub(
    org: Org, tmp_path: Path
) -> None:
    service = joined(org, tmp_path)
    photo = service.attach_bytes(jpeg_with_gps(), name="photo.jpg")
    incident = service.save_incident(None, full_answers([photo.id]), submit=True)
    status = service.sync_round()
    assert status.enrolled and status.waiting == 0 and status.last_sync
    listed = service.list_incidents()
    assert [(i.id, i.status, i.stub) for i in listed] == [(incident, "sent", True)]

    coordinator.pull(org.coordinator)
    case = org.coordinator.get(incident)
    assert case.kind == Kind.CASE
    assert case.data["latest"]["answers"]["extortion_amount"] == 77731
    blob = case.data["revisions"][-1]["blobs"][0]
    picture = coordinator.fetch_blob(org.coordinator, blob["id"])
    assert picture[:2] == b"\xff\xd8" and b"MakerZQXJ" not in picture


@pytest.mark.slow
def test_coordinator_messages_arrive_and_replies_go_back(org: Org, tmp_path: Path) -> None:
    service = joined(org, tmp_path)
    service.update_settings(send_and_forget=False)
    incident = service.save_incident(None, full_answers([]), submit=True)
    service.sync_round()
    org_info = service.org_info()
    assert org_info is not None and org_info.enrolled
    coordinator.send_message(org.coordinator, org_info.device_id, incident, "Badge number?")
    service.sync_round()
    [message] = service.messages(incident)
    assert message.text == "Badge number?" and message.from_coordinator
    assert service.list_incidents()[0].messages == 1
    service.reply(incident, "4471")
    service.sync_round()
    coordinator.pull(org.coordinator)
    replies = [
        r.data["text"]
        for r in org.coordinator.list(kind=Kind.MESSAGE)
        if r.data.get("direction") == "in"
    ]
    assert replies == ["4471"]


@pytest.mark.slow
def test_a_remote_wipe_wipes_the_phone_at_the_next_sync(org: Org, tmp_path: Path) -> None:
    service = joined(org, tmp_path)
    service.save_incident(None, {"description": "x"}, submit=False)
    service.sync_round()
    org_info = service.org_info()
    assert org_info is not None
    coordinator.order_wipe(org.coordinator, org_info.device_id)
    service.sync_round()
    assert not service.has_vault() and not service.unlocked
    phone = tmp_path / "phone"
    assert not phone.exists() or list(phone.rglob("*")) == []
    assert not (tmp_path / "phone.launch.json").exists()
