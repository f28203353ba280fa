"""Shared fixtures and the rule for tests that need outside services.

Tests that need PostgreSQL, Chromium or the reference age tools call `require(...)`. On a
developer machine without them the test is skipped with the reason; when
`FIELDVAULT_REQUIRE_SERVICES=1` (set by `.ci/run`) the same situation is a failure, so CI can
never pass by skipping.
"""

from __future__ import annotations

import os

import pytest


def services_required() -> bool:
    return os.environ.get("FIELDVAULT_REQUIRE_SERVICES") == "1"


def require(available: bool, reason: str) -> None:
    """Skip (or, in CI, fail) the calling test unless `available`."""
    if available:
        return
    if services_required():
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)
