"""What the vault holds after the duress passphrase: an app that looks used, not a fresh one.

Use `decoy(lang, now=..., rng=...)`: a `Decoy` with a harmless organisation name (a club, a
course), three to five short private notes of the kind anyone keeps, dated over the last weeks,
a last sync a few days ago, and the settings an owner would have changed. The service writes it
into the new vault the duress passphrase opened, with the ordinary record kinds (app settings,
notes, sync state): nothing in it says "decoy", and no file outside the vault says anything.

Why generated and not written by the owner at setup: the real vault, where such notes could be
kept, is destroyed before the duress vault exists, and keeping them anywhere else would need
either a second key derivation on every unlock (doubling its time) or a file that a look at the
phone would find. Each duress unlock draws a new selection, so two phones do not show the same
decoy.

Danger: the phrases are in this source file. An examiner who has read it, and who decodes the
vault with the duress passphrase, can recognise them; the decoy is made to survive a look at
the screen, not a comparison with the source code. Likewise an examiner who decodes the journal
sees every decoy record written in one entry at the moment of the duress unlock (the screen
shows each note's own past date). Notes the owner adds afterwards make it their own.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

DAY = 86_400.0

ORGS: dict[str, Sequence[str]] = {
    "en": (
        "Riverside Chess Club",
        "Sunday Hiking Group",
        "English Conversation Circle",
        "City Photo Club",
        "Neighbourhood Book Club",
    ),
    "ru": (
        "Шахматный клуб «Ладья»",
        "Клуб выходного дня «Тропа»",
        "Разговорный клуб английского",
        "Фотоклуб «Кадр»",
        "Книжный клуб «Полка»",
    ),
    "ky": (
        "«Ладья» шахмат клубу",
        "«Жол» саякат клубу",
        "Англис тили сүйлөшүү клубу",
        "«Кадр» фото клубу",
        "«Китеп» окурмандар клубу",
    ),
    "kk": (
        "«Ладья» шахмат клубы",
        "«Соқпақ» серуен клубы",
        "Ағылшын тілі сөйлесу клубы",
        "«Кадр» фотоклубы",
        "«Кітап» оқырмандар клубы",
    ),
}

NOTES: dict[str, Sequence[str]] = {
    "en": (
        "Buy bread, milk, eggs and tea",
        "Pay the internet bill before the {day}th",
        "Call grandmother on Sunday",
        "Club meeting on Thursday at {hour}:00, bring the board",
        "Pharmacy: vitamins and cough syrup",
        "Return the book to Aida",
        "Bus to the mountains leaves at {hour}:30",
        "Birthday present for my sister: scarf or book?",
    ),
    "ru": (
        "Купить хлеб, молоко, яйца и чай",
        "Оплатить интернет до {day} числа",
        "Позвонить бабушке в воскресенье",
        "Встреча клуба в четверг в {hour}:00, взять доску",
        "Аптека: витамины и сироп от кашля",
        "Вернуть книгу Аиде",
        "Автобус в горы в {hour}:30",
        "Подарок сестре на день рождения: шарф или книга?",
    ),
    "ky": (
        "Нан, сүт, жумуртка жана чай сатып алуу",
        "Интернет үчүн {day}-күнгө чейин төлөө",
        "Жекшембиде чоң апама чалуу",
        "Бейшембиде саат {hour}:00дө клубдун жолугушуусу, тактаны алуу",
        "Дарыкана: витаминдер жана жөтөл сиропу",
        "Китепти Айдага кайтаруу",
        "Тоого автобус саат {hour}:30да",
        "Эжеме туулган күнүнө белек: шарф же китеппи?",
    ),
    "kk": (
        "Нан, сүт, жұмыртқа және шай сатып алу",
        "Интернет үшін {day}-күнге дейін төлеу",
        "Жексенбіде әжеме қоңырау шалу",
        "Бейсенбіде сағат {hour}:00-де клуб кездесуі, тақтаны алу",
        "Дәріхана: витаминдер және жөтел сиробы",
        "Кітапты Айдаға қайтару",
        "Тауға автобус сағат {hour}:30-да",
        "Әпкеме туған күніне сыйлық: шарф па, кітап па?",
    ),
}
AUTO_LOCK_CHOICES = (60, 120, 300)


@dataclasses.dataclass(frozen=True)
class Decoy:
    language: str
    org_name: str
    notes: tuple[tuple[str, float], ...]  # (text, created_at), oldest first
    last_sync: int
    auto_lock_seconds: int


def decoy(lang: str, *, now: float, rng: random.Random | None = None) -> Decoy:
    """A fresh, plausible selection in `lang` (Russian when the language is not known)."""
    rng = rng or random.SystemRandom()
    lang = lang if lang in NOTES else "ru"
    count = rng.randint(3, 5)
    ages = sorted((rng.uniform(2, 40) * DAY for _ in range(count)), reverse=True)
    texts = rng.sample(list(NOTES[lang]), count)
    notes = tuple(
        (text.format(day=rng.choice((5, 10, 15, 20, 25)), hour=rng.randint(9, 19)), now - age)
        for text, age in zip(texts, ages, strict=True)
    )
    return Decoy(
        language=lang,
        org_name=rng.choice(list(ORGS[lang])),
        notes=notes,
        last_sync=int(now - rng.uniform(1, 6) * DAY),
        auto_lock_seconds=rng.choice(AUTO_LOCK_CHOICES),
    )
