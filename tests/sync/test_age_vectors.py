"""Every C2SP CCTV age vector: outcome, failure class and released plaintext must match."""

from __future__ import annotations

import io

import pytest

import sync.age as age
from tests.sync.age_support import HashingSink, Vector, all_vectors

VECTORS = all_vectors()
_UNRELATED = age.generate_identity()[0]

FAILURES: dict[str, type[age.AgeError]] = {
    "no match": age.NoIdentityMatch,
    "HMAC failure": age.HmacError,
    "header failure": age.HeaderError,
    "payload failure": age.PayloadError,
    "armor failure": age.ArmorError,
}


def _identities(vector: Vector) -> list[age.Passphrase | str]:
    found: list[age.Passphrase | str] = list(vector.identities)
    found += [age.Passphrase(p) for p in vector.passphrases]
    # Vectors that fail before any key is needed list none; any unrelated identity will do.
    return found or [_UNRELATED]


def test_all_vectors_are_loaded() -> None:
    assert len(VECTORS) == 143
    assert {v.expect for v in VECTORS} <= {"success", *FAILURES}


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_vector_outcome_failure_class_and_released_plaintext_match(vector: Vector) -> None:
    sink = HashingSink()
    if vector.expect == "success":
        age.decrypt_stream(io.BytesIO(vector.body), sink, _identities(vector), armor=vector.armored)
    else:
        with pytest.raises(FAILURES[vector.expect]):
            age.decrypt_stream(
                io.BytesIO(vector.body), sink, _identities(vector), armor=vector.armored
            )
    if vector.payload is not None:
        assert sink.hexdigest() == vector.payload
    else:
        assert sink.size == 0


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if v.expect == "success"], ids=lambda v: v.name
)
def test_successful_vectors_decrypt_the_same_through_the_bytes_api(vector: Vector) -> None:
    sink = HashingSink()
    sink.write(age.decrypt(vector.body, _identities(vector)))  # armor detected
    assert sink.hexdigest() == vector.payload
