"""The locked-alarm vectors in tests/vectors/locked-alarm: each file's expected outcome, the
valid one opened to its fields and each failure to its named error (docs/protocol.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sync import locked_alarm
from sync.encoding import b64u_decode

VECTORS = sorted((Path(__file__).parents[1] / "vectors" / "locked-alarm").glob("*.json"))


def _load(path: Path) -> dict[str, Any]:
    vector: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return vector


def _verify(vector: dict[str, Any]) -> locked_alarm.LockedAlarm:
    return locked_alarm.verify(
        b64u_decode(vector["sealed"]),
        [vector["identity"]],
        device=vector["device"],
        keys=[b64u_decode(k, length=32) for k in vector["keys"]],
        now=vector["now"],
    )


def test_there_is_a_valid_vector_and_one_for_every_named_failure() -> None:
    expected = {_load(p)["expect"] for p in VECTORS}
    assert expected == {"valid", "NotForMe", "UnknownAlarmKey", "StaleAlarm", "BadLockedAlarm"}


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_each_vector_gives_its_expected_outcome(path: Path) -> None:
    vector = _load(path)
    if vector["expect"] == "valid":
        alarm = _verify(vector)
        assert vector["alarm"] == {
            "device": alarm.device,
            "nonce": alarm.nonce,
            "at": alarm.at,
            "message": alarm.message,
        }
        return
    error = getattr(locked_alarm, vector["expect"])
    with pytest.raises(error):
        _verify(vector)
