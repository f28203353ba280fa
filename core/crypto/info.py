"""Which cryptographic library this process runs on, for diagnostics and benchmark reports.

Use `cryptography_version()` and `openssl_version()`; both return short display strings and
never raise. Nothing here touches keys.
"""

from __future__ import annotations


def cryptography_version() -> str:
    import cryptography

    return str(cryptography.__version__)


def openssl_version() -> str:
    """The OpenSSL (or LibreSSL/BoringSSL) that `cryptography` is linked against."""
    try:
        from cryptography.hazmat.backends.openssl import backend

        return str(backend.openssl_version_text())
    except Exception:  # a missing or unusual backend is a diagnostic, never a crash
        return "unknown"
