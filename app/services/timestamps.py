"""Independent timestamps: RFC 3161 tokens for every report envelope, from the organisation's TSAs.

Use:
- `set_authorities(vault, [Authority(url, ca_pem)])` and `authorities(vault)`: the timestamping
  authorities (TSAs) this laptop asks; several give redundancy (one that goes away or is
  distrusted later does not take the evidence with it). `ca_pem` (optional) is the authority's
  CA certificate: with it, every token is checked against it when it arrives.
- `org_setting(chosen)` / `org_authorities(settings)`: the organisation's own list, published in
  the signed (and sealed) org document under `ORG_SETTING`, so every coordinator's laptop asks
  the same authorities without configuring anything. `combined(local, org)` is what to ask.
- `stamp_pending(vault, chosen=..., proxy=...)`: for every envelope of every case in the vault
  that has no token yet from some chosen authority, ask that authority for one, check it, and
  keep it with the case. The coordinator service calls it after every pull; it never raises for
  a network or authority failure, it lists them in the `StampReport` (an authority that fails
  once is not asked again in that round; the next round asks for everything still missing).
- `tokens_by_hash(vault)`: every kept token by envelope hash, for evidence bundles
  (`app.exports.bundle.build_bundle(..., timestamps=...)`).

What leaves the laptop: one `TimeStampReq` per envelope and authority: the envelope's SHA-256
hash (the chain link, which commits to the signed header and, through it, the ciphertext), a
random nonce, and a request for the TSA's certificate. No case id, device, time or content.
Requests go through the coordinator's proxy when one is set.

Records: one `timestamp` record per case (id derived from the case id) holding its tokens, and
one setting with the authorities; both inside the encrypted coordinator vault.

Danger: a TSA sees when this organisation stamps how many hashes (traffic, not content). A
token only dates the hash; it says nothing of who wrote the report.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from core.crypto.hashing import sha256_hex
from core.crypto.rfc3161 import BadTimestamp, load_certificates, request, token_from_response
from core.records import Kind, Record, Status
from core.vault_port import VaultPort
from sync import envelope as env
from sync.encoding import EncodingError, b64u_decode, b64u_encode

TIMESTAMP_KIND = "timestamp"
AUTHORITIES_ID = "coordinator-timestamp-authorities"
ORG_SETTING = "timestamp_authorities"  # key in the org document's settings
MAX_ORG_AUTHORITIES = 8
QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
TIMEOUT = 30.0
MAX_REPLY = 64 * 1024
SAVE_EVERY = 100  # cases whose new tokens are saved in one journal entry

Post = Callable[[str, bytes], bytes]


class TimestampError(Exception):
    """An authority could not give a usable token; `reason` says why (machine-readable)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class Authority:
    url: str
    ca_pem: str = ""  # the authority's CA certificate(s), PEM; "" to keep without a check

    def trusted(self) -> list[bytes]:
        return load_certificates(self.ca_pem.encode("ascii")) if self.ca_pem else []


@dataclasses.dataclass(frozen=True, slots=True)
class StampReport:
    stamped: int  # tokens received and kept
    pending: int  # envelopes still missing a token from some authority
    failures: tuple[tuple[str, str], ...]  # (authority url, reason), one per failed request


