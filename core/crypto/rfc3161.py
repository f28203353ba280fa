"""RFC 3161 time-stamp tokens: the request a TSA gets, and offline checking of what it returns.

Use:
- `request(digest, nonce=...)`: the DER `TimeStampReq` for a SHA-256 digest, asking for the
  TSA's certificate in the token so the token can be checked later with nothing else.
- `token_from_response(response, digest, nonce=..., trusted=...)`: the `TimeStampToken` inside a
  TSA's `TimeStampResp`, returned only once it is granted, for this digest and nonce, and
  verifies (as `verify_token`).
- `verify_token(token, digest, trusted=...)`: check a stored token offline; the `Timestamp` says
  when, by whom (subject and SHA-256 fingerprint of the TSA certificate), and whether that
  certificate chains to one of the `trusted` certificates (DER, see `load_certificates`).

`verify_token` checks: the token is a CMS SignedData over a TSTInfo; the TSTInfo's message
imprint is SHA-256 of exactly `digest`; the signed attributes carry the content type, the
SHA-256/384/512 digest of the TSTInfo and (ESS signing-certificate, v1 or v2) the hash of the
signer's certificate; the signature over the signed attributes verifies with that certificate's
key (RSA PKCS#1 v1.5, ECDSA or Ed25519); the certificate is a time-stamping certificate (critical
extended key usage, timeStamping only) valid at the stamped time; with `trusted`, that a chain
of valid CA certificates (from the token and `trusted`) links it to a trusted one.

Errors: every failure is `BadTimestamp` with a `reason`: `malformed`, `not_granted`,
`wrong_digest`, `wrong_nonce`, `unsupported_algorithm`, `no_signer_certificate`,
`signer_mismatch`, `bad_signature`, `not_a_tsa_certificate`, `certificate_not_valid`,
`untrusted`. A changed byte anywhere in a token gives one of them.

Danger: a token says a digest existed at `gen_time` *according to that TSA*. Without `trusted`
it only shows that the holder of the key in the embedded certificate signed it: compare
`tsa_fingerprint` with the certificate the authority publishes, or pass its CA.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import warnings
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning

from core.crypto import der
from core.crypto.errors import CryptoError

# object identifiers
SIGNED_DATA = "1.2.840.113549.1.7.2"
TST_INFO = "1.2.840.113549.1.9.16.1.4"
ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
ATTR_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12"
ATTR_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
SHA1 = "1.3.14.3.2.26"
SHA256 = "2.16.840.1.101.3.4.2.1"
SHA384 = "2.16.840.1.101.3.4.2.2"
SHA512 = "2.16.840.1.101.3.4.2.3"
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
EC_PUBLIC_KEY = "1.2.840.10045.2.1"
ED25519 = "1.3.101.112"
_DIGESTS = {SHA256: "sha256", SHA384: "sha384", SHA512: "sha512"}
_RSA_SIGNATURES = {
    "1.2.840.113549.1.1.11": SHA256,
    "1.2.840.113549.1.1.12": SHA384,
    "1.2.840.113549.1.1.13": SHA512,
}
_ECDSA_SIGNATURES = {
    "1.2.840.10045.4.3.2": SHA256,
    "1.2.840.10045.4.3.3": SHA384,
    "1.2.840.10045.4.3.4": SHA512,
}
_HASH_CLASSES: dict[str, type[hashes.HashAlgorithm]] = {
    SHA256: hashes.SHA256,
    SHA384: hashes.SHA384,
    SHA512: hashes.SHA512,
}
DIGEST_SIZE = 32
MAX_CHAIN = 8
MAX_TOKEN = 64 * 1024
GRANTED = (0, 1)  # granted, grantedWithMods
_EXTENSION_ERRORS = (x509.ExtensionNotFound, x509.DuplicateExtension, ValueError)
_MALFORMED = (
    der.DerError,
    IndexError,
    ValueError,
    TypeError,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    UnsupportedAlgorithm,
)


class BadTimestamp(CryptoError):
    """A time-stamp token or response is not acceptable; `reason` says which check failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"bad timestamp ({reason})")
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class Timestamp:
    gen_time: _dt.datetime
    serial: int
    policy: str
    digest: bytes
    nonce: int | None
    tsa: str  # subject of the TSA certificate (RFC 4514)
    tsa_fingerprint: str  # SHA-256 of the TSA certificate, hex
    trusted: bool  # chains to one of the `trusted` certificates given


