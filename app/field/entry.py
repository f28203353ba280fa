"""Start the field app: `run(web=..., host=..., port=..., data_dir=...)`, or `main(page)` for
`flet build` / `flet run`.

The data directory (the vault) defaults to the app's private storage on a phone
(`FLET_APP_STORAGE_DATA`) and to `~/.fieldvault/field` elsewhere, as for `fieldvault field`.
On a phone the app's temp and cache directories (`FLET_APP_STORAGE_TEMP`, where the file picker
leaves its copies of picked files, and `FLET_APP_STORAGE_CACHE`, where the camera plugin leaves
its photos and videos) are wiped together with the vault: panic, duress, wrong-passphrase
threshold and remote wipe alike.
Web mode binds 127.0.0.1 unless told otherwise and serves the Flutter client from the package
(no CDN), so it works offline.

On Android and iOS the vault is bound to the phone's keystore
(`app.field.secure_keystore.phone_keystore`), and before any screen is shown the app asks the
server whether a remote wipe waits for it (`app.services.field_wipecheck.check_at_start`, at
most a few seconds, silent on any failure): a wipe then runs before the calculator or the
passphrase screen exists. Desktop and browser have no keystore and start as before.

`FIELDVAULT_FIELD_PREVIEW=1` runs the UI on the in-memory fake service (nothing is saved):
for UI previews and translations review only, never for real use.

The services themselves are built in `app.field.bootstrap` (shared with the command line);
this module adds the page: the keystore, the start-up check and the shell.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import flet as ft

from app.field.bootstrap import (
    cache_dirs,
    default_data_dir,
    make_service,
    preview_service,
    preview_wanted,
    start_checked,
)
from app.i18n import ASSETS

if TYPE_CHECKING:
    from app.services.field_api import FieldService

__all__ = ["cache_dirs", "default_data_dir", "main", "make_main", "make_service", "run"]


def make_main(data_dir: Path | str | None = None) -> Callable[[ft.Page], None]:
    """A `main(page)` bound to one data directory (each web session gets its own shell)."""

    def main(page: ft.Page) -> None:
        if preview_wanted():
            _show(page, preview_service())
            return
        from app.field.secure_keystore import phone_keystore

        keystore = phone_keystore(page)
        service = make_service(data_dir, keystore=keystore)
        if keystore is None:
            _show(page, service)  # desktop and browser: as before, no check
            return

        async def check_then_show() -> None:
            page.update()  # the SecureStorage service reaches the client before it is called
            await asyncio.to_thread(start_checked, service)
            _show(page, service)
            page.update()

        page.run_task(check_then_show)

    return main


def _show(page: ft.Page, service: FieldService) -> None:
    from app.field.shell import AppShell

    shell = AppShell(page, service)
    page.data = shell  # keep the shell (and its services) referenced for the session
    shell.start()


main = make_main()


def run(
    *,
    web: bool = False,
    host: str = "127.0.0.1",
    port: int = 0,
    data_dir: Path | str | None = None,
) -> None:
    """Run the field app: a desktop window, or with `web=True` a browser app on `host:port`."""
    view = ft.AppView.WEB_BROWSER if web else ft.AppView.FLET_APP
    ft.run(
        make_main(data_dir),
        view=view,
        host=host,
        port=port,
        assets_dir=str(ASSETS),
        no_cdn=True,
    )
