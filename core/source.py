"""A captured source (a hateful post, an article, an official statement): its hash and its time.

Use `stamp(form, answers, now)` when a report is finished, before it is validated and sealed.
Where the form has the source fields (`SOURCE_FIELDS`, the default form's "Source capture"
section), it sets `source_sha256` to the SHA-256 of the pasted text (UTF-8, exactly as pasted),
always recomputed so a typed or stale value never stands, and fills `source_captured_at` with
the phone's local time when something was captured and the documenter left the time empty.
Each screenshot's SHA-256 is not copied here: it travels signed with the attachment
(`sync.payload.BlobRef`) and the evidence bundle checks it.

Pure: no I/O, `now` is a parameter. Danger: the pasted text may quote what identifies a victim;
it is an answer like any other and is encrypted with the report.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from core.crypto.hashing import sha256_hex
from core.forms import FormDefinition

LINK = "source_link"
TEXT = "source_text"
SCREENSHOTS = "source_screenshots"
SHA256 = "source_sha256"
CAPTURED_AT = "source_captured_at"
SOURCE_FIELDS = (LINK, TEXT, SCREENSHOTS, SHA256, CAPTURED_AT)


def text_digest(text: str) -> str:
    """The SHA-256 (hex) of pasted text as UTF-8 bytes, so anyone can check it again."""
    return sha256_hex(text.encode("utf-8"))


def stamp(form: FormDefinition, answers: Mapping[str, Any], now: float) -> dict[str, Any]:
    """A copy of `answers` with the source's hash and capture time filled in (see above)."""
    ids = {field.id for field in form.fields}
    out = dict(answers)
    text = answers.get(TEXT)
    if SHA256 in ids:
        if isinstance(text, str) and text.strip():
            out[SHA256] = text_digest(text)
        else:
            out.pop(SHA256, None)
    captured = any(answers.get(name) for name in (LINK, TEXT, SCREENSHOTS))
    if CAPTURED_AT in ids and captured and not answers.get(CAPTURED_AT):
        out[CAPTURED_AT] = time.strftime("%Y-%m-%dT%H:%M", time.localtime(now))
    return out
