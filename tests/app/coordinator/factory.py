"""Realistic coordinator vault data for tests: case records with genuinely signed envelopes."""

from __future__ import annotations

from typing import Any

from core.crypto.hashing import sha256_hex
from core.crypto.random import random_bytes
from core.crypto.signing import SigningKey
from core.forms import FormDefinition, parse_form
from core.records import Kind, Record
from sync import envelope as env
from sync.keys import key_id

FORM_RAW: dict[str, Any] = {
    "id": "incident",
    "version": 1,
    "label": {"en": "Incident", "ru": "Инцидент"},
    "title_field": "violation_types",
    "sections": [
        {
            "id": "what",
            "label": {"en": "What happened", "ru": "Что произошло", "kk": "Не болды"},
            "fields": [
                {"id": "occurred_at", "type": "date", "label": {"en": "Date", "ru": "Дата"}},
                {
                    "id": "region",
                    "type": "region",
                    "label": {"en": "Region", "ru": "Регион"},
                    "options": [
                        {"value": "bishkek", "label": {"en": "Bishkek", "ru": "Бишкек"}},
                        {"value": "osh", "label": {"en": "Osh", "ru": "Ош"}},
                        {"value": "almaty", "label": {"en": "Almaty", "ru": "Алматы"}},
                    ],
                },
                {
                    "id": "violation_types",
                    "type": "multi_choice",
                    "label": {"en": "Violation", "ru": "Нарушение", "kk": "Бұзушылық"},
                    "options": [
                        {"value": "beating", "label": {"en": "Beating", "ru": "Избиение"}},
                        {
                            "value": "extortion",
                            "label": {"en": "Extortion", "ru": "Вымогательство"},
                        },
                        {"value": "outing", "label": {"en": "Outing", "ru": "Аутинг"}},
                    ],
                },
                {
                    "id": "perpetrator_types",
                    "type": "multi_choice",
                    "label": {"en": "Perpetrator", "ru": "Исполнитель"},
                    "options": [
                        {"value": "police", "label": {"en": "Police", "ru": "Полиция"}},
                        {"value": "family", "label": {"en": "Family", "ru": "Семья"}},
                    ],
                },
                {
                    "id": "description",
                    "type": "long_text",
                    "label": {"en": "Description", "ru": "Описание", "kk": "Сипаттама"},
                },
                {
                    "id": "victim_name",
                    "type": "text",
                    "sensitive": True,
                    "label": {"en": "Victim name", "ru": "Имя пострадавшего"},
                },
                {"id": "photos", "type": "attachments", "label": {"en": "Photos"}},
            ],
        }
    ],
}


def form() -> FormDefinition:
    return parse_form(FORM_RAW)


class Device:
    """A field device that signs envelopes in a proper chain."""

    def __init__(self) -> None:
        self.key = SigningKey.generate()
        self.id = key_id(self.key.public_bytes())
        self.seq = 0
        self.prev = env.ZERO_HASH

    def envelope(self, now: int, kind: str = "report") -> env.Envelope:
        self.seq += 1
        e = env.sign_ciphertext(
            b"age-ciphertext-stand-in" + random_bytes(16),
            signer=self.key,
            seq=self.seq,
            prev=self.prev,
            kind=kind,
            now=now,
        )
        self.prev = env.envelope_hash(e)
        return e


def case_data(
    device: Device,
    answers: dict[str, Any],
    *,
    now: int = 1_760_000_000,
    case_id: str = "",
    blobs: list[dict[str, Any]] | None = None,
    revisions: int = 1,
) -> dict[str, Any]:
    cid = case_id or random_bytes(16).hex()
    revs = []
    for version in range(1, revisions + 1):
        e = device.envelope(now + version)
        record = {
            "kind": "incident",
            "id": cid,
            "data": {"form_id": "incident", "answers": answers},
            "status": "sent",
            "status_reason": "",
            "version": version,
            "created_at": now,
            "updated_at": now + version,
        }
        revs.append(
            {
                "envelope_id": e.id,
                "seq": e.seq,
                "created": now + version,
                "received_at": now + version + 5,
                "version": version,
                "record": record,
                "blobs": blobs or [],
                "wire": env.to_wire(e),
            }
        )
    return {
        "case_id": cid,
        "type": "incident",
        "author": device.id,
        "revisions": revs,
        "latest": revs[-1]["record"]["data"],
        "custody": {"signature": "valid", "chain": "ok", "problems": []},
    }


def case_record(data: dict[str, Any]) -> Record:
    return Record(kind=Kind.CASE, data=data, id=data["case_id"], status="local")


def event_record(case_id: str, author: str, created: int, event: dict[str, Any]) -> Record:
    eid = sha256_hex(f"{case_id}{author}{created}{event}".encode())[:32]
    return Record(
        kind=Kind.CASE_EVENT,
        id=eid,
        status="local",
        data={
            "case_id": case_id,
            "author": author,
            "created": created,
            "seq": 1,
            "envelope_id": eid,
            "event": event,
        },
    )


SAMPLE_ANSWERS = [
    {
        "occurred_at": "2025-03-04",
        "region": "bishkek",
        "violation_types": ["beating", "extortion"],
        "perpetrator_types": ["police"],
        "description": "Задержали у кафе, требовали деньги. Қорқытты.",
        "victim_name": "Айбек",
    },
    {
        "occurred_at": "2025-04-10",
        "region": "osh",
        "violation_types": ["outing"],
        "perpetrator_types": ["family"],
        "description": "ҮЙ-бүлөсү коркутту",
        "victim_name": "Ёлка",
    },
    {
        "occurred_at": "2025-04-22",
        "region": "bishkek",
        "violation_types": ["beating"],
        "perpetrator_types": ["police", "family"],
        "description": "Beaten at the station",
    },
]
