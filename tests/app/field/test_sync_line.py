"""The sync line on a bad network: waiting for a better connection, and how much is left."""

from __future__ import annotations

import time

from app.field.sync_line import SyncLine
from app.services.field_types import SyncStatus
from tests.app.field.test_views import unlocked


def test_after_a_dropped_connection_the_line_says_it_waits_and_how_much_is_left() -> None:
    line = SyncLine(unlocked("en"))
    line.show(SyncStatus(True, time.time(), 1, last_error="offline", bytes_left=6_500_000))
    assert str(line.text.value).startswith("Waiting for a better connection")
    assert "6.2 MB left to send" in str(line.text.value)


def test_a_good_round_shows_the_last_sync_and_no_waiting_for_a_connection() -> None:
    line = SyncLine(unlocked("ru"))
    line.show(SyncStatus(True, time.time(), 0))
    assert "Ждём" not in str(line.text.value) and "Последняя" in str(line.text.value)


def test_a_refusal_that_waiting_will_not_fix_is_not_called_a_bad_connection() -> None:
    line = SyncLine(unlocked("en"))
    line.show(SyncStatus(True, None, 2, last_error="tls_pin_mismatch", bytes_left=10))
    assert "Waiting for a better connection" not in str(line.text.value)