def check_authority(url: str, ca_pem: str = "") -> Authority:
    """A valid `Authority`, or `ValueError` for a URL that is not http(s) or a bad CA file."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a timestamping authority is an http:// or https:// URL")
    authority = Authority(url.strip(), ca_pem.strip())
    authority.trusted()  # raises ValueError for something that is not a certificate
    return authority


# ---- configuration ------------------------------------------------------------------------


def authorities(vault: VaultPort) -> list[Authority]:
    record = _get(vault, AUTHORITIES_ID)
    raw = record.data.get("authorities", []) if record is not None else []
    return [Authority(str(a["url"]), str(a.get("ca_pem", ""))) for a in raw]


def set_authorities(vault: VaultPort, chosen: Sequence[Authority]) -> None:
    urls = [a.url for a in chosen]
    if len(set(urls)) != len(urls):
        raise ValueError("an authority is listed twice")
    vault.put(
        Record(
            kind=Kind.SETTING,
            id=AUTHORITIES_ID,
            status=Status.LOCAL,
            data={"authorities": [dataclasses.asdict(a) for a in chosen]},
        )
    )


def org_setting(chosen: Sequence[Authority]) -> list[dict[str, str]]:
    """The value to publish under `ORG_SETTING` in the org document's settings."""
    if len({a.url for a in chosen}) != len(chosen):
        raise ValueError("an authority is listed twice")
    if len(chosen) > MAX_ORG_AUTHORITIES:
        raise ValueError(f"at most {MAX_ORG_AUTHORITIES} authorities")
    return [{"url": a.url, "ca_pem": a.ca_pem} for a in chosen]


def org_authorities(settings: Mapping[str, Any] | None) -> list[Authority]:
    """The organisation's authorities from org document settings. The document is root-signed,
    but an entry that is not a valid authority (a later version's shape, a bad CA) is skipped
    rather than trusted half-way."""
    raw = (settings or {}).get(ORG_SETTING)
    if not isinstance(raw, list):
        return []
    found: list[Authority] = []
    for entry in raw[:MAX_ORG_AUTHORITIES]:
        if not isinstance(entry, Mapping):
            continue
        try:
            found.append(check_authority(str(entry.get("url", "")), str(entry.get("ca_pem", ""))))
        except ValueError:
            continue
    return found


def combined(local: Sequence[Authority], org: Sequence[Authority]) -> list[Authority]:
    """The organisation's authorities, then this laptop's own; one entry per URL (the
    organisation's wins, so its CA check applies, unless it names no CA and this laptop's does:
    a check is never switched off by the list)."""
    own = {a.url: a for a in local}
    seen: set[str] = set()
    out: list[Authority] = []
    for authority in [*org, *local]:
        if authority.url not in seen:
            seen.add(authority.url)
            mine = own.get(authority.url)
            out.append(mine if mine is not None and not authority.ca_pem else authority)
    return out


# ---- the TSA client -----------------------------------------------------------------------


def http_post(proxy: str | None = None, timeout: float = TIMEOUT) -> Post:
    """A poster for TimeStampReq bodies over HTTP(S), through `proxy` when given and never
    through a proxy the environment names."""

    def post(url: str, body: bytes) -> bytes:
        try:
            with requests.Session() as session:
                # exactly the route configured, as `sync.client` does: no proxy, .netrc or
                # NO_PROXY from the environment
                session.trust_env = False
                if proxy:
                    session.proxies = {"http": proxy, "https": proxy}
                with session.post(
                    url,
                    data=body,
                    headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
                    timeout=timeout,
                    stream=True,
                    allow_redirects=False,
                ) as response:
                    if response.status_code != 200:
                        raise TimestampError("tsa_refused", f"HTTP {response.status_code}")
                    data = response.raw.read(MAX_REPLY + 1, decode_content=True)
        except requests.RequestException as exc:
            raise TimestampError("tsa_unreachable", type(exc).__name__) from exc
        if len(data) > MAX_REPLY:
            raise TimestampError("bad_response", "the reply is too large")
        return bytes(data)

    return post


def fetch_token(authority: Authority, digest: bytes, post: Post) -> bytes:
    """Ask `authority` to stamp `digest`; the checked token, or `TimestampError`."""
    nonce = secrets.randbits(63) | 1
    reply = post(authority.url, request(digest, nonce=nonce))
    try:
        token, _ = token_from_response(reply, digest, nonce=nonce, trusted=authority.trusted())
    except BadTimestamp as exc:
        reason = "tsa_refused" if exc.reason == "not_granted" else "bad_response"
        raise TimestampError(reason, exc.reason) from None
    return token


# ---- stamping -----------------------------------------------------------------------------


def record_id(case_id: str) -> str:
    return sha256_hex(f"fieldvault/timestamps/{case_id}".encode())[:32]


