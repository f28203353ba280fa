"""The wire: age format, envelopes, invites, request signing, the HTTP client and sync engine."""
