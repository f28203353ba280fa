"""Evidence bundles: the original signed envelopes of some cases, checkable by anyone.

Use `build_bundle(cases, author_keys=..., signer=..., org=..., now=...)` to make the zip and
`verify_bundle(data)` (or `fieldvault coordinator verify-bundle FILE`) to check one.

A bundle is a zip:

    manifest.json        what is inside, in order, with the SHA-256 of every other file
    manifest.sig         b64u Ed25519 signature by the exporting coordinator over
                         EVIDENCE_BUNDLE label || canonical_json(manifest)
    envelopes/<id>.json  each original wire envelope (header, device signature, age ciphertext)
    content/<case>.json  the coordinator's decryption of each case (its revisions' records)
    timestamps/<id>-<n>.tsr  RFC 3161 time-stamp tokens (DER) from independent authorities for
                         the envelope's hash, when the coordinator has them (`manifest.timestamps`
                         lists envelope id, envelope hash and file of each)
    attachments/<case>/<blob>-<name>  each attachment (photo, recording, document), decrypted
    attachments/<case>/<blob>.age     the same attachment exactly as the device encrypted and
                         sent it, when the coordinator could fetch it (`manifest.attachments`
                         lists case, blob id, the SHA-256 and size the device signed, and files)
    REPORT.txt           the verification report at export time
    README.txt           how to verify

`verify_bundle` checks, and reports every failure with a code:
- `manifest_signature`: the manifest was changed after export (or signed by another key);
- `missing_file` / `file_altered` / `unexpected_file`: files removed, changed or added;
- `malformed_envelope`, `wrong_author`, `payload_mismatch`, `bad_signature`: an envelope is not
  what its device signed (a changed byte in a payload lands here);
- `reordered`: one device's envelopes are not in increasing sequence order;
- `chain_broken`: consecutive envelopes of one device do not link (`prev` is not the hash of
  the one before);
- `timestamp_invalid` / `timestamp_mismatch` / `timestamp_untrusted`: a time-stamp token is
  damaged or not signed by its TSA certificate, dates another hash than its envelope's, or
  (with `tsa_trusted` CA certificates) its TSA certificate does not chain to one of them.
- `attachment_mismatch`: an attachment is not one its case's report names with that hash;
  `attachment_altered`: the encrypted original is not the bytes (SHA-256, size) its device
  signed.
Sequence numbers skipped between two envelopes of a device belong to that device's other
records (other cases, replies); they are listed as information, not as failures.

What it proves: each envelope was made by the device key listed for it and not altered since,
and the bundle is complete as exported. What it does not prove: that a device key belongs to a
given person (compare the key ids with the organisation's device list), or that the `content/`
files are the decryption of the ciphertext; that is attested by the coordinator's signature.

Danger: `content/` holds what victims said. Bundles are identifying exports; protect them.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import io
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

from core.crypto.errors import BadSignature
from core.crypto.hashing import sha256_hex
from core.crypto.rfc3161 import BadTimestamp, verify_token
from core.crypto.signing import SigningKey
from core.crypto.signing import verify as verify_signature
from sync import envelope as env
from sync.chain import follows
from sync.encoding import EncodingError, b64u_decode, b64u_encode, canonical_json, parse_json_strict
from sync.keys import key_id
from sync.labels import EVIDENCE_BUNDLE_SIGNATURE

FORMAT = "fieldvault-evidence-bundle"
VERSION = 1
MAX_BUNDLE_FILES = 100_000
MAX_BUNDLE_BYTES = 2 * 1024**3
_FIXED = ("manifest.json", "manifest.sig")

README = """FieldVault evidence bundle
==========================

This archive holds the original signed envelopes of one or more cases, exactly as the
reporting devices sent them, and the public keys of those devices.

To verify it, run:

    fieldvault coordinator verify-bundle THIS_FILE.zip

It checks every device signature, every payload hash, the order and chaining of each
device's envelopes, and that no file was added, removed or changed since export (the
manifest is signed by the exporting coordinator). Compare the device and coordinator key
ids in the report with the organisation's own list.

Files under attachments/ are the reports' photos, recordings and documents, decrypted;
the .age file beside each is the attachment exactly as the device sent it, and its SHA-256
is the one the device signed in its report.

