"""Protecting an export before it leaves the coordinator's laptop: age encryption.

Use `protect(data, recipients=[...])` to encrypt to the coordinators' age recipients (any of
them can open it with their identity, or with the reference `age -d -i`), or
`protect(data, passphrase=...)` to encrypt to a passphrase (`age -d` asks for it). The result
is a standard binary age file; name it `<export>.age`.

`needs_protection(kind, identifying)` says which exports must be protected unless the
coordinator explicitly opts out: every CSV or Uwazi import with identifying fields, every PDF
case report, and every evidence bundle. Anonymised statistics never need it.

Danger: a passphrase-protected export is only as strong as the passphrase; the recipients
route is preferred.
"""

from __future__ import annotations

from collections.abc import Sequence

from sync.age.api import encrypt, encrypt_with_passphrase

EXPORT_KINDS = ("csv", "stats", "pdf", "bundle", "uwazi")


class ProtectionError(ValueError):
    """Neither recipients nor a passphrase were given, or both were."""


def needs_protection(kind: str, identifying: bool) -> bool:
    if kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    if kind == "stats":
        return False
    if kind in ("csv", "uwazi"):
        return identifying
    return True


def protect(
    data: bytes,
    *,
    recipients: Sequence[str] = (),
    passphrase: str | None = None,
    log_n: int = 18,
) -> bytes:
    if bool(recipients) == bool(passphrase):
        raise ProtectionError("give either age recipients or a passphrase")
    if passphrase:
        return encrypt_with_passphrase(data, passphrase, log_n=log_n)
    return encrypt(data, list(recipients))
