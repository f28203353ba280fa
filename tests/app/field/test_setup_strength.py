"""First-run setup refuses passphrases and calculator codes under the 40-bit floor, saying why
in the user's language, and creates nothing; a strong one goes through."""

from __future__ import annotations

import pytest

from app.field.setup import SetupScreen
from app.field.widgets import button_of
from app.i18n import Translator
from tests.app.field.test_views import change, click, context

REFUSALS = {
    "2026112101": "error.passphrase_code_too_short",
    "199001011990": "error.passphrase_pattern",
    "Password1234": "error.passphrase_common",
    "Tk9!xq": "error.weak_passphrase",
}


def fill(screen: SetupScreen, passphrase: str, *, disguise: bool = False) -> None:
    screen.build()
    if disguise:
        change(screen.disguise_switch, True)
    change(screen.pass_field, passphrase)
    change(screen.confirm_field, passphrase)


@pytest.mark.parametrize(("passphrase", "key"), REFUSALS.items())
@pytest.mark.parametrize("lang", ["en", "ru", "ky", "kk"])
def test_a_weak_passphrase_is_refused_with_a_translated_reason_and_nothing_is_created(
    passphrase: str, key: str, lang: str
) -> None:
    ctx = context(lang=lang)
    screen = SetupScreen(ctx, step="passphrase")
    fill(screen, passphrase, disguise=passphrase.isdigit())
    click(button_of(screen.create_row))
    expected = Translator(lang, "field").t(key)
    assert expected != key  # the catalogue has it
    assert screen.banner.message == expected
    assert not ctx.service.has_vault()
    assert screen.step == "passphrase"


def test_a_twelve_digit_random_code_creates_the_disguised_vault() -> None:
    ctx = context()
    screen = SetupScreen(ctx, step="passphrase")
    fill(screen, "740218395061", disguise=True)
    click(button_of(screen.create_row))
    assert ctx.service.has_vault()
    assert screen.step == "org"


def test_a_code_under_twelve_digits_is_warned_about_while_typing() -> None:
    ctx = context()
    screen = SetupScreen(ctx, step="passphrase")
    fill(screen, "20261121", disguise=True)
    assert "setup.warn_short_pin" in [c.data for c in screen.warnings.controls]
    change(screen.pass_field, "740218395061")
    assert "setup.warn_short_pin" not in [c.data for c in screen.warnings.controls]


def test_the_strength_bar_never_says_good_for_a_passphrase_that_would_be_refused() -> None:
    ctx = context()
    screen = SetupScreen(ctx, step="passphrase")
    screen.build()
    for weak in REFUSALS:
        change(screen.pass_field, weak)
        assert screen.strength_text.value in ("Very weak", "Weak")
