"""First run and unlock: a new organisation, joining one with a root key backup, or unlocking.

`SetupView(ctx, on_ready)` offers both first-run paths; `UnlockView(ctx, on_ready)` asks for the
passphrase. Both run the blocking service call through the port and call `on_ready()` after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import flet as ft

from app.coordinator import widgets as w
from app.coordinator.context import ViewContext

MODES = ("new", "join")
FIELD_WIDTH = 512


class _SetupFields(TypedDict):
    """What a new organisation and a join both take from the shared fields."""

    passphrase: str
    server_url: str
    coordinator_name: str
    tls_pin: str
    post_quantum: bool


class SetupView:
    def __init__(self, ctx: ViewContext, on_ready: Callable[[], None]) -> None:
        self.ctx, self.on_ready = ctx, on_ready
        t = ctx.t
        self.mode = "new"
        self.passphrase = w.secret_field(
            t("setup.passphrase"), t("secret.reveal"), width=FIELD_WIDTH, key="passphrase"
        )
        self.confirm = _hidden_field(t("setup.passphrase_again"), "passphrase-again")
        self.name = w.sensitive_field(
            t("setup.your_name"), key="coordinator-name", width=FIELD_WIDTH
        )
        self.server = ft.TextField(
            width=FIELD_WIDTH,
            label=t("setup.server"),
            hint_text="https://",
            key="server-url",
            autocorrect=False,
        )
        self.tls_pin = ft.TextField(
            width=FIELD_WIDTH,
            label=t("setup.tls_pin"),
            helper=t("setup.tls_pin_help"),
            helper_max_lines=2,
            key="tls-pin",
            autocorrect=False,
        )
        self.post_quantum = ft.Checkbox(
            label=t("setup.post_quantum"), key="post-quantum", height=48
        )
        self._build_new_fields()
        self._build_join_fields()
        self.error = w.banner("")
        self.busy = ft.ProgressRing(visible=False, width=24, height=24)
        self.submit = ft.FilledButton(t("setup.create"), on_click=self.on_submit, key="setup-go")
        self.switch = ft.SegmentedButton(
            segments=[
                ft.Segment(value="new", label=ft.Text(t("setup.mode_new"))),
                ft.Segment(value="join", label=ft.Text(t("setup.mode_join"))),
            ],
            selected=["new"],
            on_change=self.on_mode,
        )
        self.control = _panel(
            t("setup.title"),
            t("setup.intro"),
            self.switch,
            self.passphrase,
            self.confirm,
            self.name,
            self.server,
            self.tls_pin,
            ft.Column([self.post_quantum, w.muted(t("setup.post_quantum_help"))], spacing=2),
            self.new_fields,
            self.join_fields,
            self.error,
            ft.Row([self.submit, self.busy]),
            width=560,
            scroll=ft.ScrollMode.AUTO,
        )

    def _build_new_fields(self) -> None:
        """What a new organisation needs: its name and the server's bootstrap token."""
        t = self.ctx.t
        self.org = w.sensitive_field(t("setup.org_name"), key="org-name", width=FIELD_WIDTH)
        self.token = _hidden_field(t("setup.bootstrap_token"), "bootstrap-token")
        self.new_fields = ft.Column([self.org, self.token], spacing=12)

    def _build_join_fields(self) -> None:
        """What joining needs: the key backup an existing coordinator made, and its passphrase."""
        t = self.ctx.t
        self.backup = w.sensitive_field(
            t("setup.backup_text"),
            multiline=True,
            min_lines=3,
            max_lines=6,
            key="backup-text",
            width=FIELD_WIDTH,
        )
        self.backup_passphrase = _hidden_field(t("setup.backup_passphrase"), "backup-passphrase")
        self.load_backup = ft.OutlinedButton(
            t("setup.load_backup"), icon=ft.Icons.UPLOAD_FILE, on_click=self.on_load_backup
        )
        self.join_fields = ft.Column(
            [self.backup, self.load_backup, self.backup_passphrase], spacing=12, visible=False
        )

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.switch.selected = [mode]
        self.new_fields.visible = mode == "new"
        self.join_fields.visible = mode == "join"
        self.submit.content = self.ctx.t("setup.create" if mode == "new" else "setup.join")

    def on_mode(self, e: Any) -> None:
        selected = list(getattr(e.control, "selected", None) or ["new"])
        self.set_mode(str(selected[0]))

    def on_load_backup(self, _e: Any = None) -> None:
        def picked(_name: str, data: bytes) -> None:
            self.backup.value = data.decode("utf-8", errors="replace")

        self.ctx.port.pick(picked)

    def on_submit(self, _e: Any = None) -> None:
        t = self.ctx.t
        self.error.visible = False
        passphrase = self.passphrase.value or ""
        if passphrase != (self.confirm.value or ""):
            return self._fail_text(t("error.passphrase_mismatch"))
        server = (self.server.value or "").strip()
        if not server:
            return self._fail_text(t("setup.need_server"))
        service = self.ctx.service
        shared = _SetupFields(
            passphrase=passphrase,
            server_url=server,
            coordinator_name=(self.name.value or "").strip(),
            tls_pin=(self.tls_pin.value or "").strip(),
            post_quantum=bool(self.post_quantum.value),
        )
        if self.mode == "new":
            org, token = (self.org.value or "").strip(), (self.token.value or "").strip()
            if not org or not token:
                return self._fail_text(t("setup.need_org_and_token"))

            # Closures, not functools.partial: a partial's repr would show the passphrases.
            def work() -> Any:
                return service.setup_new(bootstrap_token=token, org_name=org, **shared)

        else:
            backup = (self.backup.value or "").strip().encode("utf-8")
            backup_pass = self.backup_passphrase.value or ""
            if not backup or not backup_pass:
                return self._fail_text(t("setup.need_backup"))

            def work() -> Any:
                return service.setup_join(
                    backup=backup + b"\n", backup_passphrase=backup_pass, **shared
                )

        self._busy(True)
        self.ctx.port.run(work, self._done, self._failed)
        return None

    def _done(self, _info: Any) -> None:
        self._busy(False)
        for field in (
            self.passphrase,
            self.confirm,
            self.token,
            self.backup,
            self.backup_passphrase,
        ):
            field.value = ""
        self.on_ready()

    def _failed(self, exc: BaseException) -> None:
        self._busy(False)
        self._fail_text(self.ctx.error(exc))

    def _fail_text(self, text: str) -> None:
        self.error.content.value = text  # type: ignore[union-attr]
        self.error.visible = True

    def _busy(self, busy: bool) -> None:
        self.busy.visible = busy
        self.submit.disabled = busy


