"""An encrypted export, opened: what it is (judged by its bytes) and the name to save it under.

Use `opened(name, plaintext)` on what `identity.open_export` returned: `kind` is `bundle`
(an evidence bundle: a ZIP with `manifest.json`), `uwazi` (a ZIP with `import.csv`), `zip`,
`pdf`, `csv` (UTF-8 text) or `other`; `name` drops the `.age` suffix and gains the extension the
content calls for when it has none.

Danger: the opened bytes are in clear. Whoever saves them should keep them off shared and
synced folders and delete them when done (the coordinator app says so where it saves).
"""

from __future__ import annotations

import dataclasses
import io
import zipfile

AGE_SUFFIX = ".age"
EXTENSIONS = {"bundle": ".zip", "uwazi": ".zip", "zip": ".zip", "pdf": ".pdf", "csv": ".csv"}
TEXT_SNIFF = 4096


@dataclasses.dataclass(frozen=True)
class OpenedExport:
    name: str
    kind: str
    data: bytes = dataclasses.field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


def kind_of(data: bytes) -> str:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError):
            return "other"
        if "manifest.json" in names and "manifest.sig" in names:
            return "bundle"
        if "import.csv" in names:
            return "uwazi"
        return "zip"
    try:
        data[:TEXT_SNIFF].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < TEXT_SNIFF - 4:  # not just a character cut at the sniff's end
            return "other"
    return "csv" if b"\x00" not in data[:TEXT_SNIFF] else "other"


def opened(name: str, data: bytes) -> OpenedExport:
    kind = kind_of(data)
    base = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] or "export"
    if base.lower().endswith(AGE_SUFFIX) and len(base) > len(AGE_SUFFIX):
        base = base[: -len(AGE_SUFFIX)]
    extension = EXTENSIONS.get(kind, "")
    if extension and not base.lower().endswith(extension):
        base += extension
    return OpenedExport(base, kind, data)
