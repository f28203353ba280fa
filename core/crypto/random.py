"""Randomness. Tests that need determinism pass bytes in instead of patching this."""

import os


def random_bytes(n: int) -> bytes:
    """Return `n` bytes from the operating system's CSPRNG."""
    if n < 0:
        raise ValueError("n must be non-negative")
    return os.urandom(n)
