"""The demo's invented incidents and its generated photo.

Every incident is fiction written for the demo, marked as such in its own language, with
pseudonyms for people and no real places smaller than a region. They follow the default incident
form (`assets/forms/default.json`): answers keyed by field id.

Use `INCIDENTS` (each with `lang` and `answers`) and `demo_photo()` (PNG bytes drawn here, with
no camera metadata to strip).
"""

from __future__ import annotations

import io
from typing import Any

DEMO_MARK = {
    "en": "[DEMO: invented for demonstration]",
    "ru": "[ДЕМО: вымышленный случай]",
    "ky": "[ДЕМО: ойдон чыгарылган окуя]",
    "kk": "[ДЕМО: ойдан шығарылған оқиға]",
}

_ALL_CONSENT = {"share_org": True, "statistics": True, "advocacy": False}

INCIDENTS: tuple[dict[str, Any], ...] = (
    {
        "lang": "ru",
        "photo": True,
        "answers": {
            "occurred_at": "2026-10-03T21:30",
            "region": "kg.bishkek",
            "place_type": "rented_flat",
            "violation_types": ["entrapment", "detention", "extortion", "outing_threat"],
            "description": DEMO_MARK["ru"]
            + " Знакомство через приложение для свиданий. На встрече «собеседника» ждали двое"
            " в штатском, представились сотрудниками милиции, отвезли в отделение и требовали"
            " деньги, угрожая сообщить родным и на работу.",
            "perpetrator_types": ["police"],
            "perpetrator_details": "двое в штатском, один называл себя «капитан»",
            "victims": "Клиент-Б",
            "victim_count": 1,
            "harm_types": ["financial", "psychological"],
            "extortion_amount": 50000,
            "extortion_currency": "KGS",
            "extortion_paid": True,
            "complaint_filed": False,
            "no_complaint_reason": "fear_exposure",
            "needs": ["legal", "psychological"],
            "urgent": True,
            "consent": _ALL_CONSENT,
        },
    },
    {
        "lang": "ky",
        "photo": False,
        "answers": {
            "occurred_at": "2026-10-11T14:00",
            "region": "kg.osh",
            "place_type": "home",
            "violation_types": ["family_violence", "threat"],
            "description": DEMO_MARK["ky"]
            + " Үй-бүлөсү анын жашоосу тууралуу билип калгандан кийин, агасы коркутуп,"
            " телефонун тартып алган. Ал азыр досунун үйүндө убактылуу жашап жатат.",
            "perpetrator_types": ["family"],
            "victims": "Айдай (лакап аты)",
            "victim_count": 1,
            "harm_types": ["psychological", "job_housing"],
            "complaint_filed": False,
            "no_complaint_reason": "fear_reprisal",
            "needs": ["shelter", "psychological"],
            "urgent": True,
            "consent": _ALL_CONSENT,
        },
    },
    {
        "lang": "kk",
        "photo": False,
        "answers": {
            "occurred_at": "2026-09-27T19:00",
            "region": "kz.almaty_city",
            "place_type": "meeting_venue",
            "violation_types": ["raid", "threat"],
            "description": DEMO_MARK["kk"]
            + " Жабық кездесуге бір топ адам кіріп, қатысушыларды суретке түсіріп,"
            " әлеуметтік желіде жариялаймыз деп қорқытты. Кейін залдың иесі келісімшартты"
            " бұзды.",
            "perpetrator_types": ["organised_group"],
            "perpetrator_details": "шамамен он адам",
            "victims": "Қатысушылар (12 адам)",
            "victim_count": 12,
            "witnesses": "Ұйымдастырушы-1",
            "harm_types": ["psychological", "exposure"],
            "complaint_filed": True,
            "complaint_outcome": "refused",
            "needs": ["legal"],
            "urgent": False,
            "consent": {"share_org": True, "statistics": True, "advocacy": True},
        },
    },
    {
        "lang": "en",
        "photo": False,
        "answers": {
            "occurred_at": "2026-10-15T09:15",
            "region": "kz.shymkent",
            "place_type": "workplace",
            "violation_types": ["dismissal", "online_harassment"],
            "description": DEMO_MARK["en"]
            + " After an anonymous account posted her photo with insults, her employer"
            " dismissed her the next morning without written reasons.",
            "perpetrator_types": ["employer", "unknown"],
            "victims": "Activist-K",
            "victim_count": 1,
            "harm_types": ["job_housing", "psychological"],
            "complaint_filed": True,
            "complaint_outcome": "pending",
            "needs": ["legal"],
            "urgent": False,
            "consent": _ALL_CONSENT,
        },
    },
    {
        "lang": "ru",
        "photo": False,
        "answers": {
            "occurred_at": "2026-10-19T23:40",
            "region": "kg.chuy",
            "place_type": "street",
            "violation_types": ["beating"],
            "description": DEMO_MARK["ru"]
            + " Избит группой незнакомцев у остановки после выхода из кафе; обращался"
            " в травмпункт, справка на руках.",
            "perpetrator_types": ["individual"],
            "victims": "Клиент-Д",
            "victim_count": 1,
            "harm_types": ["physical"],
            "complaint_filed": False,
            "no_complaint_reason": "no_trust",
            "needs": ["medical", "legal"],
            "urgent": False,
            "consent": _ALL_CONSENT,
        },
    },
)


def demo_photo(size: tuple[int, int] = (480, 320)) -> bytes:
    """A small PNG drawn here: a street sign and the word DEMO, nothing from a camera."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, (196, 205, 214))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle((0, int(h * 0.7), w, h), fill=(92, 96, 104))
    draw.rectangle((int(w * 0.1), int(h * 0.2), int(w * 0.45), int(h * 0.45)), fill=(30, 90, 160))
    draw.line(
        (int(w * 0.27), int(h * 0.45), int(w * 0.27), int(h * 0.7)), fill=(60, 60, 60), width=6
    )
    draw.text((int(w * 0.6), int(h * 0.3)), "DEMO", fill=(160, 20, 20))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
