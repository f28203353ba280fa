"""The incident form's victim field: what is typed becomes the organisation's pseudonym before
anything is kept, autosaved drafts included (the in-memory phone service, no page)."""

from __future__ import annotations

from app.field.incident_form import IncidentFormScreen
from core import links
from tests.app.field.test_views import change, click, find, texts, unlocked

NUMBER = "+996 555 834 217"


def test_a_victims_number_typed_in_the_form_is_kept_only_as_its_pseudonym() -> None:
    ctx = unlocked("ru")
    key = ctx.service.victim_key  # type: ignore[attr-defined]
    screen = IncidentFormScreen(ctx)
    body = screen.build().body
    assert "хранится только как псевдоним" in texts(body)
    change(find(screen.fields_column, "input-victim_ref"), NUMBER)
    screen.drafts.flush()
    [draft] = ctx.service.list_drafts("incident")
    assert draft.content["answers"]["victim_ref"] == links.victim_pseudonym(NUMBER, key)
    click(find(body, "form-draft"))
    [saved] = ctx.service.list_incidents()
    answers = ctx.service.get_incident(saved.id).answers
    assert answers["victim_ref"] == links.victim_pseudonym("0555834217", key)
    assert "555" not in str(answers)


def test_reopening_shows_the_pseudonym_and_keeps_it_unless_something_new_is_typed() -> None:
    ctx = unlocked("ky")
    key = ctx.service.victim_key  # type: ignore[attr-defined]
    incident = ctx.service.save_incident(None, {"victim_ref": NUMBER}, submit=False)
    screen = IncidentFormScreen(ctx, incident)
    screen.build()
    field = find(screen.fields_column, "input-victim_ref")
    short = links.short_pseudonym(links.victim_pseudonym(NUMBER, key))
    assert field.value == "" and short in field.helper
    change(field, "")
    assert screen.answers["victim_ref"] == links.victim_pseudonym(NUMBER, key)
    change(field, "Айбек")
    assert screen.answers["victim_ref"] == "Айбек"  # hashed by the service when saved


def test_without_the_organisations_key_the_draft_leaves_the_number_out() -> None:
    ctx = unlocked("en")
    ctx.service.victim_key = None  # type: ignore[attr-defined]
    screen = IncidentFormScreen(ctx)
    body = screen.build().body
    change(find(screen.fields_column, "input-victim_ref"), NUMBER)
    screen.drafts.flush()
    assert all("victim_ref" not in d.content["answers"] for d in ctx.service.list_drafts())
    click(find(body, "form-draft"))
    assert ctx.service.list_incidents() == []
    assert "cannot make a pseudonym" in texts(body)
