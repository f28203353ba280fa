"""Everything FieldVault writes to a device's disk. Being built; see docs/formats/vault.md."""
