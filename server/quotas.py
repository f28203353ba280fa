"""Per-device quotas: how much one enrolled phone may ask of the server.

A seized or hostile phone holds a valid device key, so signatures alone do not stop it from
declaring blob after 4 GiB blob or pushing envelopes without end until the organisation's disk
is full. Each device therefore gets (`server.config.Quotas`, set by `FIELDVAULT_QUOTA_*`):

- `envelopes_per_hour`: once this many of its envelopes arrived in the last hour, a push is
  refused with 429 `envelope_quota` until the window moves on;
- `blobs_per_day`: declaring more blob uploads than this in 24 hours is refused with 429
  `blob_quota`;
- `blob_bytes_per_day`: a declaration that takes the declared sizes of the last 24 hours past
  this is refused with 413 `blob_bytes_quota` (with `retry_after` when waiting would help).

Every refusal names the quota, its `limit`, what was `used` and when to come back
(`retry_after` seconds, also as `Retry-After`); the client treats a 429 as "try again later" and
keeps everything queued. Coordinators are exempt; a quota of 0 is switched off. Quotas are
checked when a request starts, so concurrent requests of one device may overshoot a quota by
one batch or one blob each.
"""

from __future__ import annotations

from server.auth import Caller
from server.context import Services
from server.errors import ApiError

HOUR = 3600
DAY = 24 * HOUR


def _refuse(status: int, reason: str, detail: str, **extra: int) -> ApiError:
    error = ApiError(status, reason, detail, **extra)
    if "retry_after" in extra:
        error.headers = {"Retry-After": str(extra["retry_after"])}
    return error


def check_envelope_push(ctx: Services, caller: Caller) -> None:
    """Refuse a device's push once it stored `envelopes_per_hour` envelopes in the last hour."""
    limit = ctx.quotas.envelopes_per_hour
    if caller.role != "device" or limit <= 0:
        return
    now = ctx.clock()
    oldest_counted = ctx.repo.nth_latest_envelope_time(caller.key_id, limit)
    if oldest_counted is not None and oldest_counted > now - HOUR:
        raise _refuse(
            429,
            "envelope_quota",
            f"this device sent {limit} envelopes in the last hour; the rest must wait",
            limit=limit,
            used=limit,
            retry_after=max(1, oldest_counted + HOUR - now),
        )


def check_blob_declaration(ctx: Services, caller: Caller, size: int) -> None:
    """Refuse a new blob upload past the device's daily count or declared bytes."""
    quotas = ctx.quotas
    if caller.role != "device" or (quotas.blobs_per_day <= 0 and quotas.blob_bytes_per_day <= 0):
        return
    now = ctx.clock()
    count, declared, oldest = ctx.repo.blobs_declared_since(caller.key_id, now - DAY)
    if 0 < quotas.blobs_per_day <= count:
        raise _refuse(
            429,
            "blob_quota",
            f"this device declared {count} uploads in the last 24 hours",
            limit=quotas.blobs_per_day,
            used=count,
            retry_after=max(1, (oldest if oldest is not None else now) + DAY - now),
        )
    if 0 < quotas.blob_bytes_per_day < declared + size:
        later = {}
        if oldest is not None and size <= quotas.blob_bytes_per_day:
            later["retry_after"] = max(1, oldest + DAY - now)  # room again as the window moves
        raise _refuse(
            413,
            "blob_bytes_quota",
            "this upload would take the device past its bytes for the last 24 hours",
            limit=quotas.blob_bytes_per_day,
            used=declared,
            **later,
        )