Files under timestamps/ are RFC 3161 time-stamp tokens from independent timestamping
authorities for the envelopes' hashes: they show each report existed by the time stated.
Give the authorities' CA certificates to check them against (`--tsa-ca FILE`).
"""


# every code `verify_bundle` can report (each has a `bundle.<code>` catalogue key)
PROBLEM_CODES = (
    "not_a_bundle",
    "encrypted",
    "manifest_signature",
    "missing_file",
    "file_altered",
    "unexpected_file",
    "malformed_envelope",
    "envelope_mismatch",
    "wrong_author",
    "payload_mismatch",
    "bad_signature",
    "reordered",
    "chain_broken",
    "timestamp_invalid",
    "timestamp_mismatch",
    "timestamp_untrusted",
    "attachment_mismatch",
    "attachment_altered",
)


@dataclasses.dataclass(frozen=True, slots=True)
class AttachmentFile:
    """An attachment for a bundle: decrypted, and (when known) as its device encrypted it."""

    plain: bytes = dataclasses.field(repr=False)
    original: bytes | None = dataclasses.field(repr=False, default=None)


def _safe_name(name: str) -> str:
    """A file name that stays one path segment inside the zip."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    clean = "".join(c if c.isprintable() and c not in ':*?"<>|' else "_" for c in base)
    return clean.strip(" .")[:80] or "attachment"


@dataclasses.dataclass(frozen=True, slots=True)
class BundleProblem:
    code: str
    detail: str


@dataclasses.dataclass(frozen=True, slots=True)
class StampNote:
    """One verified time-stamp token: which envelope, when, by which TSA certificate."""

    envelope_id: str
    time: str  # ISO 8601, UTC
    tsa: str
    tsa_fingerprint: str
    trusted: bool  # its certificate chains to a CA certificate given to the verifier


@dataclasses.dataclass(frozen=True, slots=True)
class BundleVerdict:
    ok: bool
    problems: tuple[BundleProblem, ...]
    notes: tuple[str, ...]
    signer: str
    org: str
    created: int
    cases: int
    envelopes: int
    authors: tuple[str, ...]
    timestamps: tuple[StampNote, ...] = ()

    def codes(self) -> set[str]:
        return {p.code for p in self.problems}

    def report_text(self) -> str:
        when = (
            _dt.datetime.fromtimestamp(self.created, _dt.UTC).isoformat() if self.created else "-"
        )
        lines = [
            "FieldVault evidence bundle verification",
            f"result: {'VALID' if self.ok else 'INVALID'}",
            f"organisation: {self.org or '-'}",
            f"exported: {when} by coordinator key {self.signer or '-'}",
            f"cases: {self.cases}, envelopes checked: {self.envelopes}",
            "device keys: " + (", ".join(self.authors) or "-"),
        ]
        if self.timestamps:
            lines.append(f"independent timestamps: {len(self.timestamps)}")
            lines.extend(
                f"  envelope {t.envelope_id} existed by {t.time}, stamped by {t.tsa} "
                f"(certificate SHA-256 {t.tsa_fingerprint}; "
                + ("chains to a CA you gave)" if t.trusted else "CA not checked)")
                for t in self.timestamps
            )
        if self.problems:
            lines.append("problems:")
            lines.extend(f"  [{p.code}] {p.detail}" for p in self.problems)
        if self.notes:
            lines.append("notes:")
            lines.extend(f"  {n}" for n in self.notes)
        return "\n".join(lines) + "\n"


def unopened(reason: str) -> BundleVerdict:
    """The verdict on an age-encrypted bundle that could not be decrypted (`reason` says why)."""
    problem = BundleProblem(
        "encrypted", f"the bundle is age-encrypted and was not opened ({reason})"
    )
    return BundleVerdict(False, (problem,), (), "", "", 0, 0, 0, ())


def _wire_of(revision: Mapping[str, Any]) -> dict[str, Any]:
    wire = revision.get("wire")
    if not isinstance(wire, Mapping):
        raise ValueError("a case revision has no wire envelope to export")
    return dict(wire)


