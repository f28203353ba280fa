"""Errors raised by `sync.age`, one class per failure class of the age specification.

    AgeError
    ├── HeaderError          the header is malformed (bad version, stanza, base64, line length)
    ├── NoIdentityMatch      no identity given could unwrap the file key
    ├── HmacError            the header MAC does not verify (the header was altered)
    ├── PayloadError         the payload is truncated, altered or has trailing data
    ├── ArmorError           the ASCII armor is malformed
    └── UnsupportedRecipient a recipient or identity type this platform cannot use (e.g. PQ)

Caller mistakes (a string that is not a recipient, wrong argument types) raise `ValueError` or
`TypeError`. Messages name what went wrong, never key material, passphrases or plaintext.
"""


class AgeError(Exception):
    """Base of every age failure."""


class HeaderError(AgeError):
    """The age header is malformed or uses an unsupported version."""


class NoIdentityMatch(AgeError):
    """None of the identities could unwrap the file key (the file is not addressed to them)."""


class HmacError(AgeError):
    """The header MAC did not verify: the header was altered or the file key is wrong."""


class PayloadError(AgeError):
    """The encrypted payload is truncated, altered, or followed by trailing data."""


class ArmorError(AgeError):
    """The ASCII armor (PEM-style encoding) is malformed."""


class UnsupportedRecipient(AgeError):
    """A recipient or identity type this platform cannot use (post-quantum without ML-KEM)."""
