"""Starting the coordinator app: `run(data_dir, web=..., port=...)` and the Flet `main`.

Web mode binds 127.0.0.1 only (Flet's default would be every interface) and keeps a session
for `SESSION_TIMEOUT` seconds after the browser goes away; on disconnect the app locks at once,
so decrypted case text does not linger in a detached session.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flet as ft

from app.coordinator.alerts_view import AlertWatcher
from app.coordinator.port import FletPort
from app.coordinator.shell import CoordinatorApp
from app.services.coordinator_api import CoordinatorService
from app.ui.fields import touch_theme

HOST = "127.0.0.1"
LOCALES = {
    "en": ft.Locale("en", "US"),
    "ru": ft.Locale("ru", "RU"),
    "ky": ft.Locale("ky", "KG"),
    "kk": ft.Locale("kk", "KZ"),
}
SESSION_TIMEOUT = 60


def make_main(service_factory: Callable[[], CoordinatorService]) -> Callable[[ft.Page], None]:
    def main(page: ft.Page) -> None:
        page.title = "FieldVault"
        page.theme_mode = ft.ThemeMode.LIGHT
        page.theme = touch_theme(color_scheme_seed=ft.Colors.INDIGO)  # 48 dp targets
        page.padding = 0
        port = FletPort(page)

        def follow_language(lang: str) -> None:
            page.locale_configuration = ft.LocaleConfiguration(
                supported_locales=list(LOCALES.values()), current_locale=LOCALES[lang]
            )

        service = service_factory()
        app = CoordinatorApp(service, port, on_language=follow_language)
        page.session.store.set("coordinator-app", app)
        page.session.store.set("coordinator-port", port)

        def on_gone(_e: Any = None) -> None:
            app.lock()

        page.on_disconnect = on_gone
        page.on_close = on_gone
        follow_language(app.ctx.lang)
        page.add(app.root)
        watcher = AlertWatcher(app.alerts, app.show_alerts)  # alarms at once, on every screen
        page.session.store.set("coordinator-alerts", watcher)
        page.run_task(watcher.run)

    return main


def run(data_dir: Path, *, web: bool = False, port: int = 8551) -> None:
    from app.coordinator.bootstrap import make_service

    os.environ.setdefault("FLET_SESSION_TIMEOUT", str(SESSION_TIMEOUT))
    os.environ["FLET_SERVER_IP"] = HOST
    os.environ.setdefault("FLET_WEB_NO_CDN", "true")
    main = make_main(lambda: make_service(data_dir))
    assets = str(Path(__file__).resolve().parents[2] / "assets")
    if web:
        ft.run(
            main, view=ft.AppView.WEB_BROWSER, host=HOST, port=port, assets_dir=assets, no_cdn=True
        )
    else:
        ft.run(main, host=HOST, port=port, assets_dir=assets)
