"""The coordinator app (Flet): a server-blind case workspace on the coordinator's laptop.

Start it with `fieldvault coordinator` (see `app.cli_coordinator`). `bootstrap` is the one place
that builds its services (the command line uses it too); `entry.make_main` adds the page.
Screens (`*_view.py`) build controls from plain data and call a `CoordinatorService`
(app/services/coordinator_api.py); page I/O (dialogs, file save/pick, background
work) goes through the `UiPort` in `port.py`, so every view runs in plain pytest.

Danger: screens show decrypted case content. `shell.CoordinatorApp.lock()` clears every screen
and forgets the vault keys; it runs on the lock button and when the browser disconnects.
"""