@dataclasses.dataclass(frozen=True, slots=True)
class _Certificate:
    raw: bytes
    cert: x509.Certificate


@dataclasses.dataclass(frozen=True, slots=True)
class _TstInfo:
    policy: str
    imprint_alg: str
    imprint: bytes
    serial: int
    gen_time: _dt.datetime
    nonce: int | None


@dataclasses.dataclass(frozen=True, slots=True)
class _SignerInfo:
    sid: der.Element
    digest_alg: str
    attrs: dict[str, list[der.Element]]
    signed: bytes  # the signed attributes as the SET the signature covers
    sig_alg: str
    signature: bytes


def request(digest: bytes, *, nonce: int) -> bytes:
    """A DER TimeStampReq (v1) for a SHA-256 `digest`, with `nonce` and certReq set."""
    if len(digest) != DIGEST_SIZE:
        raise ValueError("a SHA-256 digest is 32 bytes")
    if nonce <= 0:
        raise ValueError("the nonce must be a positive integer")
    imprint = der.sequence(der.sequence(der.oid(SHA256), der.null()), der.octets(digest))
    return der.sequence(der.integer(1), imprint, der.integer(nonce), der.boolean(True))


def load_certificates(data: bytes) -> list[bytes]:
    """DER certificates from PEM text (one or several) or one DER certificate."""
    try:
        if b"-----BEGIN" in data:
            found = x509.load_pem_x509_certificates(data)
        else:
            found = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise ValueError("not a certificate (PEM or DER)") from None
    from cryptography.hazmat.primitives.serialization import Encoding

    return [c.public_bytes(Encoding.DER) for c in found]


def token_from_response(
    response: bytes, digest: bytes, *, nonce: int, trusted: Sequence[bytes] = ()
) -> tuple[bytes, Timestamp]:
    """The token in a TimeStampResp, checked as `verify_token` does, and for `nonce`."""
    try:
        parts = der.expect(der.parse(response), der.SEQUENCE).children()
        status = der.as_int(der.expect(parts[0], der.SEQUENCE).children()[0])
    except (der.DerError, IndexError):
        raise BadTimestamp("malformed") from None
    if status not in GRANTED:
        raise BadTimestamp("not_granted")
    if len(parts) != 2:
        raise BadTimestamp("malformed")
    token = parts[1].raw
    stamp = verify_token(token, digest, trusted=trusted)
    if stamp.nonce != nonce:
        raise BadTimestamp("wrong_nonce")
    return token, stamp


def verify_token(token: bytes, digest: bytes, *, trusted: Sequence[bytes] = ()) -> Timestamp:
    """Check a TimeStampToken for `digest` (see the module docstring); `BadTimestamp` if not."""
    try:
        anchors = [_load(raw) for raw in trusted]
    except der.DerError:
        raise ValueError("a trusted certificate is not a DER certificate") from None
    if len(token) > MAX_TOKEN:
        raise BadTimestamp("malformed")
    try:
        return _verify(token, digest, anchors)
    except _MALFORMED:  # `cryptography` parses certificates lazily: errors surface late
        raise BadTimestamp("malformed") from None


