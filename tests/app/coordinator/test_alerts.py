"""Alarms at the coordinators, on a real server: the banner on every screen, the alerts view,
the emergency plan published in the signed org document, the watcher, and
`fieldvault coordinator alerts`."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flet as ft
import pytest

from app.cli import main
from app.coordinator.alerts_view import AlertBanner, AlertsView, AlertWatcher
from app.coordinator.context import NAMESPACE, ViewContext
from app.coordinator.shell import CoordinatorApp
from app.i18n import Translator
from app.services.coordinator_alerts import CoordinatorAlerts
from app.services.coordinator_fake import FakeCoordinatorService
from sync import alerts
from sync.coordinator import alerts as raised_alerts
from tests.app.coordinator.fakes import FakePort, click
from tests.app.coordinator.worlds import PASSPHRASE, RealWorld

PLAN = "1. Позвоните адвокату Айгерим: +996 555 000 111.\n2. Не публикуйте ничего."


@pytest.fixture
def world(tmp_path: Path) -> Iterator[RealWorld]:
    w = RealWorld(tmp_path)
    w.setup()
    try:
        yield w
    finally:
        w.close()


def _alarm(world: RealWorld, label: str = "Osh phone", message: str = "detained") -> str:
    device = world.enrol_device(label)
    vault, engine = world.devices[device]
    alerts.raise_alarm(vault, alerts.AlarmSettings(message), at=int(time.time()))
    engine.run_once()
    return device


def _texts(control: Any) -> str:
    out: list[str] = []

    def walk(c: Any) -> None:
        for name in ("value", "text"):
            v = getattr(c, name, None)
            if isinstance(v, str):
                out.append(v)
        content = getattr(c, "content", None)
        if isinstance(content, str):
            out.append(content)
        elif content is not None:
            walk(content)
        for child in getattr(c, "controls", None) or []:
            walk(child)

    walk(control)
    return "\n".join(out)


def _ctx(world: RealWorld, lang: str = "en") -> ViewContext:
    return ViewContext(world.service, FakePort(), Translator(lang, NAMESPACE))


def test_an_alarm_appears_in_red_above_every_screen_and_in_the_alerts_view(
    world: RealWorld,
) -> None:
    _alarm(world)
    app = CoordinatorApp(world.service, FakePort(), "en")
    app.alerts.refresh()
    for screen in ("cases", "devices", "settings"):
        app.navigate(screen)
        assert app.banner.control.visible, screen
        assert "ALARM: Osh phone raised an alarm at" in _texts(app.banner.control)
    assert "“I have been detained”" in _texts(app.banner.control)
    app.navigate("alerts")
    assert "Osh phone raised an alarm" in _texts(app.view.control)


def test_marking_an_alarm_handled_clears_the_banner_and_says_who(world: RealWorld) -> None:
    _alarm(world)
    ctx = _ctx(world)
    view = AlertsView(ctx, CoordinatorAlerts(world.service))
    view.on_refresh()
    [alarm] = view.alerts.active()
    handle = next(
        c for c in _walk(view.control) if getattr(c, "key", None) == f"alert-handle-{alarm.id[:8]}"
    )
    click(handle)
    assert view.alerts.active() == []
    assert "Handled by Айгүл" in _texts(view.control)
    banner = AlertBanner(ctx, lambda: None)
    banner.show(view.alerts.active())
    assert not banner.control.visible


def _walk(control: Any) -> Iterator[Any]:
    yield control
    content = getattr(control, "content", None)
    if content is not None and not isinstance(content, str):
        yield from _walk(content)
    for child in getattr(control, "controls", None) or []:
        yield from _walk(child)


def test_the_emergency_plan_is_published_signed_and_shown_as_written(world: RealWorld) -> None:
    ctx = _ctx(world, "ky")
    view = AlertsView(ctx, CoordinatorAlerts(world.service))
    view.load()
    assert "азырынча жарыяланган эмес" in str(view.plan_text.value)
    version = world.service.info().org_version
    view.editor.value = PLAN
    view.on_publish()
    assert world.service.info().org_version == version + 1
    assert view.plan_text.value == PLAN  # the organisation's words, never translated
    device = world.enrol_device("phone")  # a device accepts the document with the plan in it
    assert device


def test_a_plan_that_is_too_long_is_refused_and_nothing_is_published(world: RealWorld) -> None:
    view = AlertsView(_ctx(world), CoordinatorAlerts(world.service))
    view.load()
    version = world.service.info().org_version
    view.editor.value = "x" * (raised_alerts.MAX_PLAN_CHARS + 1)
    view.on_publish()
    assert "longer than 4000 characters" in str(_texts(view.status))
    assert world.service.info().org_version == version


def test_the_watcher_tells_the_app_only_when_the_open_alarms_change(world: RealWorld) -> None:
    seen: list[int] = []
    watcher = AlertWatcher(CoordinatorAlerts(world.service), lambda a: seen.append(len(a)))
    watcher.check(watcher.alerts.refresh())
    _alarm(world)
    watcher.check(watcher.alerts.refresh())
    watcher.check(watcher.alerts.refresh())
    assert seen == [0, 1]


def test_a_workspace_without_a_vault_has_no_alarms() -> None:
    service = FakeCoordinatorService()
    assert CoordinatorAlerts(service).raised() == [] and CoordinatorAlerts(service).plan() == ""


def test_the_command_line_lists_open_alarms_with_the_plan_and_exits_four(
    world: RealWorld, capsys: Any, monkeypatch: Any
) -> None:
    CoordinatorAlerts(world.service).publish_plan(PLAN)
    _alarm(world, message="call_me")
    data = str(world.service._dir)
    world.service.lock()
    monkeypatch.setenv("FIELDVAULT_PASSPHRASE", PASSPHRASE)
    assert main(["coordinator", "--data", data, "alerts"]) == 4
    out = capsys.readouterr().out
    assert "Osh phone: ALARM at" in out and '"call me"' in out and PLAN in out
    code = main(["coordinator", "--data", data, "alerts", "--no-pull", "--json"])
    answer = json.loads(capsys.readouterr().out)
    assert code == 4 and answer["emergency_plan"] == PLAN
    [alarm] = answer["alerts"]
    assert alarm["device_name"] == "Osh phone" and alarm["message"] == "call_me"
    assert (
        main(["coordinator", "--data", data, "alerts", "--no-pull", "--handle", alarm["id"][:8]])
        == 0
    )
    assert "no open alarms" in capsys.readouterr().out


def test_a_coordinator_view_is_dumb_about_flet_pages(world: RealWorld) -> None:
    view = AlertsView(_ctx(world, "ru"), CoordinatorAlerts(world.service))
    view.load()
    assert isinstance(view.control, ft.Column)
    assert "Тревог нет" in _texts(view.control)