class UnlockView:
    def __init__(self, ctx: ViewContext, on_ready: Callable[[], None]) -> None:
        self.ctx, self.on_ready = ctx, on_ready
        t = ctx.t
        self.passphrase = w.secret_field(
            t("unlock.passphrase"),
            t("secret.reveal"),
            autofocus=True,
            on_submit=self.on_unlock,
            key="unlock-passphrase",
        )
        self.error = w.banner("")
        self.busy = ft.ProgressRing(visible=False, width=24, height=24)
        self.button = w.button("filled", t("unlock.button"), self.on_unlock, "unlock")
        self.control = _panel(
            t("unlock.title"),
            t("unlock.intro"),
            self.passphrase,
            self.error,
            ft.Row([self.button, self.busy]),
            width=480,
        )

    def on_unlock(self, _e: Any = None) -> None:
        passphrase = self.passphrase.value or ""
        self.passphrase.value = ""
        self.error.visible = False
        self.busy.visible, self.button.disabled = True, True

        def failed(exc: BaseException) -> None:
            self.busy.visible, self.button.disabled = False, False
            self.error.content.value = self.ctx.error(exc)  # type: ignore[union-attr]
            self.error.visible = True

        def done(_r: Any) -> None:
            self.busy.visible, self.button.disabled = False, False
            self.on_ready()

        self.ctx.port.run(lambda: self.ctx.service.unlock(passphrase), done, failed)


def _hidden_field(label: str, key: str) -> ft.TextField:
    """A passphrase typed without a reveal button (the repeat, the backup's)."""
    return ft.TextField(width=FIELD_WIDTH, label=label, password=True, key=key)


def _panel(
    title: str, intro: str, *controls: ft.Control, width: int, scroll: ft.ScrollMode | None = None
) -> ft.Container:
    """The frame of the setup and unlock screens: a title, a line on what to do, the fields."""
    return ft.Container(
        ft.Column([w.title(title), w.muted(intro), *controls], spacing=12, scroll=scroll),
        width=width,
        padding=24,
    )
