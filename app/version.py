"""The FieldVault release version, shown in settings and `fieldvault --version`."""

__version__ = "0.1.0"
