"""Locked alarm benchmark: from the gesture on a locked phone to the alarm raised at the
coordinators, through the real server on loopback.

    python -m bench.locked_alarm [--rounds N]      prints JSON

Measures, on a phone with a keystore (the in-memory one) that joined and synced twice: sealing
the alarm from the wipe-check file (`AlarmService.trigger` while locked: keystore, file, age,
signature), posting it with the check key, and the coordinator's pull that raises it; and the
sealed size for 1 and 5 coordinators' recipients (every alarm of an organisation has one size).
Median of `--rounds` (default 5), in milliseconds.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from app.services.field import VaultFieldService
from app.services.field_alarm import AlarmService, LockedAlarmSender
from app.services.field_keystore import MemoryKeystore
from core.crypto.signing import SigningKey
from sync import age, coordinator, locked_alarm
from sync.coordinator import alerts as raised_alerts
from tests.integration.conftest import running_org

PIN = "740218395061"


def _sizes() -> dict[str, int]:
    key = SigningKey.generate()
    out = {}
    for count in (1, 5):
        recipients = [age.generate_identity()[1] for _ in range(count)]
        sealed = locked_alarm.seal(
            device="d" * 32,
            nonce=locked_alarm.new_nonce(),
            at=int(time.time()),
            message="detained",
            alarm_key=key,
            recipients=recipients,
        )
        out[f"sealed_bytes_{count}_recipients"] = len(sealed)
    return out


def bench_locked_alarm(rounds: int = 5) -> dict[str, Any]:
    seal_ms, post_ms, pull_ms = [], [], []
    with tempfile.TemporaryDirectory() as tmp, running_org(Path(tmp)) as org:
        phone = VaultFieldService(Path(tmp) / "phone", kdf_log_n=15, keystore=MemoryKeystore())
        phone.create(PIN, language="ru")
        phone.join(coordinator.create_invite(org.coordinator, expires_in=3600).encode())
        phone.sync_round()
        phone.sync_round()
        coordinator.pull(org.coordinator)
        for _ in range(rounds):
            phone.lock()
            alarms = AlarmService(phone)
            start = time.perf_counter()
            sender = alarms.trigger()
            sealed = time.perf_counter()
            assert isinstance(sender, LockedAlarmSender)
            assert sender.deliver_once() and sender.stored
            posted = time.perf_counter()
            report = coordinator.pull(org.coordinator)
            pulled = time.perf_counter()
            assert report.locked_alarms == 1
            seal_ms.append((sealed - start) * 1000)
            post_ms.append((posted - sealed) * 1000)
            pull_ms.append((pulled - posted) * 1000)
            phone.unlock(PIN)
            alarms.flush()
        raised = len(raised_alerts.active(org.coordinator, int(time.time())))
    return {
        "rounds": rounds,
        "seal_ms": round(statistics.median(seal_ms), 2),
        "post_ms": round(statistics.median(post_ms), 2),
        "coordinator_pull_ms": round(statistics.median(pull_ms), 2),
        "alarms_raised": raised,
        **_sizes(),
    }


def main() -> None:
    args = sys.argv[1:]
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 5
    print(json.dumps(bench_locked_alarm(rounds), indent=2))


if __name__ == "__main__":
    main()
