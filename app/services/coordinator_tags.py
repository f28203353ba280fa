"""Device tags and the event wipe, for the coordinator service.

`DeviceTagsMixin` gives `CoordinatorBase` (both implementations):

- `device_tags()`: device id -> its tags; `tag_devices(device_ids, tag)`, `untag_device`;
- `tagged(tag)`: the devices a tag names that a wipe would reach (not revoked, not already
  wiped);
- `wipe_tag(tag, confirmation)`: the event wipe. `confirmation` must be the tag itself or the
  number of devices it reaches, typed by the coordinator; then every one of them gets the
  normal signed wipe command (`sync.commands`, through `_order_wipe`), in one action.
  Returns a `TagWipe` naming the devices ordered and those the server refused.

Tags are this coordinator's own (a setting record in its vault, `sync.coordinator.roster`):
the server never sees them, and no device learns it was tagged.

Errors: `CoordinatorError("invalid_tag", detail)` for an empty or too long tag,
`CoordinatorError("unknown_device")`, `CoordinatorError("wipe_not_confirmed")` when the
confirmation does not match (nothing is ordered), `CoordinatorError("no_devices")` when the tag
reaches no device.

Danger: a wipe cannot be undone. The confirmation is the only guard between a mistyped tag and
a room full of wiped phones; never fill it in for the coordinator.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from app.services.coordinator_types import CoordinatorError, DeviceInfo
from sync.coordinator.roster import DEVICE_TAGS_ID, normalise_device_tag, tags_from_setting


@dataclasses.dataclass(frozen=True, slots=True)
class TagWipe:
    tag: str
    ordered: tuple[str, ...]  # devices a signed wipe command was posted for
    failed: tuple[tuple[str, str], ...] = ()  # (device id, reason) the server refused


class DeviceTagsMixin(abc.ABC):
    """See the module docstring."""

    @abc.abstractmethod
    def devices(self) -> list[DeviceInfo]: ...

    @abc.abstractmethod
    def wipe(self, device_id: str) -> None: ...

    @abc.abstractmethod
    def _load_setting(self, record_id: str) -> dict[str, Any]: ...

    @abc.abstractmethod
    def _save_setting(self, record_id: str, data: Mapping[str, Any]) -> None: ...

    def _order_wipe(self, device_id: str) -> None:
        """Post one signed wipe command (implementations skip re-listing the devices)."""
        self.wipe(device_id)

    def device_tags(self) -> dict[str, list[str]]:
        return tags_from_setting(self._load_setting(DEVICE_TAGS_ID))

    @staticmethod
    def _tag(tag: str) -> str:
        try:
            return normalise_device_tag(tag)
        except ValueError as exc:
            raise CoordinatorError("invalid_tag", str(exc)) from None

    def tag_devices(self, device_ids: Iterable[str], tag: str) -> None:
        clean = self._tag(tag)
        ids = list(device_ids)
        known = {d.id for d in self.devices()}
        if not ids or any(i not in known for i in ids):
            raise CoordinatorError("unknown_device")
        tags = self.device_tags()
        for device_id in ids:
            current = tags.setdefault(device_id, [])
            if clean not in current:
                current.append(clean)
        self._save_setting(DEVICE_TAGS_ID, {"tags": tags})

    def untag_device(self, device_id: str, tag: str) -> None:
        clean = self._tag(tag)
        tags = self.device_tags()
        kept = [t for t in tags.get(device_id, []) if t != clean]
        if kept:
            tags[device_id] = kept
        else:
            tags.pop(device_id, None)
        self._save_setting(DEVICE_TAGS_ID, {"tags": tags})

    def all_tags(self) -> list[tuple[str, int]]:
        """Every tag in use and how many devices carry it, by name."""
        counts: dict[str, int] = {}
        for tags in self.device_tags().values():
            for tag in tags:
                counts[tag] = counts.get(tag, 0) + 1
        return sorted(counts.items(), key=lambda kv: kv[0].casefold())

    def tagged(self, tag: str, devices: list[DeviceInfo] | None = None) -> list[DeviceInfo]:
        """The devices carrying `tag` that a wipe would reach (not revoked, not wiped)."""
        clean = self._tag(tag)
        carrying = {i for i, tags in self.device_tags().items() if clean in tags}
        listed = self.devices() if devices is None else devices
        return [d for d in listed if d.id in carrying and not d.revoked and d.wipe != "done"]

    def wipe_tag(self, tag: str, confirmation: str) -> TagWipe:
        """*Blocking.* Order a wipe of every device `tag` reaches, once `confirmation` is the tag
        or their number; see the module docstring."""
        clean = self._tag(tag)
        reached = self.tagged(clean)
        if not reached:
            raise CoordinatorError("no_devices")
        typed = " ".join(str(confirmation).split())
        if typed != clean and typed != str(len(reached)):
            raise CoordinatorError("wipe_not_confirmed")
        ordered: list[str] = []
        failed: list[tuple[str, str]] = []
        for device in reached:
            try:
                self._order_wipe(device.id)
            except Exception as exc:  # one refusal must not stop the others' wipes
                failed.append((device.id, str(getattr(exc, "reason", "") or type(exc).__name__)))
            else:
                ordered.append(device.id)
        return TagWipe(clean, tuple(ordered), tuple(failed))