def _verify(token: bytes, digest: bytes, anchors: list[_Certificate]) -> Timestamp:
    tst_raw, info, certs, signer_info = _parse_token(token)
    if info.imprint_alg != SHA256 or info.imprint != digest:
        raise BadTimestamp("wrong_digest")
    signer = _find_signer(signer_info.sid, [*certs, *anchors])
    _check_signed_attributes(signer_info, tst_raw, signer)
    _check_signature(signer_info, signer.cert)
    gen_time = info.gen_time
    _check_tsa_certificate(signer.cert, gen_time)
    is_trusted = False
    if anchors:
        if not _chains_to(
            signer.cert, [c.cert for c in certs], [a.cert for a in anchors], gen_time
        ):
            raise BadTimestamp("untrusted")
        is_trusted = True
    return Timestamp(
        gen_time=gen_time,
        serial=info.serial,
        policy=info.policy,
        digest=info.imprint,
        nonce=info.nonce,
        tsa=signer.cert.subject.rfc4514_string(),
        tsa_fingerprint=hashlib.sha256(signer.raw).hexdigest(),
        trusted=is_trusted,
    )


# ---- parsing ----------------------------------------------------------------------------


def _algorithm(element: der.Element) -> str:
    parts = der.expect(element, der.SEQUENCE).children()
    if len(parts) > 2 or (len(parts) == 2 and parts[1].tag != der.NULL):
        # hash and signature algorithms we accept take no parameters (or NULL)
        raise BadTimestamp("unsupported_algorithm")
    return der.as_oid(parts[0])


def _load(raw: bytes) -> _Certificate:
    # A certificate that newer cryptography releases refuse (a non-positive serial number, for
    # one) only warns in older ones: refuse it here too, the same way on every release.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            return _Certificate(raw, x509.load_der_x509_certificate(raw))
    except (ValueError, x509.InvalidVersion, CryptographyDeprecationWarning):
        raise der.DerError("not a certificate") from None


def _parse_token(token: bytes) -> tuple[bytes, _TstInfo, list[_Certificate], _SignerInfo]:
    content_info = der.expect(der.parse(token), der.SEQUENCE).children()
    if len(content_info) != 2 or der.as_oid(content_info[0]) != SIGNED_DATA:
        raise der.DerError("not a SignedData")
    (signed_data,) = der.expect(content_info[1], 0xA0).children()
    fields = der.expect(signed_data, der.SEQUENCE).children()
    der.as_int(fields[0])
    der.expect(fields[1], der.SET)
    encap = der.expect(fields[2], der.SEQUENCE).children()
    if len(encap) != 2 or der.as_oid(encap[0]) != TST_INFO:
        raise der.DerError("not a TSTInfo")
    (content,) = der.expect(encap[1], 0xA0).children()
    tst_raw = der.as_octets(content)
    rest = fields[3:]
    certs: list[_Certificate] = []
    if rest and rest[0].tag == 0xA0:
        certs = [_load(c.raw) for c in rest[0].children() if c.tag == der.SEQUENCE]
        rest = rest[1:]
    if rest and rest[0].tag == 0xA1:  # CRLs: not used offline
        rest = rest[1:]
    if len(rest) != 1:
        raise der.DerError("unexpected SignedData fields")
    signers = der.expect(rest[0], der.SET).children()
    if len(signers) != 1:
        raise der.DerError("a time-stamp token has exactly one signer")
    return tst_raw, _parse_tst_info(tst_raw), certs, _parse_signer_info(signers[0])


