"""Request signing: what the server checks on every authenticated call."""

from __future__ import annotations

import pytest

from core.crypto.signing import SigningKey
from sync.auth import (
    HEADER_KEY,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIME,
    WINDOW_SECONDS,
    AuthError,
    sign_request,
    verify_request,
)
from sync.encoding import b64u_encode
from sync.keys import key_id

NOW = 1_763_700_000
BODY = b'{"envelopes":[]}'


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.from_bytes(bytes(range(32)))


def signed(key: SigningKey, **changes: str) -> dict[str, str]:
    headers = sign_request(key, "POST", "/v1/envelopes", BODY, now=NOW)
    headers.update(changes)
    return headers


def reason(
    headers: dict[str, str],
    method: str = "POST",
    path: str = "/v1/envelopes",
    body: bytes = BODY,
    now: int = NOW,
) -> str:
    with pytest.raises(AuthError) as caught:
        verify_request(headers, method, path, body, now=now)
    return caught.value.reason


def test_signed_request_verifies_and_names_its_key(key: SigningKey) -> None:
    headers = signed(key)
    result = verify_request(headers, "POST", "/v1/envelopes", BODY, now=NOW)
    assert result.public_key == key.public_bytes()
    assert result.key_id == key_id(key.public_bytes())
    assert result.nonce == headers[HEADER_NONCE]
    assert result.timestamp == NOW


def test_header_names_are_case_insensitive(key: SigningKey) -> None:
    headers = {k.lower(): v for k, v in signed(key).items()}
    verify_request(headers, "POST", "/v1/envelopes", BODY, now=NOW)


def test_each_request_gets_a_fresh_nonce(key: SigningKey) -> None:
    assert signed(key)[HEADER_NONCE] != signed(key)[HEADER_NONCE]


@pytest.mark.parametrize("skew", [WINDOW_SECONDS, -WINDOW_SECONDS])
def test_requests_at_the_edge_of_the_window_are_accepted(key: SigningKey, skew: int) -> None:
    verify_request(signed(key), "POST", "/v1/envelopes", BODY, now=NOW + skew)


@pytest.mark.parametrize("skew", [WINDOW_SECONDS + 1, -WINDOW_SECONDS - 1, 86_400])
def test_requests_outside_the_window_are_stale(key: SigningKey, skew: int) -> None:
    assert reason(signed(key), now=NOW + skew) == "stale_request"


def test_tampered_body_is_refused(key: SigningKey) -> None:
    assert reason(signed(key), body=BODY + b" ") == "bad_signature"


def test_tampered_path_or_query_is_refused(key: SigningKey) -> None:
    assert reason(signed(key), path="/v1/envelopes?after=0") == "bad_signature"
    assert reason(signed(key), path="/v1/commands") == "bad_signature"


def test_tampered_method_is_refused(key: SigningKey) -> None:
    assert reason(signed(key), method="PUT") == "bad_signature"


def test_tampered_time_or_nonce_is_refused(key: SigningKey) -> None:
    assert reason(signed(key, **{HEADER_TIME: str(NOW + 1)})) == "bad_signature"
    assert reason(signed(key, **{HEADER_NONCE: b64u_encode(bytes(16))})) == "bad_signature"


def test_signature_by_another_key_is_refused(key: SigningKey) -> None:
    other = SigningKey.from_bytes(bytes(32))
    headers = signed(key, **{HEADER_KEY: b64u_encode(other.public_bytes())})
    assert reason(headers) == "bad_signature"


@pytest.mark.parametrize("missing", [HEADER_KEY, HEADER_TIME, HEADER_NONCE, HEADER_SIGNATURE])
def test_missing_header_is_missing_auth(key: SigningKey, missing: str) -> None:
    headers = signed(key)
    del headers[missing]
    assert reason(headers) == "missing_auth"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (HEADER_KEY, "not base64!"),
        (HEADER_KEY, b64u_encode(bytes(31))),
        (HEADER_SIGNATURE, b64u_encode(bytes(63))),
        (HEADER_SIGNATURE, b64u_encode(bytes(64)) + "="),
        (HEADER_NONCE, b64u_encode(bytes(15))),
        (HEADER_TIME, "-5"),
        (HEADER_TIME, "1.5"),
        (HEADER_TIME, ""),
        (HEADER_TIME, "0" + str(NOW)),
        (HEADER_TIME, "١٧٦٣٧٠٠٠٠٠"),
        (HEADER_TIME, "9" * 13),
    ],
)
def test_malformed_headers_are_malformed_auth(key: SigningKey, header: str, value: str) -> None:
    assert reason(signed(key, **{header: value})) == "malformed_auth"


def test_auth_error_message_holds_only_the_reason(key: SigningKey) -> None:
    with pytest.raises(AuthError) as caught:
        verify_request(signed(key), "POST", "/v1/envelopes", b"secret body", now=NOW)
    assert str(caught.value) == "bad_signature"
