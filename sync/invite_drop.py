"""Publishing and fetching an invite by its short code (`sync.shortcode` for the crypto).

Coordinator: `publish(client, invite, expires_in)` -> `Published(code, lookup)`: a fresh short
code, the invite sealed under it and kept on the server under its lookup id. Keep `lookup` with
the invite (to `withdraw` it when the invite is cancelled); show `code` to the documenter.

Phone: `fetch(server_url, code)` -> the `Invite`, opened and parsed; then enrol with it exactly
as with a long code (its secret, org key and root fingerprint checks all apply). Errors are
`ShortCodeError` with `reason`: `bad_length` / `bad_character` / `bad_check` (a typo, caught
before any request), `code_unknown`, `code_expired`, `code_used`, `too_many_attempts`
(`retry_after` seconds), `tampered` (what came back does not open: the server altered or
swapped it), or a `sync.errors.SyncError` for the network (offline, TLS, ...).

Danger: `fetch` talks to a server the phone does not trust yet (no TLS pin before the invite
is open). That is safe for the invite (sealed and authenticated end to end) but the lookup id
crosses the network: anyone who sees it can spend one of the code's few fetches.
"""

from __future__ import annotations

import dataclasses

from sync.client import Client
from sync.encoding import EncodingError, b64u_decode, b64u_encode, parse_json_strict
from sync.errors import ProtocolError, ServerRefused
from sync.invite import Invite
from sync.shortcode import ShortCodeError, derive, new_code, open_invite, seal_invite

FETCH_REFUSALS = ("code_unknown", "code_expired", "code_used")


class TooManyAttempts(ShortCodeError):
    """The server refuses lookups for a while (someone, maybe not us, guessed too often)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too_many_attempts")
        self.retry_after = retry_after


@dataclasses.dataclass(frozen=True, slots=True)
class Published:
    code: str = dataclasses.field(repr=False)
    lookup: str


def publish(client: Client, invite: Invite, expires_in: int) -> Published:
    """Seal `invite` under a new short code and keep it on the server (coordinator-signed)."""
    code = new_code()
    derived = derive(code)
    body = {
        "lookup": derived.lookup,
        "sealed": b64u_encode(seal_invite(derived, invite)),
        "expires_in": int(expires_in),
    }
    client.call("POST", "/v1/invite-drops", json_body=body)
    return Published(code=code, lookup=derived.lookup)


def withdraw(client: Client, lookup: str) -> None:
    """Make the server forget a sealed invite (idempotent)."""
    client.call("POST", "/v1/invite-drops/cancel", json_body={"lookup": lookup})


def fetch(server_url: str, code: str, *, proxy: str | None = None) -> Invite:
    """The invite a short code stands for, fetched, opened and checked."""
    derived = derive(code)  # a typo raises here, before the network is touched
    with Client(server_url, proxy=proxy) as client:
        try:
            response = client.request(
                "POST",
                "/v1/invite-drops/fetch",
                json_body={"lookup": derived.lookup},
                signed=False,
                accept=(429,),
            )
        except ServerRefused as exc:
            if exc.reason in FETCH_REFUSALS:
                raise ShortCodeError(exc.reason) from None
            raise
        try:
            answer = parse_json_strict(response.content)
        except EncodingError as exc:
            raise ProtocolError("the server's answer is not valid JSON") from exc
    if response.status_code == 429:
        retry = answer.get("retry_after") if isinstance(answer, dict) else None
        raise TooManyAttempts(retry if isinstance(retry, int) and retry > 0 else 60)
    sealed = answer.get("sealed") if isinstance(answer, dict) else None
    try:
        raw = b64u_decode(sealed) if isinstance(sealed, str) else None
    except EncodingError:
        raw = None
    if raw is None:
        raise ShortCodeError("tampered")
    return open_invite(derived, raw)