def build_bundle(
    cases: Sequence[Mapping[str, Any]],
    *,
    author_keys: Mapping[str, bytes],
    signer: SigningKey,
    org: str,
    now: int,
    include_content: bool = True,
    timestamps: Mapping[str, Sequence[bytes]] | None = None,
    attachments: Mapping[str, AttachmentFile] | None = None,
) -> bytes:
    """A signed evidence bundle for `cases` (the coordinator vault's `case` record data).

    `author_keys` maps device key id -> Ed25519 public key (from the server's device list).
    `timestamps` maps envelope hash (hex) -> RFC 3161 tokens (DER) to include.
    `attachments` maps blob id -> its bytes; a blob the cases name but this leaves out is
    listed in the report as not included.
    Raises `ValueError` when a case has no wire envelope or an author key is unknown.
    """
    builder = _BundleBuilder(author_keys, timestamps or {}, attachments or {})
    for case in cases:
        builder.add_case(case, include_content=include_content)
    builder.entries.sort(key=lambda e: (e["author"], e["seq"]))
    builder.files["README.txt"] = README.encode("utf-8")
    manifest = builder.manifest(signer, org=org, now=now)
    # The export-time report is computed on the bundle as it will be written.
    draft = _assemble(manifest, builder.files, signer)
    builder.files["REPORT.txt"] = verify_bundle(draft).report_text().encode("utf-8")
    return _assemble(manifest, builder.files, signer)


@dataclasses.dataclass
class _BundleBuilder:
    """What `build_bundle` gathers case by case: files, envelope entries, stamps, keys."""

    author_keys: Mapping[str, bytes]
    timestamps: Mapping[str, Sequence[bytes]]
    attachments: Mapping[str, AttachmentFile]
    files: dict[str, bytes] = dataclasses.field(default_factory=dict)
    entries: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    stamps: list[dict[str, str]] = dataclasses.field(default_factory=list)
    case_list: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    keys: dict[str, str] = dataclasses.field(default_factory=dict)
    seen: set[str] = dataclasses.field(default_factory=set)
    attached: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def add_case(self, case: Mapping[str, Any], *, include_content: bool) -> None:
        case_id = str(case.get("case_id", ""))
        ids: list[str] = []
        records = []
        for rev in case.get("revisions") or []:
            envelope = env.from_wire(_wire_of(rev))
            author = envelope.author
            if author not in self.author_keys:
                raise ValueError(f"no public key for device {author}")
            self.keys[author] = b64u_encode(self.author_keys[author])
            ids.append(envelope.id)
            refs = [dict(b) for b in rev.get("blobs") or [] if isinstance(b, Mapping)]
            entry = {"envelope_id": envelope.id, "seq": envelope.seq, "record": rev.get("record")}
            if refs:
                entry["blobs"] = refs
            records.append(entry)
            for ref in refs:
                found = _attach(case_id, ref, self.attachments, self.files, self.attached)
                self.attached.extend(found)
            self._add_envelope(envelope)
        self.case_list.append({"case_id": case_id, "envelopes": ids})
        if include_content:
            self.files[f"content/{case_id}.json"] = canonical_json(
                {"case_id": case_id, "type": case.get("type", ""), "revisions": records}
            )

    def _add_envelope(self, envelope: env.Envelope) -> None:
        """The envelope's file and its timestamp tokens, once however many cases name it."""
        if envelope.id in self.seen:
            return
        self.seen.add(envelope.id)
        name = f"envelopes/{envelope.id}.json"
        self.files[name] = canonical_json(env.to_wire(envelope))
        self.entries.append(
            {"id": envelope.id, "author": envelope.author, "seq": envelope.seq, "file": name}
        )
        digest = env.envelope_hash(envelope)
        for number, token in enumerate(self.timestamps.get(digest, ()), start=1):
            stamp_name = f"timestamps/{envelope.id}-{number}.tsr"
            self.files[stamp_name] = bytes(token)
            self.stamps.append({"envelope": envelope.id, "hash": digest, "file": stamp_name})

    def manifest(self, signer: SigningKey, *, org: str, now: int) -> dict[str, Any]:
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "v": VERSION,
            "created": now,
            "org": org,
            "signer": {
                "id": key_id(signer.public_bytes()),
                "key": b64u_encode(signer.public_bytes()),
            },
            "cases": self.case_list,
            "envelopes": self.entries,
            "keys": self.keys,
            "files": {},
        }
        if self.stamps:
            manifest["timestamps"] = self.stamps
        if self.attached:
            manifest["attachments"] = self.attached
        return manifest


