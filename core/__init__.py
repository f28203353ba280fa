"""Domain types shared by every part of FieldVault, free of I/O.

- `core.crypto`: the only package that imports `cryptography.hazmat`. Recipes, not primitives.
- `core.records`: the plain record type stored in vaults and carried in envelopes.

Nothing here opens a file, a socket or a UI.
"""
