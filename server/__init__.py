"""The organisation server: a blind relay and store of ciphertext (FastAPI)."""