def _attach(
    case_id: str,
    ref: Mapping[str, Any],
    given: Mapping[str, AttachmentFile],
    files: dict[str, bytes],
    done: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The manifest entry for one signed blob reference of a case (and its files), once."""
    blob_id = str(ref.get("id", ""))
    if not blob_id or any(d["case"] == case_id and d["id"] == blob_id for d in done):
        return []
    entry: dict[str, Any] = {
        "case": case_id,
        "id": blob_id,
        "name": str(ref.get("name", "")),
        "media_type": str(ref.get("media_type", "")),
        "sha256": str(ref.get("sha256", "")),
        "size": int(ref.get("size") or 0),
    }
    found = given.get(blob_id)
    if found is None:
        entry["file"] = ""  # named by the report but not included (could not be fetched)
        return [entry]
    folder = f"attachments/{case_id}/{blob_id}"
    entry["file"] = f"{folder}-{_safe_name(entry['name'] or blob_id)}"
    files[entry["file"]] = found.plain
    if found.original is not None:
        entry["original"] = f"{folder}.age"
        files[entry["original"]] = found.original
    return [entry]


def _assemble(manifest: dict[str, Any], files: Mapping[str, bytes], signer: SigningKey) -> bytes:
    manifest = {**manifest, "files": {name: sha256_hex(data) for name, data in files.items()}}
    body = canonical_json(manifest)
    sig = b64u_encode(signer.sign(EVIDENCE_BUNDLE_SIGNATURE + body))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", body)
        zf.writestr("manifest.sig", sig)
        for name in sorted(files):
            zf.writestr(name, files[name])
    return out.getvalue()


class _Verifier:
    def __init__(self) -> None:
        self.problems: list[BundleProblem] = []
        self.notes: list[str] = []

    def fail(self, code: str, detail: str) -> None:
        self.problems.append(BundleProblem(code, detail))


def _read_zip(data: bytes, v: _Verifier) -> dict[str, bytes] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_BUNDLE_FILES or sum(i.file_size for i in infos) > MAX_BUNDLE_BYTES:
                v.fail("not_a_bundle", "the archive is larger than any bundle")
                return None
            contents: dict[str, bytes] = {}
            for info in infos:
                if info.filename in contents:
                    v.fail("unexpected_file", f"{info.filename} appears twice")
                contents[info.filename] = zf.read(info)
            return contents
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        v.fail("not_a_bundle", f"not a readable zip archive ({type(exc).__name__})")
        return None


def verify_bundle(data: bytes, *, tsa_trusted: Sequence[bytes] = ()) -> BundleVerdict:
    """Check a bundle completely; never raises for bad input, reports it instead.

    `tsa_trusted`: CA certificates (DER) of the timestamping authorities the verifier trusts;
    without them a token's signature is checked against its own certificate only.
    """
    v = _Verifier()
    empty = BundleVerdict(False, (), (), "", "", 0, 0, 0, ())
    contents = _read_zip(data, v)
    if contents is None:
        return dataclasses.replace(empty, problems=tuple(v.problems))
    read = _read_manifest(contents, v)
    if read is None:
        return dataclasses.replace(empty, problems=tuple(v.problems))
    signer_id = _check_manifest_signature(read, v)
    _check_file_list(read, contents, v)
    checked, verified = _check_envelopes(read, contents, v)
    stamped = _check_timestamps(read.stamp_entries, contents, verified, tsa_trusted, v)
    _check_attachments(read.attachment_entries, contents, v)
    return BundleVerdict(
        ok=not v.problems,
        problems=tuple(v.problems),
        notes=tuple(v.notes),
        signer=signer_id,
        org=str(read.manifest.get("org", "")),
        created=int(read.manifest.get("created") or 0),
        cases=len(read.cases),
        envelopes=checked,
        authors=tuple(sorted(read.keys)),
        timestamps=stamped,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Manifest:
    """A bundle's manifest, read strictly (nothing checked yet)."""

    manifest: dict[str, Any]
    signer_key: bytes
    signature: bytes
    entries: list[Any]
    keys: dict[str, bytes]
    files: dict[str, str]
    cases: list[Any]
    stamp_entries: list[tuple[str, str, str]]
    attachment_entries: list[dict[str, Any]]


def _read_manifest(contents: Mapping[str, bytes], v: _Verifier) -> _Manifest | None:
    try:
        manifest = parse_json_strict(contents["manifest.json"])
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise EncodingError("not a manifest")
        return _Manifest(
            manifest=manifest,
            signer_key=b64u_decode(manifest["signer"]["key"], length=32),
            signature=b64u_decode(contents["manifest.sig"].decode("ascii").strip(), length=64),
            entries=list(manifest["envelopes"]),
            keys={str(k): b64u_decode(val, length=32) for k, val in manifest["keys"].items()},
            files={str(k): str(val) for k, val in manifest["files"].items()},
            cases=list(manifest["cases"]),
            stamp_entries=[
                (str(s["envelope"]), str(s["hash"]), str(s["file"]))
                for s in manifest.get("timestamps", [])
            ],
            attachment_entries=[dict(a) for a in manifest.get("attachments", [])],
        )
    except (KeyError, TypeError, AttributeError, EncodingError, UnicodeDecodeError) as exc:
        v.fail("not_a_bundle", f"manifest missing or malformed ({type(exc).__name__})")
        return None


def _check_manifest_signature(read: _Manifest, v: _Verifier) -> str:
    """The signer's key id, after checking it and the manifest's signature."""
    signer_id = key_id(read.signer_key)
    if read.manifest["signer"].get("id") != signer_id:
        v.fail("manifest_signature", "the signer id does not match the signer key")
    try:
        verify_signature(
            read.signer_key,
            read.signature,
            EVIDENCE_BUNDLE_SIGNATURE + canonical_json(read.manifest),
        )
    except BadSignature:
        v.fail("manifest_signature", "the manifest signature does not verify: it was changed")
    return signer_id


def _check_file_list(read: _Manifest, contents: Mapping[str, bytes], v: _Verifier) -> None:
    listed = set(read.files) | {e.get("file") for e in read.entries if isinstance(e, dict)}
    for name, digest in read.files.items():
        if name not in contents:
            v.fail("missing_file", f"{name} is listed but missing")
        elif sha256_hex(contents[name]) != digest:
            v.fail("file_altered", f"{name} was changed after export")
    for name in sorted(set(contents) - listed - set(_FIXED)):
        v.fail("unexpected_file", f"{name} was added after export")


def _check_envelopes(
    read: _Manifest, contents: Mapping[str, bytes], v: _Verifier
) -> tuple[int, dict[str, env.Envelope]]:
    """How many listed envelopes verify, and each by id; each one's place in its chain checked."""
    checked = 0
    verified: dict[str, env.Envelope] = {}
    last: dict[str, env.Envelope] = {}
    for position, entry in enumerate(read.entries):
        envelope = _verified_envelope(position, entry, read.keys, contents, v)
        if envelope is None:
            continue
        checked += 1
        verified[envelope.id] = envelope
        before = last.get(envelope.author)
        _check_link(before, envelope, v)
        if before is None or envelope.seq > before.seq:
            last[envelope.author] = envelope
    return checked, verified


def _verified_envelope(
    position: int,
    entry: Any,
    keys: Mapping[str, bytes],
    contents: Mapping[str, bytes],
    v: _Verifier,
) -> env.Envelope | None:
    name = str(entry.get("file", "")) if isinstance(entry, dict) else ""
    if name not in contents:
        v.fail("missing_file", f"envelope {position + 1} ({name or '?'}) is missing")
        return None
    try:
        envelope = env.from_wire(parse_json_strict(contents[name]))
    except (env.EnvelopeError, EncodingError) as exc:
        reason = getattr(exc, "reason", "malformed")
        v.fail("malformed_envelope", f"{name}: not a valid envelope ({reason})")
        return None
    if envelope.id != entry.get("id") or envelope.seq != entry.get("seq"):
        v.fail("envelope_mismatch", f"{name} is not the envelope the manifest lists there")
    key = keys.get(envelope.author)
    if key is None:
        v.fail("wrong_author", f"{name}: no public key for device {envelope.author}")
        return None
    try:
        env.verify(envelope, key)
    except env.EnvelopeError as exc:
        code = exc.reason if exc.reason in ("wrong_author", "payload_mismatch") else None
        detail = {
            "payload_mismatch": "its payload is not the one the device signed",
            "wrong_author": "it names a device key other than the one given",
        }.get(exc.reason, f"the device signature does not verify ({exc.reason})")
        v.fail(code or "bad_signature", f"{name}: {detail}")
        return None
    return envelope


def _check_link(before: env.Envelope | None, envelope: env.Envelope, v: _Verifier) -> None:
    """Whether `envelope` follows the device's envelope before it in this bundle."""
    link = follows(before, envelope)
    if link == "reordered" and before is not None:
        v.fail(
            "reordered",
            f"device {envelope.author}: seq {envelope.seq} comes after seq {before.seq}",
        )
    elif link == "broken":
        v.fail(
            "chain_broken",
            f"device {envelope.author}: seq {envelope.seq} does not link to "
            + (f"seq {before.seq}" if before is not None else "the start of its chain"),
        )
    elif link == "skipped" and before is not None:
        v.notes.append(
            f"device {envelope.author}: seq {before.seq + 1}..{envelope.seq - 1} are "
            "other records of this device, not part of this bundle"
        )


def _signed_refs(contents: Mapping[str, bytes], case_id: str) -> list[Mapping[str, Any]]:
    """The blob references the revisions of one case name, from its `content/` file."""
    try:
        content = parse_json_strict(contents.get(f"content/{case_id}.json", b"{}"))
        revisions = content.get("revisions", []) if isinstance(content, dict) else []
        return [
            b
            for r in revisions
            if isinstance(r, dict)
            for b in r.get("blobs", [])
            if isinstance(b, dict)
        ]
    except (EncodingError, AttributeError, TypeError):
        return []


def _check_attachments(
    entries: Sequence[Mapping[str, Any]], contents: Mapping[str, bytes], v: _Verifier
) -> None:
    """Each attachment is one its case's report names, with the hash its device signed."""
    for entry in entries:
        case_id, blob_id = str(entry.get("case", "")), str(entry.get("id", ""))
        digest, size = str(entry.get("sha256", "")), entry.get("size")
        named = any(
            r.get("id") == blob_id and r.get("sha256") == digest and r.get("size") == size
            for r in _signed_refs(contents, case_id)
        )
        if not named:
            v.fail(
                "attachment_mismatch",
                f"attachment {blob_id} is not named with this hash by case {case_id}",
            )
            continue
        if not entry.get("file"):
            v.notes.append(f"attachment {blob_id} of case {case_id} is not included")
            continue
        original = contents.get(str(entry.get("original", "")))
        if original is None:
            v.notes.append(
                f"attachment {blob_id} of case {case_id}: decrypted copy only, "
                "no encrypted original to compare with the signed hash"
            )
        elif sha256_hex(original) != digest or len(original) != size:
            v.fail(
                "attachment_altered",
                f"attachment {blob_id}: the encrypted original is not what its device signed",
            )


_STAMP_CODES = {"wrong_digest": "timestamp_mismatch", "untrusted": "timestamp_untrusted"}


def _check_timestamps(
    entries: Sequence[tuple[str, str, str]],
    contents: Mapping[str, bytes],
    envelopes: Mapping[str, env.Envelope],
    trusted: Sequence[bytes],
    v: _Verifier,
) -> tuple[StampNote, ...]:
    notes = []
    for envelope_id, listed_hash, name in entries:
        if name not in contents:
            v.fail("missing_file", f"{name} is listed but missing")
            continue
        envelope = envelopes.get(envelope_id)
        if envelope is not None and env.envelope_hash(envelope) != listed_hash:
            v.fail("timestamp_mismatch", f"{name}: the manifest lists another envelope hash")
            continue
        if envelope is None:
            v.fail(
                "timestamp_mismatch", f"{name} dates envelope {envelope_id}, not a valid one here"
            )
            continue
        try:
            stamp = verify_token(
                contents[name], bytes.fromhex(env.envelope_hash(envelope)), trusted=trusted
            )
        except BadTimestamp as exc:
            code = _STAMP_CODES.get(exc.reason, "timestamp_invalid")
            v.fail(code, f"{name}: the time-stamp token is refused ({exc.reason})")
            continue
        notes.append(
            StampNote(
                envelope_id=envelope_id,
                time=stamp.gen_time.isoformat().replace("+00:00", "Z"),
                tsa=stamp.tsa,
                tsa_fingerprint=stamp.tsa_fingerprint,
                trusted=stamp.trusted,
            )
        )
    return tuple(notes)
