"""The coordinator app's frame: first run or unlock, then the workspace with its navigation.

`CoordinatorApp(service, port, lang).root` is the one control the page shows. Screens are
rebuilt on navigation and on a language switch, so every string follows the current language.
`lock()` drops every screen (and the decrypted text in it) and locks the service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from app.coordinator.alerts_view import AlertBanner, AlertsView
from app.coordinator.bootstrap import alerts_for
from app.coordinator.case_view import CaseView
from app.coordinator.cases_view import CaseListView
from app.coordinator.context import NAMESPACE, ViewContext
from app.coordinator.dashboard_view import DashboardView
from app.coordinator.devices_view import DevicesView
from app.coordinator.exports_view import ExportsView
from app.coordinator.forms_view import FormsView
from app.coordinator.port import UiPort
from app.coordinator.settings_view import SettingsView
from app.coordinator.setup_view import SetupView, UnlockView
from app.coordinator.warnlist_view import WarnListView
from app.i18n import LANGUAGES, Translator
from app.services.coordinator_api import CoordinatorService
from app.ui.language import ENDONYMS

SCREENS = ("cases", "alerts", "warnlist", "dashboard", "devices", "exports", "forms", "settings")
ICONS = {
    "cases": ft.Icons.FOLDER_OPEN,
    "alerts": ft.Icons.NOTIFICATIONS_ACTIVE,
    "warnlist": ft.Icons.CAMPAIGN,
    "dashboard": ft.Icons.INSIGHTS,
    "devices": ft.Icons.PHONE_ANDROID,
    "exports": ft.Icons.IOS_SHARE,
    "forms": ft.Icons.DYNAMIC_FORM,
    "settings": ft.Icons.SETTINGS,
}


class CoordinatorApp:
    def __init__(
        self,
        service: CoordinatorService,
        port: UiPort,
        lang: str = "",
        on_language: Callable[[str], None] = lambda _lang: None,
    ) -> None:
        self.service = service
        self.on_language = on_language
        self.ctx = ViewContext(
            service=service,
            port=port,
            translator=Translator(lang or service.language(), NAMESPACE),
            navigate=self.navigate,
        )
        self.screen = ""
        self.view: Any = None
        self.alerts = alerts_for(service)  # alarms and missed check-ins
        self.banner = AlertBanner(self.ctx, lambda: self.navigate("alerts"))
        self.root = ft.Container(expand=True)
        self.start()

    @property
    def t(self) -> Any:
        return self.ctx.t

    def start(self) -> None:
        """First run, unlock, or (already unlocked) the case list."""
        if self.service.unlocked:
            self.navigate("cases")
        elif self.service.is_set_up():
            self._centre(UnlockView(self.ctx, self.on_ready), "unlock")
        else:
            self._centre(SetupView(self.ctx, self.on_ready), "setup")

    def _centre(self, view: Any, name: str) -> None:
        self.view, self.screen = view, name
        languages = ft.Row(
            [
                ft.TextButton(
                    ENDONYMS[lang],
                    on_click=lambda _e, lg=lang: self.set_language(lg),
                    key=f"lang-{lang}",
                    style=ft.ButtonStyle(
                        text_style=ft.TextStyle(
                            weight=ft.FontWeight.BOLD if lang == self.ctx.lang else None
                        )
                    ),
                )
                for lang in LANGUAGES
            ],
            alignment=ft.MainAxisAlignment.CENTER,
        )
        self.root.content = ft.Column(
            [
                ft.Row(
                    [ft.Icon(ft.Icons.SHIELD, size=28), ft.Text("FieldVault", size=20)],
                    alignment=ft.MainAxisAlignment.CENTER,
                ),
                languages,
                ft.Row([view.control], alignment=ft.MainAxisAlignment.CENTER),
            ],
            horizontal_alignment=ft.CrossAxisAlignment.CENTER,
            scroll=ft.ScrollMode.AUTO,
        )

    def on_ready(self) -> None:
        self.ctx.translator = Translator(self.service.language(), NAMESPACE)
        self.on_language(self.ctx.lang)
        self.navigate("cases")

    def navigate(self, screen: str, arg: str = "") -> None:
        ctx = self.ctx
        if screen == "case":
            view: Any = CaseView(ctx, arg)
        elif screen == "cases":
            view = CaseListView(ctx)
        elif screen == "alerts":
            view = AlertsView(ctx, self.alerts, lambda: self.banner.show(self.alerts.active()))
        elif screen == "warnlist":
            view = WarnListView(ctx)
        elif screen == "dashboard":
            view = DashboardView(ctx)
        elif screen == "devices":
            view = DevicesView(ctx)
        elif screen == "exports":
            view = ExportsView(ctx)
        elif screen == "forms":
            view = FormsView(ctx)
        elif screen == "settings":
            view = SettingsView(ctx, self.set_language, self.lock)
        else:
            raise ValueError(f"unknown screen {screen!r}")
        self.view, self.screen = view, screen
        selected = SCREENS.index("cases" if screen == "case" else screen)
        rail = ft.NavigationRail(
            selected_index=selected,
            label_type=ft.NavigationRailLabelType.ALL,
            min_width=96,
            destinations=[
                ft.NavigationRailDestination(icon=ICONS[s], label=self.t(f"nav.{s}"))
                for s in SCREENS
            ],
            on_change=self.on_rail,
            leading=ft.Container(
                ft.Icon(ft.Icons.SHIELD, size=28), padding=ft.Padding(0, 12, 0, 12)
            ),
        )
        self.root.content = ft.Row(
            [
                rail,
                ft.VerticalDivider(width=1),
                ft.Column(  # the alarm banner above every screen
                    [self.banner.control, ft.Container(view.control, expand=True, padding=20)],
                    expand=True,
                    spacing=0,
                ),
            ],
            expand=True,
            vertical_alignment=ft.CrossAxisAlignment.STRETCH,
        )
        view.load()
        self.banner.show(self.alerts.active())

    def show_alerts(self, active: list[Any]) -> None:
        """The alarm watcher's news: the banner, and the alerts view if it is open."""
        if not self.service.unlocked:
            active = []
        self.banner.show(active)
        if self.screen == "alerts" and self.view is not None:
            self.view.load()
        self.ctx.port.refresh()

    def on_rail(self, e: Any) -> None:
        index = int(getattr(e.control, "selected_index", 0) or 0)
        self.navigate(SCREENS[index])

    def set_language(self, lang: str) -> None:
        self.service.set_language(lang)
        self.ctx.translator = Translator(lang, NAMESPACE)
        self.on_language(lang)
        if not self.service.unlocked:
            self.start()
        else:
            self.navigate(self.screen if self.screen in SCREENS else "settings")

    def lock(self) -> None:
        """Forget every decrypted thing on screen and in the service, then ask to unlock."""
        self.root.content = None
        self.view = None
        self.banner.show([])
        self.service.lock()
        self.start()
