"""What every coordinator view is given: the service, the page port, text, shared filters."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
from collections.abc import Callable
from typing import Any, cast

from app.casebook import dates
from app.casebook.cases import CaseFilter
from app.coordinator.port import UiPort
from app.errors_text import error_text
from app.i18n import Translator
from app.services.coordinator_api import CoordinatorService
from app.services.coordinator_types import CoordinatorError
from sync.encoding import ReasonError
from sync.errors import SyncError

NAMESPACE = "coordinator"


@dataclasses.dataclass(slots=True)
class ViewContext:
    service: CoordinatorService
    port: UiPort
    translator: Translator
    navigate: Callable[..., None] = lambda *_a, **_k: None
    filters: CaseFilter = dataclasses.field(default_factory=CaseFilter)
    names: dict[str, str] = dataclasses.field(default_factory=dict)
    tz: _dt.tzinfo | None = None  # None: the computer's own zone

    @property
    def lang(self) -> str:
        return self.translator.lang

    def t(self, key: str, **params: Any) -> str:
        return self.translator.t(key, **params)

    def error(self, exc: BaseException) -> str:
        """User text for an error. A `CoordinatorError` (or a sync or parser error with a
        reason) is `error.<reason>` when a catalogue has that key; everything else (storage,
        unknown reasons) goes to the shared mapper, `app.errors_text`."""
        if isinstance(exc, CoordinatorError | SyncError | ReasonError):
            key = f"error.{exc.reason}"
            if self.translator.has(key):
                return self.t(key)
        return error_text(exc, cast(Any, self.translator))

    def status(self, status: str) -> str:
        return self.t(f"status.{status}")

    def when(self, seconds: int) -> str:
        """A moment as a local date and time in the reader's language."""
        return dates.moment(seconds, self.t, self.tz)

    def day(self, iso: str) -> str:
        """An answer's date (or date and time) in the reader's language."""
        return dates.day(iso, self.t)

    def month(self, yyyy_mm: str) -> str:
        return dates.month(yyyy_mm, self.t)

    def short(self, key_id: str) -> str:
        return key_id[:8] if key_id else "—"

    def load_names(self) -> None:
        """Fetch device labels and coordinator names (kept until the next call)."""
        with contextlib.suppress(Exception):  # names are a nicety: ids still show without them
            self.names = self.service.names()

    def name(self, key_id: str) -> str:
        """A device or coordinator as people know it: its label or name, else a short id."""
        if not key_id:
            return "—"
        return self.names.get(key_id) or self.t("names.unnamed", id=key_id[:8])
