"""The app shell: routes between screens, owns the page, locks, wipes and runs sync.

It implements `Navigator` for the screens. What it guarantees:
- **Auto-lock** after the idle time from settings and whenever the app is hidden or paused
  (`AppLifecycleState.HIDE`/`PAUSE`). Locking lets the open screen save a draft, stops the sync
  loop (awaiting the round in flight), locks the vault, then drops every screen and control that
  held decrypted data.
- **A blank screen in the background**: the moment the app stops being in front (`INACTIVE`,
  which comes before `HIDE`/`PAUSE`, when the recents thumbnail is taken), every view is
  replaced by an empty one, and nothing is drawn until it is in front again (`RESUME`), by then
  on the lock screen if it was hidden or paused meanwhile. This keeps the screen out of the
  recents list as far as Flet allows; FLAG_SECURE (no screenshots at all) is not available in
  Flet 1.0.5: see docs/android.md.
- **Panic** from every screen: the red control in the app bar, on the lock and join screens,
  and holding "C" on the calculator; afterwards the calculator, as on a phone never set up,
  showing the owner's sign after an owner's panic (`panicked`, see `app.field.panic`).
- **Sync** runs only while unlocked, through `sync.loop.SyncLoop` on the page's event loop,
  with each round in a worker thread.
Blocking work (key derivation, encryption, HTTP) always runs in `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

import flet as ft

from app.field.alarm import AlarmControl, CheckinScreen
from app.field.bootstrap import alarm_service
from app.field.calculator import CalculatorScreen
from app.field.capture import FletCapture
from app.field.context import FieldContext, PickedFile, Screen
from app.field.directory import DirectoryScreen
from app.field.incident_form import IncidentFormScreen
from app.field.incidents import IncidentListScreen
from app.field.messages import MessagesScreen
from app.field.notes import NotesScreen
from app.field.panic import PanicControl
from app.field.settings import SettingsScreen
from app.field.setup import SetupScreen
from app.field.unlock import UnlockScreen
from app.field.widgets import scroll_key
from app.field.withdraw import WithdrawScreen
from app.i18n import Translator
from app.services.field_api import FieldService

T = TypeVar("T")
TABS = ("incidents", "notes", "messages", "settings")
TAB_ICONS = (
    ft.Icons.LIST_ALT,
    ft.Icons.STICKY_NOTE_2_OUTLINED,
    ft.Icons.CHAT_OUTLINED,
    ft.Icons.SETTINGS_OUTLINED,
)
IDLE_CHECK_SECONDS = 2.0
LOCKED_ROUTES = ("setup", "unlock", "calculator")
COVER_STATES = (
    ft.AppLifecycleState.INACTIVE,
    ft.AppLifecycleState.HIDE,
    ft.AppLifecycleState.PAUSE,
)
LOCALES = {"en": ("en", "US"), "ru": ("ru", "RU"), "ky": ("ky", "KG"), "kk": ("kk", "KZ")}


class AppShell:
    def __init__(self, page: ft.Page, service: FieldService) -> None:
        self.page = page
        self.service = service
        prefs = service.launch_prefs()
        self.ctx = FieldContext(service, Translator(prefs.language or "ru"), self)
        self.screen: Any = None
        self.route = ""
        self.params: dict[str, str] = {}
        self.panic: PanicControl | None = None
        self.last_touch = time.monotonic()
        self.sync_loop: Any = None
        self.sync_running = False
        self.idle_task: Any = None
        self.covered = False  # the app is not in front: nothing readable is drawn
        self.picker = ft.FilePicker()  # a service: must stay referenced (FLET.md 0.4)
        self.haptics = ft.HapticFeedback()  # the owner's sign after a panic wipe
        self.ctx.capture = FletCapture(page)  # camera and recorder (app.field.capture)
        self.alarm = AlarmControl(self.ctx, alarm_service(service), page)  # the silent alarm
        self.ctx.alarm = self.alarm

    # ------------------------------------------------------------ start
    def start(self) -> None:
        page = self.page
        page.title = self.ctx.t("calc.title")
        page.theme_mode = ft.ThemeMode.LIGHT
        page.locale_configuration = ft.LocaleConfiguration(
            supported_locales=[ft.Locale(*v) for v in LOCALES.values()],
            current_locale=ft.Locale(*LOCALES[self.ctx.tr.lang]),
        )
        page.on_app_lifecycle_state_change = self._lifecycle
        page.on_keyboard_event = lambda _e: self.touch()
        page.on_view_pop = lambda _e: self._back()
        self.go(self._locked_route())
        self.idle_task = page.run_task(self._idle_watch)
        self.alarm_task = page.run_task(self.alarm.watch)

    def _locked_route(self) -> str:
        disguise = self.service.launch_prefs().disguise
        if disguise:
            return "calculator"
        return "unlock" if self.service.has_vault() else "setup"

    # ------------------------------------------------------------ Navigator
    def go(self, route: str, **params: str) -> None:
        if self.screen is not None and hasattr(self.screen, "leave"):
            self.screen.leave()
        if not self.service.unlocked and route not in (*LOCKED_ROUTES, "join"):
            route, params = self._locked_route(), {}
        self.route, self.params = route, dict(params)
        self.screen = self._make(route, params)
        self.render()

    def _make(self, route: str, params: dict[str, str]) -> Any:
        ctx = self.ctx
        if route == "setup":
            return SetupScreen(ctx, step=params.get("step", "language"))
        if route == "join":
            return SetupScreen(ctx, step="org")
        if route == "unlock":
            return UnlockScreen(ctx)
        if route == "calculator":
            return CalculatorScreen(ctx, sign=params.get("sign") == "1")
        if route == "incident":
            return IncidentFormScreen(ctx, params.get("id"), params.get("draft"))
        if route == "notes":
            return NotesScreen(ctx)
        if route == "messages":
            return MessagesScreen(ctx, params.get("id"))
        if route == "settings":
            return SettingsScreen(ctx)
        if route == "directory":
            return DirectoryScreen(ctx)
        if route == "withdraw":
            return WithdrawScreen(ctx, params.get("id", ""))
        if route == "checkin":
            return CheckinScreen(ctx, self.alarm)
        return IncidentListScreen(ctx)

    def refresh(self) -> None:
        self.touch()
        self.render()

    def render(self) -> None:
        if self.screen is None or self.covered:
            return
        self.touch()
        screen: Screen = self.screen.build()
        self.page.title = self.ctx.t("calc.title")
        view = ft.View(
            route="/",
            padding=12,
            spacing=12,
            scroll=ft.ScrollMode.AUTO,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        if screen.chrome:
            if self.panic is None or not self.panic.counting:
                self.panic = PanicControl(self.ctx)
            leading = None
            if screen.back:
                leading = ft.IconButton(
                    ft.Icon(ft.Icons.ARROW_BACK, semantics_label=self.ctx.t("common.back")),
                    on_click=lambda _e: self._back(),
                    tooltip=self.ctx.t("common.back"),
                    data="back",
                )
            view.appbar = ft.AppBar(
                title=self.alarm.hold_area(ft.Text(screen.title)),
                leading=leading,
                automatically_imply_leading=False,
                actions=[*screen.actions, self.panic.button, ft.Container(width=8)],
            )
            view.controls = [self.panic.banner, *screen.body]
            if self.route in TABS:
                view.navigation_bar = self._tabs()
        else:
            view.controls = [
                self.alarm.hold_area(ft.Text(screen.title, size=22, weight=ft.FontWeight.BOLD))
                if screen.title and self.route != "calculator"
                else ft.Container(height=8),
                *screen.body,
            ]
        self.page.views.clear()
        self.page.views.append(view)
        self.page.update()

    def _tabs(self) -> ft.NavigationBar:
        labels = ("nav.incidents", "nav.notes", "nav.messages", "nav.settings")
        return ft.NavigationBar(
            destinations=[
                ft.NavigationBarDestination(icon=icon, label=self.ctx.t(label))
                for icon, label in zip(TAB_ICONS, labels, strict=True)
            ],
            selected_index=TABS.index(self.route),
            on_change=lambda e: self.go(TABS[int(e.control.selected_index)]),
        )

    def _back(self) -> None:
        spec = self.screen.build() if self.screen is not None else None
        if spec is not None and spec.back:
            self.go(spec.back, **spec.back_params)
        elif self.service.unlocked:
            self.go("incidents")

    def touch(self) -> None:
        self.last_touch = time.monotonic()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        self.touch()
        try:
            return await asyncio.to_thread(fn, *args)
        finally:
            self.touch()

    async def pick_files(self) -> list[PickedFile]:
        """On the web the bytes come with the file; on a phone the picker copies the file into
        the app's cache (a plaintext copy the panel has deleted once it is imported or
        refused); on a desktop the path is the owner's own file, never deleted."""
        web = bool(self.page.web)
        files = await self.picker.pick_files(allow_multiple=True, with_data=web)
        self.touch()
        copy = not web and self.page.platform is not None and self.page.platform.is_mobile()
        return [PickedFile(f.name, f.bytes, f.path, copy=copy) for f in files or []]

    def language_changed(self) -> None:
        lang = self.service.launch_prefs().language or "ru"
        self.ctx.tr = Translator(lang)
        if self.page.locale_configuration is not None:
            self.page.locale_configuration.current_locale = ft.Locale(*LOCALES[lang])
        self.panic = None
        self.render()

    def unlocked(self) -> None:
        self.language_changed_silently()
        self.alarm.after_unlock()  # an alarm given while locked is sealed now
        self._start_sync()
        self.go("incidents")

    def language_changed_silently(self) -> None:
        lang = self.service.launch_prefs().language or self.ctx.tr.lang
        self.ctx.tr = Translator(lang)
        self.panic = None

    def locked(self) -> None:
        self.page.run_task(self._lock)

    def wiped(self) -> None:
        self.page.run_task(self._after_wipe)

    def panicked(self) -> None:
        self.page.run_task(self._after_wipe, True)

    async def scroll_to(self, key: str) -> None:
        if self.page.views:
            await self.page.views[-1].scroll_to(scroll_key=scroll_key(key), duration=300)

    def sync_now(self) -> None:
        if self.sync_loop is not None:
            self.sync_loop.trigger("manual")
            if isinstance(self.screen, IncidentListScreen):
                self.screen.sync_line.running = True
                self.screen.refresh_sync()
                with contextlib.suppress(RuntimeError):
                    self.page.update()

    # ------------------------------------------------------------ lock and wipe
    def _forget_screen(self) -> None:
        if self.screen is not None and hasattr(self.screen, "on_lock"):
            with contextlib.suppress(Exception):
                self.screen.on_lock()
        self.screen = None
        self.panic = None
        self.page.views.clear()

    async def _stop_sync(self) -> None:
        loop, self.sync_loop = self.sync_loop, None
        if loop is not None:
            with contextlib.suppress(Exception):
                await loop.stop()

    async def _lock(self) -> None:
        if not self.service.unlocked:
            return
        self._forget_screen()
        await self._stop_sync()
        await asyncio.to_thread(self.service.lock)
        self.go(self._locked_route())

    async def _after_wipe(self, sign: bool = False) -> None:
        self._forget_screen()
        await self._stop_sync()
        self.language_changed_silently()
        route = self._locked_route()
        self.go(route, **({"sign": "1"} if sign and route == "calculator" else {}))
        if sign:
            await self._vibrate()

    async def _vibrate(self) -> None:
        """The owner's sign, felt: a vibration where the phone has one (never in a browser)."""
        platform = self.page.platform
        if self.page.web or platform is None or not platform.is_mobile():
            return
        with contextlib.suppress(Exception):
            await self.haptics.heavy_impact()

    def _lifecycle(self, e: ft.AppLifecycleStateChangeEvent) -> None:
        if e.state in COVER_STATES:
            self.cover()
        if e.state in (ft.AppLifecycleState.HIDE, ft.AppLifecycleState.PAUSE):
            self.locked()
        elif e.state in (ft.AppLifecycleState.RESUME, ft.AppLifecycleState.SHOW):
            self.uncover()

    def cover(self) -> None:
        """Replace whatever is on screen by an empty view, at once (no await before it)."""
        self.covered = True
        self.page.views.clear()
        self.page.views.append(ft.View(route="/", controls=[], bgcolor=ft.Colors.SURFACE))
        with contextlib.suppress(RuntimeError):
            self.page.update()

    def uncover(self) -> None:
        if not self.covered:
            return
        self.covered = False
        self.render()

    async def _idle_watch(self) -> None:
        while True:
            await asyncio.sleep(IDLE_CHECK_SECONDS)
            if not self.service.unlocked:
                continue
            try:
                limit = self.service.settings().auto_lock_seconds
            except Exception:  # locked or wiped in the meantime
                limit = 0
            if time.monotonic() - self.last_touch > limit:
                await self._lock()

    # ------------------------------------------------------------ sync
    def _start_sync(self) -> None:
        from sync.loop import SyncLoop

        if self.sync_loop is not None:
            return
        self.sync_loop = SyncLoop(
            self.service.sync_round,
            cancel=self.service.cancel_sync,
            on_result=self._sync_done,
            on_error=self._sync_done,
        )
        self.page.run_task(self.sync_loop.run)
        self.sync_loop.trigger("start")

    def _sync_done(self, _result: Any) -> None:
        if not self.service.has_vault():  # a remote wipe was carried out during the round
            self.wiped()
            return
        if not self.service.unlocked:
            return
        if isinstance(self.screen, IncidentListScreen | MessagesScreen | CheckinScreen):
            if isinstance(self.screen, IncidentListScreen):
                self.screen.sync_line.running = False
            self.render()
