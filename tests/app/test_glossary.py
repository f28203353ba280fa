"""The translators' glossary (docs/glossary.md) is enforced: no known wrong variant of a glossary
term appears in any catalogue or form definition. The rules are read from the glossary itself, so
the reference and the test cannot drift apart."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.i18n import ASSETS, I18N_DIR

REPO = Path(__file__).resolve().parents[2]
GLOSSARY = REPO / "docs" / "glossary.md"
FORMS_DIR = ASSETS / "forms"
CHECKED_LANGUAGES = ("ru", "ky", "kk")
SCOPES = {"everywhere", "catalogues", "forms"}
QUOTED = re.compile(r"«([^»]+)»")


@dataclass(frozen=True)
class Rule:
    concept: str
    lang: str
    wrong: tuple[str, ...]
    use: tuple[str, ...]
    where: tuple[str, ...]

    def applies_to(self, source: str, place: str) -> bool:
        for token in self.where:
            if token == "everywhere" or token == source:
                return True
            if place == token or place.startswith((token + "/", token + "#")):
                return True
        return False


@dataclass(frozen=True)
class Text:
    source: str  # "catalogues" or "forms"
    lang: str
    place: str  # a catalogue key, or "<form id>/<section>/<field>/<option>" (+ "#help")
    file: str
    text: str


def pattern(variant: str) -> re.Pattern[str]:
    """A trailing hyphen marks a stem (matches the start of a word), otherwise a whole word."""
    if variant.endswith("-"):
        return re.compile(r"(?<!\w)" + re.escape(variant[:-1]), re.IGNORECASE)
    return re.compile(r"(?<!\w)" + re.escape(variant) + r"(?!\w)", re.IGNORECASE)


def table(section: str) -> list[list[str]]:
    """The rows of the first Markdown table under `## <section>`, without header and rule."""
    lines = GLOSSARY.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"## {section}")
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert len(rows) > 2, f"no table under '## {section}'"
    return rows[2:]


def terms() -> dict[str, dict[str, str]]:
    return {row[0]: dict(zip(("ru", "ky", "kk"), row[1:4], strict=True)) for row in table("Terms")}


def rules() -> list[Rule]:
    parsed = []
    for concept, lang, wrong, use, where, _why in table("Wrong variants"):
        tokens = re.findall(r"`([^`]+)`", where) or [where.strip().lower()]
        wrong_variants, right_terms = QUOTED.findall(wrong), QUOTED.findall(use)
        parsed.append(Rule(concept, lang, tuple(wrong_variants), tuple(right_terms), tuple(tokens)))
    return parsed


def catalogue_texts() -> Iterator[Text]:
    for path in sorted(I18N_DIR.glob("*/*.json")):
        lang = path.stem
        for key, text in json.loads(path.read_text(encoding="utf-8")).items():
            yield Text("catalogues", lang, key, str(path.relative_to(REPO)), text)


def form_texts() -> Iterator[Text]:
    for path in sorted(FORMS_DIR.glob("*.json")):
        form = json.loads(path.read_text(encoding="utf-8"))
        yield from _walk(form, form["id"], str(path.relative_to(REPO)))


def _walk(node: dict, place: str, file: str) -> Iterator[Text]:
    for kind in ("label", "help"):
        texts = node.get(kind)
        if isinstance(texts, dict):
            suffix = "#help" if kind == "help" else ""
            for lang, text in texts.items():
                yield Text("forms", lang, place + suffix, file, text)
    for child_list in ("sections", "fields", "options"):
        for child in node.get(child_list, ()):
            yield from _walk(child, f"{place}/{child.get('id', child.get('value'))}", file)


def all_texts() -> list[Text]:
    return [*catalogue_texts(), *form_texts()]


def offences(rule: Rule, texts: list[Text]) -> list[str]:
    found = []
    for item in texts:
        if item.lang != rule.lang or not rule.applies_to(item.source, item.place):
            continue
        text = item.text
        for allowed in rule.use:
            text = pattern(allowed if allowed.endswith("-") else allowed + "-").sub(
                lambda m: "\0" * len(m.group()), text
            )
        for variant in rule.wrong:
            if pattern(variant).search(text):
                found.append(f"{item.file} {item.place}: «{variant}» in {item.text!r}")
    return found


RULES = rules()


def test_the_glossary_gives_a_term_in_every_language_for_every_concept() -> None:
    glossary = terms()
    assert len(glossary) >= 25
    for concept, words in glossary.items():
        assert all(words.values()), f"{concept} lacks a term: {words}"


def test_every_wrong_variant_belongs_to_a_glossary_concept_and_says_where_it_applies() -> None:
    glossary = terms()
    assert len(RULES) >= 40
    for rule in RULES:
        assert rule.concept in glossary, f"'{rule.concept}' is not in the Terms table"
        assert rule.lang in CHECKED_LANGUAGES, rule
        assert rule.wrong and rule.use and rule.where, rule


def test_every_catalogue_key_or_form_place_the_glossary_names_exists() -> None:
    places = {item.place.split("#")[0] for item in all_texts()}
    named = {token for rule in RULES for token in rule.where if token not in SCOPES}
    assert named
    assert not sorted(named - places)


def test_the_checker_finds_a_wrong_variant_and_spares_the_right_term_that_contains_it() -> None:
    rule = Rule("perpetrator", "ky", ("күнөөкөр-", "бузуучу-"), ("укук бузуучу",), ("everywhere",))
    sample = [
        Text("catalogues", "ky", "a", "x.json", "Укук бузуучулар жөнүндө маалымат"),
        Text("catalogues", "ky", "b", "x.json", "Күнөөкөрлөр жөнүндө"),
        Text("catalogues", "ky", "c", "x.json", "Бузуучулар боюнча"),
        Text("catalogues", "kk", "d", "x.json", "Күнөөкөрлөр"),
    ]
    assert [line.split(":")[0] for line in offences(rule, sample)] == ["x.json b", "x.json c"]
    whole_word = Rule("fingerprint", "kk", ("іздері",), ("ізі",), ("everywhere",))
    assert not offences(whole_word, [Text("forms", "kk", "f", "y.json", "іздерінде")])


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.lang}-{r.concept}-{r.wrong[0]}")
def test_no_known_wrong_variant_of_a_glossary_term_appears_in_any_catalogue_or_form(
    rule: Rule,
) -> None:
    assert not offences(rule, all_texts())
