"""Unlock timing benchmark: can an onlooker tell the passphrase, the duress passphrase and a
wrong one apart by how long the unlock takes, or the calculator's code from a sum?

    python -m bench.unlock [--quick]        prints JSON

Measures, on a used vault (200 notes, 5 attachments of 256 KiB) with the scrypt cost the app
calibrates on this machine (the floor, N=2^15, with --quick):
- `unlock.raw`: `VaultFieldService.unlock` with no padding, p50/p95 of the passphrase, the
  duress passphrase (which wipes the vault and writes the decoy) and a wrong passphrase; the
  spread between the slowest and fastest p50 (`raw_spread_ms`) is what the padding must hide.
- `unlock.padded`: the same with the phone's padding (`UNLOCK_FLOOR_SECONDS`);
  `padded_spread_ms` should be a few milliseconds (sleep jitter).
- `calculator`: from pressing "=" to the answer being sent to the screen, for a sum, the
  unlock code and a wrong 12-digit code, on the calculator screen driven as the app does
  (the unlock in a worker thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from app.field import calculator as calculator_mod
from app.field.calculator import CalculatorScreen
from app.field.context import FieldContext, RecordingNavigator
from app.i18n import Translator
from app.services.field import UNLOCK_FLOOR_SECONDS, VaultFieldService
from app.services.field_types import UnlockFailed

T = TypeVar("T")
CODE = "739105628417"  # the calculator's passphrase (12 random digits)
DURESS = "582049137460"
WRONG = "111111111111"


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pick(p: float) -> float:
        rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
        return round(ordered[rank - 1] * 1000, 2)

    return {"n": len(ordered), "p50_ms": pick(50), "p95_ms": pick(95)}


def _used_vault(root: Path, log_n: int | None, floor: float) -> VaultFieldService:
    if root.exists():
        shutil.rmtree(root)
    service = VaultFieldService(root / "vault", kdf_log_n=log_n, unlock_floor=floor)
    service.create(CODE, duress=DURESS, language="ru", disguise=True)
    for i in range(200):
        service.save_note(None, f"note {i}: " + "встреча в четверг " * 10, shared=False)
    for i in range(5):
        service.attach_bytes(bytes(range(256)) * 1024, name=f"file{i}.bin")
    service.lock()
    return service


def _calibrated_log_n(root: Path) -> int:
    service = VaultFieldService(root / "calibrate", kdf_log_n=None)
    service.create("calibration passphrase for the benchmark", language="ru")
    service.lock()
    return (root / "calibrate" / "key").read_bytes()[8]


def _timed_unlock(service: VaultFieldService, passphrase: str) -> float:
    started = time.perf_counter()
    with contextlib.suppress(UnlockFailed):
        service.unlock(passphrase)
    elapsed = time.perf_counter() - started
    service.lock()
    return elapsed


def _unlocks(root: Path, log_n: int, floor: float, samples: int) -> dict[str, Any]:
    times: dict[str, list[float]] = {"real": [], "duress": [], "wrong": []}
    service = _used_vault(root, log_n, floor)
    for _ in range(samples):
        times["wrong"].append(_timed_unlock(service, WRONG))
        times["real"].append(_timed_unlock(service, CODE))
    for _ in range(samples):  # each duress unlock replaces the vault: a fresh one every time
        service = _used_vault(root, log_n, floor)
        times["duress"].append(_timed_unlock(service, DURESS))
    out: dict[str, Any] = {name: _percentiles(ts) for name, ts in times.items()}
    p50s = [out[name]["p50_ms"] for name in times]
    out["spread_ms"] = round(max(p50s) - min(p50s), 2)
    return out


class _ThreadNavigator(RecordingNavigator):
    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)


def _calculator(root: Path, log_n: int, samples: int) -> dict[str, Any]:
    service = _used_vault(root, log_n, UNLOCK_FLOOR_SECONDS)
    ctx = FieldContext(service, Translator("ru", "field"), _ThreadNavigator())
    sent: list[float] = []
    calculator_mod.refresh = lambda _control: sent.append(time.perf_counter())  # type: ignore[assignment]
    entries = {"sum": "123456+789=", "code": CODE + "=", "wrong_code": WRONG + "="}
    times: dict[str, list[float]] = {name: [] for name in entries}

    async def once(keys: str) -> float:
        screen = CalculatorScreen(ctx)
        screen.build()
        for key in keys[:-1]:
            await screen.press(key)
        sent.clear()
        started = time.perf_counter()
        await screen.press("=")
        return sent[0] - started

    for _ in range(samples):
        for name, keys in entries.items():
            times[name].append(asyncio.run(once(keys)))
            service.lock()
    out: dict[str, Any] = {name: _percentiles(ts) for name, ts in times.items()}
    out["code_minus_sum_p50_ms"] = round(out["code"]["p50_ms"] - out["sum"]["p50_ms"], 3)
    return out


def run(quick: bool = False) -> dict[str, Any]:
    samples = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="fv-bench-unlock-") as tmp:
        root = Path(tmp)
        log_n = 15 if quick else _calibrated_log_n(root)
        raw = _unlocks(root / "raw", log_n, 0.0, samples)
        padded = _unlocks(root / "padded", log_n, UNLOCK_FLOOR_SECONDS, samples)
        calc = _calculator(root / "calc", log_n, samples)
    return {
        "log_n": log_n,
        "floor_s": UNLOCK_FLOOR_SECONDS,
        "unlock": {"raw": raw, "padded": padded},
        "raw_spread_ms": raw["spread_ms"],
        "padded_spread_ms": padded["spread_ms"],
        "calculator": calc,
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
