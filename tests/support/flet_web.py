"""Drive a Flet app in web mode from pytest with real headless Chromium (Playwright, sync API).

Use:

    with FletWebApp([sys.executable, "-c", SCRIPT], env={...}) as app:   # app.url
        with chromium_browser() as browser:
            ui = FletPage.open(browser, app.url)        # a new context (= Flet session)
            ui.click("Unlock")                           # by accessible name (button)
            ui.fill("Passphrase", "secret")              # a text field by its label
            ui.wait_text("Incidents")
            ui.screenshot(path)

`FletWebApp` starts the app as a subprocess (never `flet run`) on a free loopback port, with
`FLET_WEB_NO_CDN=true` (offline client), `BROWSER=/bin/true` (no browser launched by Flet) and
`FLET_SERVER_IP=127.0.0.1`, waits until it answers, and kills the process group on exit.
`chromium_browser()` calls `require(...)` when /usr/bin/chromium or Playwright is missing.

Flutter web renders to a canvas; Playwright finds controls through Flutter's semantics tree,
which `FletPage.open` enables by clicking the `flt-semantics-placeholder`. Buttons are found by
role and name; text by the `textContent` of `flt-semantics` nodes.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.conftest import require

CHROMIUM = os.environ.get("FIELDVAULT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = {"width": 360, "height": 640}
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the app exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


class FletWebApp:
    """A Flet app started as `argv` with `{port}` substituted, serving on 127.0.0.1."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path = REPO,
        port: int | None = None,
        startup_timeout: float = 90.0,
    ) -> None:
        self.port = port or free_port()
        self.argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.env = dict(env or {})
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.mkstemp(prefix="flet-web-", suffix=".log")[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> FletWebApp:
        env = {
            **os.environ,
            "FLET_WEB_NO_CDN": "true",
            "BROWSER": "/bin/true",
            "FLET_SERVER_IP": "127.0.0.1",
            "FLET_SERVER_PORT": str(self.port),
            "PYTHONPATH": str(self.cwd),
            **self.env,
        }
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv, cwd=self.cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_http(self.url, self.startup_timeout, self.proc)
        except Exception:
            self.__exit__(None, None, None)
            raise RuntimeError(f"app did not start; log:\n{self.log()}") from None
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def __exit__(self, *exc: object) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
        self.log_path.unlink(missing_ok=True)


def chromium_available() -> bool:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return False
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def chromium_browser() -> Iterator[Any]:
    require(chromium_available(), f"Chromium ({CHROMIUM}) and Playwright are needed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class FletPage:
    """One browser context (one Flet session) at phone size, with semantics enabled."""

    def __init__(self, context: Any, page: Any) -> None:
        self.context = context
        self.page = page

    @classmethod
    def open(
        cls, browser: Any, url: str, *, viewport: Mapping[str, int] = PHONE, timeout: float = 60
    ) -> FletPage:
        context = browser.new_context(viewport=dict(viewport), locale="en-US")
        context.set_default_timeout(timeout * 1000)
        page = context.new_page()
        page.goto(url)
        placeholder = page.locator("flt-semantics-placeholder")
        placeholder.wait_for(state="attached")
        placeholder.dispatch_event("click")
        page.locator("flt-semantics").first.wait_for(state="attached")
        return cls(context, page)

    def close(self) -> None:
        self.context.close()

    # ---- finding
    def button(self, name: str | re.Pattern[str]) -> Any:
        return self.page.get_by_role("button", name=name).first

    def text(self, text: str | re.Pattern[str]) -> Any:
        return self.page.locator("flt-semantics").filter(has_text=text).last

    def textbox(self, label: str | re.Pattern[str]) -> Any:
        return self.page.get_by_role("textbox", name=label).first

    # ---- acting
    def click(self, name: str | re.Pattern[str]) -> None:
        target = self.button(name)
        target.wait_for(state="visible")
        target.scroll_into_view_if_needed()
        target.click()

    def fill(self, label: str | re.Pattern[str], value: str) -> None:
        box = self.textbox(label)
        box.wait_for(state="visible")
        box.scroll_into_view_if_needed()
        box.click()
        self.page.keyboard.type(value)

    def long_press(self, name: str | re.Pattern[str], seconds: float = 1.2) -> None:
        target = self.button(name)
        target.wait_for(state="visible")
        box = target.bounding_box()
        assert box is not None
        self.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        self.page.mouse.down()
        self.page.wait_for_timeout(int(seconds * 1000))
        self.page.mouse.up()

    def wait_text(self, text: str | re.Pattern[str], timeout: float = 30) -> None:
        self.text(text).wait_for(state="attached", timeout=timeout * 1000)

    def has_text(self, text: str | re.Pattern[str]) -> bool:
        return bool(self.page.locator("flt-semantics").filter(has_text=text).count())

    def scroll_to_bottom(self) -> None:
        self.page.mouse.move(180, 320)
        for _ in range(10):
            self.page.mouse.wheel(0, 2000)
            self.page.wait_for_timeout(100)

    def screenshot(self, path: Path, *, settle_ms: int = 400) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_timeout(settle_ms)
        self.page.screenshot(path=str(path))
        return path


def python_app(script: str) -> list[str]:
    """argv that runs `script` with this interpreter (`{port}` is substituted)."""
    return [sys.executable, "-c", script]
