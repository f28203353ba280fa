"""One-time tokens are safe to type on a command line."""

from __future__ import annotations

import pytest

from server import tokens


def test_a_token_never_starts_with_a_dash_that_a_command_line_would_read_as_an_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws = iter([b"\xf8" + bytes(31), b"\x00" * 32])  # the first encodes as "-AAA…"
    monkeypatch.setattr(tokens, "random_bytes", lambda n: next(draws))
    token = tokens.new_token()
    assert token == "A" * 43 and not token.startswith("-")


def test_a_token_is_43_characters_of_32_random_bytes() -> None:
    made = {tokens.new_token() for _ in range(200)}
    assert len(made) == 200 and all(len(t) == 43 for t in made)
