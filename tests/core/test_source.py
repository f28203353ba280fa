"""A captured source's hash and capture time (`core.source`)."""

from __future__ import annotations

import hashlib
import time

from app.services.field_api import default_form
from core import source
from core.forms import parse_form

FORM = default_form()
NOW = 1_764_950_400.0


def test_the_pasted_text_is_hashed_as_utf8_whatever_was_typed_in_the_hash_field() -> None:
    text = "«Таких надо лечить» — официальное заявление"
    out = source.stamp(FORM, {"source_text": text, "source_sha256": "f" * 64}, NOW)
    assert out["source_sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_capture_time_is_the_phones_local_time_unless_given() -> None:
    out = source.stamp(FORM, {"source_link": "https://example.org/post/1"}, NOW)
    assert out["source_captured_at"] == time.strftime("%Y-%m-%dT%H:%M", time.localtime(NOW))
    kept = source.stamp(FORM, {"source_link": "x", "source_captured_at": "2025-01-02T03:04"}, NOW)
    assert kept["source_captured_at"] == "2025-01-02T03:04"


def test_nothing_is_added_without_a_source_or_under_a_form_without_the_section() -> None:
    assert source.stamp(FORM, {"description": "x"}, NOW) == {"description": "x"}
    bare = parse_form(
        {
            "id": "b",
            "version": 1,
            "label": {"en": "B"},
            "sections": [
                {
                    "id": "s",
                    "label": {"en": "S"},
                    "fields": [{"id": "source_text", "type": "long_text", "label": {"en": "T"}}],
                }
            ],
        }
    )
    assert source.stamp(bare, {"source_text": "t"}, NOW) == {"source_text": "t"}
