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
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from tests.conftest import require

T = TypeVar("T")
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
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
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

    def __exit__(self, exc_type: object = None, *exc: object) -> None:
        if self.proc is None:
            return
        if exc_type is not None:  # show the app's own log next to the failure
            sys.stderr.write(f"--- app log ---\n{self.log()}\n--- end of app log ---\n")
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

    @contextlib.contextmanager
    def screenshot_on_failure(self, path: Path) -> Iterator[FletPage]:
        """Save what the screen showed when the block failed (for CI artifacts)."""
        try:
            yield self
        except BaseException:
            with contextlib.suppress(Exception):
                self.screenshot(path, settle_ms=0)
                nodes = self.page.locator("flt-semantics").all()
                lines = [
                    f"{n.get_attribute('role')}|{n.get_attribute('aria-label')}|"
                    f"{n.get_attribute('aria-checked')}|{(n.text_content() or '')[:60]}"
                    for n in nodes
                ]
                path.with_suffix(".txt").write_text("\n".join(lines), encoding="utf-8")
            raise

    # ---- finding
    def button(self, name: str | re.Pattern[str], *, exact: bool = False) -> Any:
        """A button, or a navigation tab, by its accessible name."""
        page = self.page
        by_role = page.get_by_role("button", name=name, exact=exact)
        return by_role.or_(page.get_by_role("tab", name=name, exact=exact)).first

    def text(self, text: str | re.Pattern[str]) -> Any:
        return self.page.locator("flt-semantics").filter(has_text=text).last

    def textbox(self, label: str | re.Pattern[str]) -> Any:
        return self.page.get_by_role("textbox", name=label).first

    # ---- acting
    def retry(self, action: Callable[[], T], attempts: int = 6) -> T:
        """Run a Playwright action again when Flutter rebuilt the node under it."""
        from playwright.sync_api import Error

        for attempt in range(attempts):
            try:
                return action()
            except Error as exc:
                transient = "not attached" in str(exc) or "detached" in str(exc)
                if not transient or attempt == attempts - 1:
                    raise
                self.page.wait_for_timeout(250)
        raise AssertionError("unreachable")

    def click_locator(self, locator: Any) -> None:
        """Tap a semantics node. A synthetic click is one atomic action (Flutter's tap handler
        on the node), so a retry after "detached" can never deliver a second tap."""

        def act() -> None:
            locator.wait_for(state="attached")
            locator.dispatch_event("click")

        self.retry(act)

    def click(self, name: str | re.Pattern[str], *, exact: bool = False) -> None:
        self.click_locator(self.button(name, exact=exact))

    def click_until(
        self,
        name: str | re.Pattern[str],
        expect: str | re.Pattern[str],
        *,
        exact: bool = False,
        timeout: float = 60,
    ) -> None:
        """Tap `name` until `expect` shows: a tap on a node Flutter was just replacing (the
        screen redrew at that instant) is lost, so tap again, but only while nothing changed."""
        deadline = time.monotonic() + timeout
        while True:
            self.click(name, exact=exact)
            try:
                self.wait_text(expect, timeout=min(8.0, max(1.0, deadline - time.monotonic())))
                return
            except Exception:
                if time.monotonic() > deadline or not self.button(name, exact=exact).count():
                    raise

    def toggle(self, label: str) -> None:
        """Flip the switch or checkbox whose (wrapping) label text is `label`; checks that this
        one flipped (any other box flipping at the same moment does not count)."""
        page = self.page
        named = page.get_by_role("switch", name=label, exact=True).or_(
            page.get_by_role("checkbox", name=label, exact=True)
        )
        if named.count():
            target = named.first
            before = target.get_attribute("aria-checked")

            def flipped() -> bool:
                return target.get_attribute("aria-checked") != before
        else:  # a label wrapping the control without naming it: count the boxes that are on
            checked = page.locator(
                "flt-semantics[role=switch][aria-checked=true], "
                "flt-semantics[role=checkbox][aria-checked=true]"
            )
            on = checked.count()

            def flipped() -> bool:
                return checked.count() != on

        for _ in range(3):
            self.click(label)
            # wait long enough for a slow round trip: clicking again too early flips it back
            for _ in range(50):
                page.wait_for_timeout(200)
                if flipped():
                    return
        raise AssertionError(f"the toggle labelled {label!r} did not change")

    def check(self, name: str) -> None:
        """Tick the checkbox with exactly this label, and make sure it is ticked."""
        box = self.page.get_by_role("checkbox", name=name, exact=True).first
        for _ in range(3):
            if box.get_attribute("aria-checked") == "true":
                return
            self.click_locator(box)
            for _ in range(50):
                self.page.wait_for_timeout(200)
                if box.get_attribute("aria-checked") == "true":
                    return
        raise AssertionError(f"the checkbox {name!r} could not be ticked")

    def choose(self, label: str, option: str) -> None:
        """Open a dropdown by its label and pick the option with exactly this text."""
        exact = re.compile("^" + re.escape(option) + "$")
        self._pointer_click(self.textbox(label))
        self.page.wait_for_timeout(400)
        self._pointer_click(self.page.locator("flt-semantics").filter(has_text=exact).last)
        self.page.wait_for_timeout(400)

    def _focus(self, locator: Any) -> bool:
        """Click a text field and wait until the browser's focus is really in it."""
        for _ in range(3):
            self._pointer_click(locator)
            for _ in range(20):
                self.page.wait_for_timeout(100)
                with contextlib.suppress(Exception):
                    if locator.evaluate("e => document.activeElement === e", timeout=1000):
                        return True
        return False

    def _pointer_click(self, locator: Any) -> None:
        def act() -> None:
            locator.wait_for(state="visible")
            locator.scroll_into_view_if_needed()
            locator.click()

        self.retry(act)

    def fill(self, label: str | re.Pattern[str], value: str) -> None:
        """Focus the text field with this label and type `value`, checking it arrived."""
        for _ in range(3):
            if not self._focus(self.textbox(label)):
                continue  # typing now would land in whichever field still has the focus
            self.page.keyboard.press("Control+A")
            self.page.keyboard.press("Backspace")
            self.page.keyboard.type(value)
            self.page.wait_for_timeout(150)
            with contextlib.suppress(Exception):
                if self.textbox(label).input_value(timeout=2000) == value:
                    return
        raise AssertionError(f"could not type into the field labelled {label!r}")

    def long_press(self, name: str | re.Pattern[str], seconds: float = 1.2) -> None:
        """Press and hold the control whose accessible name (text, label or tooltip) is `name`."""
        target = self.page.get_by_label(name).or_(self.button(name)).first
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
