"""The FieldVault release version, shown in settings and `fieldvault --version`.

It lives in core so that every part (apps, server, command line) can name it without importing
another part.
"""

__version__ = "0.2.0"
