"""What a case says about how its envelopes were sealed: classic X25519 or post-quantum."""

from __future__ import annotations

from app.casebook.cases import Custody, recipient_types
from core.crypto.signing import SigningKey
from sync import age
from sync import envelope as env


def _revision(recipients: list[str]) -> dict:
    sealed = env.seal(
        b'{"t":"incident"}',
        signer=SigningKey.generate(),
        recipients=recipients,
        seq=1,
        prev=env.ZERO_HASH,
        kind="report",
        now=1_763_700_000,
    )
    return {"envelope_id": sealed.id, "wire": env.to_wire(sealed)}


def test_the_stanza_types_of_a_stored_revision_are_read_without_opening_it() -> None:
    hybrid = [age.generate_identity(pq=True)[1] for _ in range(2)]
    assert recipient_types(_revision(hybrid)) == ("mlkem768x25519", "mlkem768x25519")
    assert recipient_types(_revision([age.generate_identity()[1]])) == ("X25519",)


def test_a_revision_without_a_readable_envelope_has_no_stanza_types() -> None:
    assert recipient_types({}) == ()
    assert recipient_types({"wire": {"payload": "not base64!"}}) == ()
    assert recipient_types({"wire": {"payload": "AAAA"}}) == ()  # not an age header


def test_custody_is_post_quantum_only_when_every_stanza_is() -> None:
    def custody(*recipients: str) -> Custody:
        return Custody("valid", "ok", (), recipients)

    assert custody("mlkem768x25519").post_quantum
    assert not custody("X25519").post_quantum
    assert not custody("X25519", "mlkem768x25519").post_quantum
    assert not custody().post_quantum
