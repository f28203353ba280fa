"""The panic control: immediate or counted, on every screen (lock and join included), chosen
at setup; and errors in setup said where the owner is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flet as ft

from app.field.context import FieldContext, RecordingNavigator
from app.field.panic import PanicControl
from app.field.setup import SetupScreen
from app.field.unlock import UnlockScreen
from app.i18n import Translator
from app.services.field import VaultFieldService
from tests.app.field.test_views import PASS, change, click, context, find, run, texts, unlocked

CODE = "739105628417"


def long_press(control: Any) -> None:
    run(control.on_long_press(None))


def test_immediate_panic_wipes_at_once_with_no_countdown_and_nothing_to_cancel() -> None:
    ctx = unlocked()
    ctx.service.update_settings(panic_immediate=True)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    panic = PanicControl(ctx, sleep=sleep)
    long_press(panic.button)
    assert not ctx.service.has_vault()
    assert slept == [] and not panic.banner.visible and not panic.counting
    assert ctx.nav.names == ["panicked"]  # type: ignore[attr-defined]


def test_the_countdown_mode_stays_an_option_and_is_the_default_without_disguise() -> None:
    ctx = unlocked()
    assert not PanicControl(ctx).immediate
    ctx.service.update_settings(panic_immediate=True)
    assert PanicControl(ctx).immediate


def test_a_tap_on_the_panic_control_explains_in_a_neutral_hint_not_in_red() -> None:
    ctx = unlocked("ky")
    panic = PanicControl(ctx)
    click(panic.button)
    assert panic.banner.visible and "басып туруңуз" in panic.text.value
    assert panic.banner.bgcolor != ft.Colors.RED_800 and panic.text.color != ft.Colors.WHITE
    assert not panic.cancel_button.visible
    assert ctx.service.has_vault()


def test_a_wipe_that_fails_shows_no_owners_sign() -> None:
    ctx = unlocked()

    def broken() -> None:
        raise OSError("disk")

    ctx.service.wipe = broken  # type: ignore[method-assign]
    long_press(PanicControl(ctx, immediate=True).button)
    assert ctx.nav.names == ["wiped"]  # type: ignore[attr-defined]


def test_the_lock_screen_has_a_panic_control_that_wipes_at_once() -> None:
    ctx = context(lang="ru")
    ctx.service.create(PASS, language="ru")
    ctx.service.update_settings(panic_immediate=False)  # the owner's choice is sealed inside
    ctx.service.lock()
    screen = UnlockScreen(ctx)
    body = screen.build().body
    panic = find(body, "panic")
    assert panic.tooltip == "Удерживайте, чтобы всё стереть"
    long_press(panic)
    assert not ctx.service.has_vault()
    assert ctx.nav.names == ["panicked"]  # type: ignore[attr-defined]


def test_the_lock_screen_panic_wipes_a_real_vault_and_its_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "picked.jpg").write_bytes(b"plaintext copy")
    service = VaultFieldService(tmp_path / "data", kdf_log_n=15, extra_dirs=(cache,))
    service.create(PASS, language="kk")
    service.save_draft(None, "note", "", {"text": "жоба"})
    service.lock()
    ctx = FieldContext(service, Translator("kk"), RecordingNavigator())
    long_press(find(UnlockScreen(ctx).build().body, "panic"))
    assert not service.has_vault()
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*"))
    assert not any(cache.rglob("*")) if cache.exists() else True
    assert ctx.nav.names == ["panicked"]  # type: ignore[attr-defined]


def test_the_join_screen_carries_the_panic_control_once_a_vault_exists() -> None:
    fresh = context()
    fresh.service.set_language("en")
    body = SetupScreen(fresh, step="org").build().body
    assert not any(getattr(c, "data", None) == "panic" for c in _walk(body))  # nothing to wipe
    ctx = unlocked()
    body = SetupScreen(ctx, step="org").build().body
    long_press(find(body, "panic"))
    assert not ctx.service.has_vault()


def test_setup_makes_panic_immediate_with_the_disguise_unless_the_owner_chooses() -> None:
    ctx = context()
    screen = SetupScreen(ctx, step="passphrase")
    screen.build()
    assert screen.panic_switch.value is False
    change(screen.disguise_switch, True)
    assert screen.panic_switch.value is True  # the high-risk choice brings immediate panic
    change(screen.pass_field, CODE)
    change(screen.confirm_field, CODE)
    click(find(screen.build().body, "setup-create"))
    assert ctx.service.settings().panic_immediate is True

    owner = context()
    screen = SetupScreen(owner, step="passphrase")
    screen.build()
    change(screen.disguise_switch, True)
    change(screen.panic_switch, False)  # the owner keeps the countdown
    change(screen.disguise_switch, True)
    change(screen.pass_field, CODE)
    change(screen.confirm_field, CODE)
    click(find(screen.build().body, "setup-create"))
    assert owner.service.settings().panic_immediate is False


def test_a_passphrase_mismatch_is_said_beside_create_and_goes_to_the_confirmation() -> None:
    ctx = context(lang="kk")
    screen = SetupScreen(ctx, step="passphrase")
    screen.build()
    change(screen.pass_field, PASS)
    change(screen.confirm_field, PASS + "x")
    click(find(screen.build().body, "setup-create"))
    assert screen.create_banner.message and screen.create_banner.message == screen.banner.message
    assert screen.problem is screen.confirm_field
    body = screen.build().body
    after = body[next(i for i, c in enumerate(body) if c is screen.create_banner) + 1]
    assert find(after, "setup-create")
    assert not ctx.service.has_vault()


def test_a_weak_duress_passphrase_sends_the_owner_to_the_duress_field() -> None:
    ctx = context()
    screen = SetupScreen(ctx, step="passphrase")
    screen.build()
    change(screen.pass_field, PASS)
    change(screen.confirm_field, PASS)
    change(screen.duress_switch, True)
    change(screen.duress_field, "1234")
    click(find(screen.build().body, "setup-create"))
    assert screen.problem is screen.duress_field
    assert texts(screen.create_banner)


def _walk(controls: list[Any]) -> list[Any]:
    out: list[Any] = []
    stack = list(controls)
    while stack:
        c = stack.pop()
        out.append(c)
        for attr in ("controls", "content"):
            child = getattr(c, attr, None)
            if isinstance(child, list):
                stack.extend(child)
            elif isinstance(child, ft.Control):
                stack.append(child)
    return out


def test_settings_switch_the_panic_mode_and_the_app_bar_follows() -> None:
    from app.field.settings import SettingsScreen

    ctx = unlocked("kk")
    screen = SettingsScreen(ctx)
    switch = find(screen.build().body, "settings-panic-immediate")
    assert switch.value is False
    change(switch, True)
    assert ctx.service.settings().panic_immediate is True
    assert ctx.nav.names[-1] == "refresh"  # type: ignore[attr-defined]
    assert PanicControl(ctx).immediate


def test_the_shell_shows_the_owners_sign_only_after_an_owners_panic() -> None:
    from app.field.calculator import CalculatorScreen
    from app.field.shell import AppShell
    from app.services.fake_field import FakeFieldService
    from tests.app.field.test_background import FakePage

    class Page(FakePage):
        def run_task(self, fn: Any, *args: Any) -> None:
            if fn.__name__ == "_after_wipe":
                super().run_task(fn, *args)
            else:  # endless watchers: not run here
                fn(*args).close()

    for panicked, shown in ((True, "0."), (False, "0")):
        service = FakeFieldService()
        service.create(PASS, language="ru")
        page = Page()
        shell = AppShell(page, service)  # type: ignore[arg-type]
        shell.start()
        shell.go("incidents")
        service.wipe()
        if panicked:
            shell.panicked()
        else:
            shell.wiped()
        page.run_pending()
        assert shell.route == "calculator" and isinstance(shell.screen, CalculatorScreen)
        assert shell.screen.display.value == shown


def test_a_refused_invite_code_gets_the_cursor_back() -> None:
    ctx = unlocked()
    screen = SetupScreen(ctx, step="org")
    screen.build()
    assert not screen.invite_field.autofocus
    change(screen.invite_field, "not a code")
    click(find(screen.build().body, "setup-check"))
    assert screen.banner.message
    screen.build()
    assert screen.invite_field.autofocus
