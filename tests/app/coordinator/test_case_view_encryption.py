"""The case view says, under custody, whether the case's envelopes were sealed post-quantum."""

from __future__ import annotations

from app.coordinator.case_view import CaseView
from core.crypto.signing import SigningKey
from sync import age
from sync import envelope as env
from tests.app.coordinator.test_views import ctx_for, texts, world

__all__ = ["world"]  # the fixture, shared with the other view tests


def _custody_with_envelopes_sealed_to(world, cid: str, recipients: list[str]) -> str:
    sealed = env.seal(
        b"{}",
        signer=SigningKey.generate(),
        recipients=recipients,
        seq=1,
        prev=env.ZERO_HASH,
        kind="report",
        now=1_763_700_000,
    )
    for revision in world.service.index().raw(cid)["revisions"]:
        revision["wire"] = env.to_wire(sealed)
    world.service._invalidate()
    view = CaseView(ctx_for(world.service, "en"), cid)
    view.load()
    return texts(view.custody)


def test_the_case_view_says_how_the_case_was_encrypted(world) -> None:
    cid = world.case_ids[0]
    view = CaseView(ctx_for(world.service, "en"), cid)
    view.load()
    assert "Encrypted" not in texts(view.custody)  # the fake's stand-in is no age file

    shown = _custody_with_envelopes_sealed_to(world, cid, [age.generate_identity(pq=True)[1]])
    assert "Encrypted to post-quantum keys (mlkem768x25519)" in shown

    shown = _custody_with_envelopes_sealed_to(world, cid, [age.generate_identity()[1]])
    assert "Encrypted to classic keys (X25519), not post-quantum" in shown