def _get(vault: VaultPort, rid: str) -> Record | None:
    from storage import RecordNotFound

    try:
        found: Record = vault.get(rid)
    except RecordNotFound:
        return None
    return found


def _envelopes(case: Record) -> Iterable[tuple[str, str]]:
    """(envelope id, envelope hash) of every revision of a case."""
    for revision in case.data.get("revisions") or []:
        wire = revision.get("wire")
        if not isinstance(wire, Mapping):
            continue
        try:
            sealed = env.from_wire(dict(wire))
        except (env.EnvelopeError, EncodingError, ValueError):
            continue
        yield sealed.id, env.envelope_hash(sealed)


def stamp_pending(
    vault: VaultPort,
    *,
    chosen: Sequence[Authority] | None = None,
    proxy: str | None = None,
    post: Post | None = None,
    now: Callable[[], float] | None = None,
) -> StampReport:
    """Stamp every envelope still missing a token from a chosen authority (see module); the
    authorities default to this laptop's own list."""
    chosen = authorities(vault) if chosen is None else list(chosen)
    if not chosen:
        return StampReport(0, 0, ())
    send = post or http_post(proxy)
    clock = now or (lambda: _dt.datetime.now(_dt.UTC).timestamp())
    stamped = pending = 0
    failures: list[tuple[str, str]] = []
    failed: set[str] = set()  # authorities that failed once: not asked again this round
    batch: list[Record] = []
    for case in vault.list(kind=Kind.CASE):
        rid = record_id(case.id)
        existing = _get(vault, rid)
        data: dict[str, Any] = (
            existing.data if existing is not None else {"case_id": case.id, "stamps": []}
        )
        have = {(s["envelope_hash"], s["tsa"]) for s in data["stamps"]}
        changed = False
        for envelope_id, digest_hex in _envelopes(case):
            for authority in chosen:
                if (digest_hex, authority.url) in have:
                    continue
                if authority.url in failed:
                    pending += 1
                    continue
                try:
                    token = fetch_token(authority, bytes.fromhex(digest_hex), send)
                except TimestampError as exc:
                    failures.append((authority.url, exc.reason))
                    failed.add(authority.url)
                    pending += 1
                    continue
                data["stamps"].append(
                    {
                        "envelope_id": envelope_id,
                        "envelope_hash": digest_hex,
                        "tsa": authority.url,
                        "token": b64u_encode(token),
                        "received": int(clock()),
                    }
                )
                have.add((digest_hex, authority.url))
                stamped += 1
                changed = True
        if changed:
            batch.append(Record(kind=TIMESTAMP_KIND, id=rid, status=Status.LOCAL, data=data))
        if len(batch) >= SAVE_EVERY:
            vault.put_many(batch)
            batch = []
    if batch:
        vault.put_many(batch)
    return StampReport(stamped, pending, tuple(failures))


def tokens_by_hash(vault: VaultPort) -> dict[str, list[bytes]]:
    """Every kept token (DER), by envelope hash (hex)."""
    out: dict[str, list[bytes]] = {}
    for record in vault.list(kind=TIMESTAMP_KIND):
        for stamp in record.data.get("stamps", []):
            try:
                token = b64u_decode(str(stamp["token"]))
            except (EncodingError, KeyError):
                continue
            out.setdefault(str(stamp["envelope_hash"]), []).append(token)
    return out


def unstamped(vault: VaultPort, chosen: Sequence[Authority] | None = None) -> int:
    """How many (envelope, authority) pairs still lack a token."""
    urls = {a.url for a in (authorities(vault) if chosen is None else chosen)}
    missing = 0
    for case in vault.list(kind=Kind.CASE):
        existing = _get(vault, record_id(case.id))
        have = {
            (s["envelope_hash"], s["tsa"]) for s in (existing.data["stamps"] if existing else [])
        }
        for _, digest_hex in _envelopes(case):
            missing += sum((digest_hex, url) not in have for url in urls)
    return missing
