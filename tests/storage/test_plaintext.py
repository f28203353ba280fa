"""No plaintext reaches the disk: a marker in every field, kind, status, id, attachment and
photo EXIF is searched for in every byte of every file under the data directory."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from core.records import Record
from storage import Vault
from tests.storage.conftest import PASSPHRASE, all_files

MARKER = "QXMARK-свидетель-8841"


def forms(marker: str) -> list[bytes]:
    """The ways the marker could appear on disk if anything leaked."""
    return [
        marker.encode("utf-8"),
        marker.encode("utf-16-le"),
        json.dumps(marker).encode("ascii"),
        marker.split("-")[0].encode("ascii"),
        "свидетель".encode(),
    ]


def assert_absent(root: Path, marker: str = MARKER) -> int:
    files = all_files(root)
    assert files, "nothing was written"
    for path in files:
        data = path.read_bytes()
        for form in forms(marker):
            assert form not in data, f"marker found in {path.relative_to(root)}"
    return len(files)


def marked_photo() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = MARKER.split("-")[0]  # EXIF ASCII: the Latin part
    exif[0x9286] = MARKER  # UserComment
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 90, 0)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_marker_in_every_field_type_never_reaches_the_disk(vault: Vault, vault_path: Path) -> None:
    records = [
        Record(
            kind=MARKER,
            id=f"id-{MARKER}",
            status=MARKER,
            status_reason=MARKER,
            data={
                MARKER: MARKER,
                "nested": {"list": [MARKER, {"deep": MARKER}], MARKER: 1},
                "number": 8841,
                "name": f"Aizada {MARKER}",
            },
        ),
        Record(kind="incident", data={"title": MARKER, "tags": [MARKER] * 3}),
    ]
    saved = vault.put_many(records)
    single = vault.put(Record(kind="note", data={"text": MARKER * 50}))
    vault.put(saved[1])  # an update
    vault.delete(single.id)
    vault.attach((MARKER * 10_000).encode(), media_type=f"text/{MARKER}", name=f"{MARKER}.txt")
    vault.attach(marked_photo(), media_type="image/jpeg", name="photo.jpg")
    vault.settings.wipe_threshold = 7
    vault.set_duress_passphrase(f"duress {MARKER}")
    vault.change_passphrase(PASSPHRASE, f"new {MARKER}")
    assert_absent(vault_path)

    vault.compact()
    assert_absent(vault_path)
    vault.lock()
    assert_absent(vault_path)

    reopened = Vault.open(vault_path, f"new {MARKER}")
    assert {r.kind for r in reopened.list()} == {MARKER, "incident"}
    reopened.put(Record(kind="outbox", data={"payload": MARKER}))
    reopened.lock()
    assert_absent(vault_path)


def test_the_scan_would_find_a_leak(tmp_path: Path) -> None:
    (tmp_path / "leak.txt").write_text(f"... {MARKER} ...", encoding="utf-8")
    try:
        assert_absent(tmp_path)
    except AssertionError as err:
        assert "leak.txt" in str(err)
    else:
        raise AssertionError("the scan missed a planted marker")
