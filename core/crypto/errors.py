"""Errors raised by `core.crypto`. Messages never carry key material or plaintext."""


class CryptoError(Exception):
    """Base of every cryptographic failure."""


class InvalidCiphertext(CryptoError):
    """The ciphertext is damaged, forged, or was made with another key. Deliberately vague."""

    def __init__(self) -> None:
        super().__init__("invalid ciphertext")


class BadSignature(CryptoError):
    """A signature did not verify against the given public key and message."""

    def __init__(self) -> None:
        super().__init__("bad signature")
