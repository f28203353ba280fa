"""What every coordinator view is given: the service, the page port, text, shared filters."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable
from typing import Any, cast

from app.coordinator.port import UiPort
from app.errors_text import error_text
from app.i18n import Translator
from app.services.coordinator_api import CoordinatorService
from app.services.coordinator_cases import CaseFilter

NAMESPACE = "coordinator"


@dataclasses.dataclass(slots=True)
class ViewContext:
    service: CoordinatorService
    port: UiPort
    translator: Translator
    navigate: Callable[..., None] = lambda *_a, **_k: None
    filters: CaseFilter = dataclasses.field(default_factory=CaseFilter)

    @property
    def lang(self) -> str:
        return self.translator.lang

    def t(self, key: str, **params: Any) -> str:
        return self.translator.t(key, **params)

    def error(self, exc: BaseException) -> str:
        """User text for an error: the coordinator's own reasons first, then the shared mapper."""
        reason = getattr(exc, "reason", "")
        if isinstance(reason, str) and reason and self.translator.has(f"error.{reason}"):
            return self.t(f"error.{reason}")
        return error_text(exc, cast(Any, self.translator))

    def status(self, status: str) -> str:
        return self.t(f"status.{status}")

    def when(self, seconds: int) -> str:
        if not seconds:
            return "—"
        return _dt.datetime.fromtimestamp(seconds, _dt.UTC).strftime("%Y-%m-%d %H:%M")

    def short(self, key_id: str) -> str:
        return key_id[:8] if key_id else "—"
