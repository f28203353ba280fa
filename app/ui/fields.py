"""Text fields for sensitive input: no autocorrect, no suggestions, no keyboard learning.

Use `sensitive_field(...)` for anything a person types about a case and `secret_field(...)` for
passphrases, so the phone's keyboard never learns victims' names or passphrases.
"""

from __future__ import annotations

from typing import Any

import flet as ft

TOUCH = 48  # minimum touch target (dp)


def sensitive_field(**kwargs: Any) -> ft.TextField:
    kwargs.setdefault("autocorrect", False)
    kwargs.setdefault("enable_suggestions", False)
    kwargs.setdefault("enable_ime_personalized_learning", False)
    kwargs.setdefault("text_size", 16)
    return ft.TextField(**kwargs)


def secret_field(**kwargs: Any) -> ft.TextField:
    kwargs.setdefault("password", True)
    kwargs.setdefault("can_reveal_password", True)
    return sensitive_field(**kwargs)
