"""The field service's reasons are a closed set, each turned into a sentence in one place."""

from __future__ import annotations

import pytest

from app import errors_text
from app.i18n import Translator
from app.services.field_types import (
    FIELD_REASONS,
    AttachmentRefused,
    FieldServiceError,
    Locked,
    NotFound,
    UnlockFailed,
    service_error,
    storage_reason,
)
from storage import errors as storage_errors


@pytest.mark.parametrize("reason", sorted(FIELD_REASONS - {"field_error"}))
def test_every_reason_of_the_field_service_has_its_own_sentence(reason: str) -> None:
    key = errors_text.reason_key(reason)
    assert key != errors_text.UNEXPECTED and key in errors_text.ALL_KEYS
    assert Translator("en").t(key) != key


@pytest.mark.parametrize(
    ("error", "kind", "reason"),
    [
        (storage_errors.VaultLocked(), Locked, "locked"),
        (storage_errors.RecordNotFound("r1"), NotFound, "not_found"),
        (storage_errors.AttachmentNotFound("a1"), NotFound, "not_found"),
        (storage_errors.MetadataStripFailed(), AttachmentRefused, "metadata_strip_failed"),
        (storage_errors.AttachmentCorrupt("a1"), AttachmentRefused, "attachment_corrupt"),
        (storage_errors.WrongPassphrase(3), UnlockFailed, "wrong_passphrase"),
        (storage_errors.VaultRolledBack("journal"), FieldServiceError, "vault_rolled_back"),
        (storage_errors.StorageFull(), FieldServiceError, "storage_full"),
        (storage_errors.VaultError("anything else"), FieldServiceError, "storage_error"),
    ],
)
def test_storage_errors_become_service_errors_at_the_boundary(
    error: storage_errors.VaultError, kind: type[FieldServiceError], reason: str
) -> None:
    wrapped = service_error(error)
    assert type(wrapped) is kind and wrapped.reason == reason == storage_reason(error)
    assert errors_text.error_key(wrapped) == errors_text.error_key(error)