def _parse_tst_info(raw: bytes) -> _TstInfo:
    fields = der.expect(der.parse(raw), der.SEQUENCE).children()
    if der.as_int(fields[0]) != 1:
        raise der.DerError("unsupported TSTInfo version")
    imprint = der.expect(fields[2], der.SEQUENCE).children()
    if len(imprint) != 2:
        raise der.DerError("malformed message imprint")
    nonce = None
    rest = fields[5:]
    if rest and rest[0].tag == der.SEQUENCE:  # accuracy
        rest = rest[1:]
    if rest and rest[0].tag == der.BOOLEAN:  # ordering
        der.as_bool(rest[0])
        rest = rest[1:]
    if rest and rest[0].tag == der.INTEGER:
        nonce = der.as_int(rest[0])
        rest = rest[1:]
    if rest and rest[0].tag == 0xA0:  # tsa name
        rest = rest[1:]
    if rest and rest[0].tag == 0xA1:  # extensions
        rest = rest[1:]
    if rest:
        raise der.DerError("unexpected TSTInfo fields")
    return _TstInfo(
        policy=der.as_oid(fields[1]),
        imprint_alg=_algorithm(imprint[0]),
        imprint=der.as_octets(imprint[1]),
        serial=der.as_int(fields[3]),
        gen_time=der.as_time(fields[4]),
        nonce=nonce,
    )


def _parse_signer_info(element: der.Element) -> _SignerInfo:
    fields = der.expect(element, der.SEQUENCE).children()
    der.as_int(fields[0])
    sid = fields[1]
    digest_alg = _algorithm(fields[2])
    if fields[3].tag != 0xA0:
        raise der.DerError("a time-stamp token needs signed attributes")
    attrs: dict[str, list[der.Element]] = {}
    for attribute in fields[3].children():
        attr_type, values = der.expect(attribute, der.SEQUENCE).children()
        name = der.as_oid(attr_type)
        if name in attrs:
            raise der.DerError("a signed attribute appears twice")
        attrs[name] = der.expect(values, der.SET).children()
    rest = fields[4:]
    if len(rest) not in (2, 3) or (len(rest) == 3 and rest[2].tag != 0xA1):
        raise der.DerError("unexpected SignerInfo fields")
    return _SignerInfo(
        sid=sid,
        digest_alg=digest_alg,
        attrs=attrs,
        signed=bytes([der.SET]) + fields[3].raw[1:],
        sig_alg=_algorithm(rest[0]),
        signature=der.as_octets(rest[1]),
    )


# ---- checks -----------------------------------------------------------------------------


def _find_signer(sid: der.Element, pool: Sequence[_Certificate]) -> _Certificate:
    if sid.tag == der.SEQUENCE:  # IssuerAndSerialNumber
        issuer, serial = sid.children()
        serial_number = der.as_int(serial)
        for c in pool:
            if c.cert.serial_number == serial_number and _name_der(c.cert.issuer) == issuer.raw:
                return c
    elif sid.tag == 0x80:  # [0] SubjectKeyIdentifier
        for c in pool:
            try:
                ski = c.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except _EXTENSION_ERRORS:
                continue
            if ski.value.digest == sid.value:
                return c
    raise BadTimestamp("no_signer_certificate")


def _name_der(name: x509.Name) -> bytes:
    return name.public_bytes()


def _digest(algorithm: str, data: bytes) -> bytes:
    if algorithm == SHA1:
        return hashlib.sha1(data, usedforsecurity=False).digest()
    if algorithm not in _DIGESTS:
        raise BadTimestamp("unsupported_algorithm")
    return hashlib.new(_DIGESTS[algorithm], data).digest()


def _single(attrs: dict[str, list[der.Element]], name: str) -> der.Element:
    values = attrs.get(name)
    if not values or len(values) != 1:
        raise BadTimestamp("malformed")
    return values[0]


