"""Post-quantum age files on the pure-Python ML-KEM backend, whatever `cryptography` is here.

Phones run cryptography 43.0.1, which has no ML-KEM: there every `mlkem768x25519` stanza is
sealed and opened by `core.crypto.xwing`. These tests force that backend so the dev platform
checks it too.
"""

from __future__ import annotations

import io

import pytest

import sync.age as age
from core.crypto import pq
from tests.sync.age_support import HashingSink, Vector, all_vectors

PQ_VECTORS = [v for v in all_vectors() if v.is_pq]
FAILURES: dict[str, type[age.AgeError]] = {
    "no match": age.NoIdentityMatch,
    "HMAC failure": age.HmacError,
    "header failure": age.HeaderError,
    "payload failure": age.PayloadError,
    "armor failure": age.ArmorError,
}


@pytest.fixture(autouse=True)
def python_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pq, "native_available", lambda: False)
    assert pq.backend() == pq.PYTHON


def test_all_19_post_quantum_vectors_are_loaded() -> None:
    assert len(PQ_VECTORS) == 19


@pytest.mark.parametrize("vector", PQ_VECTORS, ids=[v.name for v in PQ_VECTORS])
def test_post_quantum_vector_outcome_and_plaintext_match_on_the_python_backend(
    vector: Vector,
) -> None:
    sink = HashingSink()
    source = io.BytesIO(vector.body)
    if vector.expect == "success":
        age.decrypt_stream(source, sink, list(vector.identities), armor=vector.armored)
    else:
        with pytest.raises(FAILURES[vector.expect]):
            age.decrypt_stream(source, sink, list(vector.identities), armor=vector.armored)
    if vector.payload is not None:
        assert sink.hexdigest() == vector.payload
    else:
        assert sink.size == 0


def test_post_quantum_file_made_on_the_python_backend_opens_for_each_recipient() -> None:
    first, first_recipient = age.generate_identity(pq=True)
    second, second_recipient = age.generate_identity(pq=True)
    data = age.encrypt(b"report from the field", [first_recipient, second_recipient])
    assert data.count(b"-> mlkem768x25519 ") == 2
    assert age.decrypt(data, [second]) == b"report from the field"
    assert age.decrypt(data, [first]) == b"report from the field"
    with pytest.raises(age.NoIdentityMatch):
        age.decrypt(data, [age.generate_identity(pq=True)[0]])