def _check_signed_attributes(
    signer_info: _SignerInfo, tst_raw: bytes, signer: _Certificate
) -> None:
    attrs = signer_info.attrs
    try:
        if der.as_oid(_single(attrs, ATTR_CONTENT_TYPE)) != TST_INFO:
            raise BadTimestamp("malformed")
        message_digest = der.as_octets(_single(attrs, ATTR_MESSAGE_DIGEST))
        if signer_info.digest_alg not in _DIGESTS:
            raise BadTimestamp("unsupported_algorithm")
        if message_digest != _digest(signer_info.digest_alg, tst_raw):
            raise BadTimestamp("bad_signature")
        if ATTR_SIGNING_CERTIFICATE_V2 in attrs:
            cert_ids = der.expect(_single(attrs, ATTR_SIGNING_CERTIFICATE_V2), der.SEQUENCE)
            first = der.expect(cert_ids.children()[0], der.SEQUENCE).children()[0]
            ess = der.expect(first, der.SEQUENCE).children()
            algorithm = SHA256
            if ess[0].tag == der.SEQUENCE:
                algorithm = _algorithm(ess[0])
                ess = ess[1:]
            cert_hash = der.as_octets(ess[0])
        elif ATTR_SIGNING_CERTIFICATE in attrs:
            cert_ids = der.expect(_single(attrs, ATTR_SIGNING_CERTIFICATE), der.SEQUENCE)
            first = der.expect(cert_ids.children()[0], der.SEQUENCE).children()[0]
            algorithm = SHA1
            cert_hash = der.as_octets(der.expect(first, der.SEQUENCE).children()[0])
        else:
            raise BadTimestamp("malformed")
    except (der.DerError, IndexError, ValueError):
        raise BadTimestamp("malformed") from None
    if cert_hash != _digest(algorithm, signer.raw):
        raise BadTimestamp("signer_mismatch")


def _check_signature(signer_info: _SignerInfo, cert: x509.Certificate) -> None:
    sig_alg, digest_alg = signer_info.sig_alg, signer_info.digest_alg
    message, signature = signer_info.signed, signer_info.signature
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise BadTimestamp("unsupported_algorithm") from None
    try:
        if isinstance(key, rsa.RSAPublicKey):
            hash_oid = _RSA_SIGNATURES.get(sig_alg) or (
                digest_alg if sig_alg == RSA_ENCRYPTION else ""
            )
            key.verify(signature, message, padding.PKCS1v15(), _hash(hash_oid))
        elif isinstance(key, ec.EllipticCurvePublicKey):
            hash_oid = _ECDSA_SIGNATURES.get(sig_alg) or (
                digest_alg if sig_alg == EC_PUBLIC_KEY else ""
            )
            key.verify(signature, message, ec.ECDSA(_hash(hash_oid)))
        elif isinstance(key, ed25519.Ed25519PublicKey) and sig_alg == ED25519:
            key.verify(signature, message)
        else:
            raise BadTimestamp("unsupported_algorithm")
    except InvalidSignature:
        raise BadTimestamp("bad_signature") from None


def _hash(oid: str) -> hashes.HashAlgorithm:
    if oid not in _HASH_CLASSES:
        raise BadTimestamp("unsupported_algorithm")
    return _HASH_CLASSES[oid]()


def _valid_at(cert: x509.Certificate, moment: _dt.datetime) -> bool:
    return cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc


def _check_tsa_certificate(cert: x509.Certificate, gen_time: _dt.datetime) -> None:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except _EXTENSION_ERRORS:
        raise BadTimestamp("not_a_tsa_certificate") from None
    if not eku.critical or list(eku.value) != [x509.ExtendedKeyUsageOID.TIME_STAMPING]:
        raise BadTimestamp("not_a_tsa_certificate")
    if not _valid_at(cert, gen_time):
        raise BadTimestamp("certificate_not_valid")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except _EXTENSION_ERRORS:
        return False


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _chains_to(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    moment: _dt.datetime,
) -> bool:
    current = leaf
    for _ in range(MAX_CHAIN):
        if current in anchors:
            return True
        for anchor in anchors:
            if _is_ca(anchor) and _valid_at(anchor, moment) and _issued_by(current, anchor):
                return True
        parent = next(
            (
                c
                for c in intermediates
                if c != current and _is_ca(c) and _valid_at(c, moment) and _issued_by(current, c)
            ),
            None,
        )
        if parent is None:
            return False
        current = parent
    return False
