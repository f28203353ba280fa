"""A slow link that drops: attachments still arrive, and a cut costs seconds, not the file.

The device and a coordinator talk to the real server through the fault proxy acting as a bad
mobile link (`SlowLink`: a fixed rate each way, every open connection cut at a fixed interval).
The device syncs round after round until its attachment is on the server; the coordinator then
downloads it through the same link. Both must get there sending (or receiving) at most 1.25
times the attachment's size, which is what `docs/sync.md` promises for chunks sized to the link
and downloads resumed with a byte range.

This is the promise of the slow-link benchmark (`bench/slowlink.py`: 8 MiB at 200 KiB/s cut
every 15 s, 2 MiB at 64 KiB/s cut every 30 s) in less time: a faster link, cuts every few
seconds, and a pacer aiming at a quarter-second chunk instead of two seconds, so the ratio of
chunk time to time between cuts is the same as the benchmark's. FIELDVAULT_RELIABILITY=full
sends a larger attachment through more cuts.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.records import Kind, Record
from sync import coordinator
from sync.client import Client
from sync.device import DeviceIdentity
from sync.engine import SyncEngine
from sync.errors import SyncError
from sync.outbox import pending_blobs, queue_record
from sync.pacing import ChunkPacer
from tests.integration.conftest import Org, running_org
from tests.reliability.profile import pick
from tests.support.fault_proxy import FaultProxy, SlowLink

pytestmark = [pytest.mark.slow, pytest.mark.timeout(pick(180, 600))]

KIB = 1024
RATE = 256 * KIB
CUT_EVERY_S = 2.0
ATTACHMENT_BYTES = pick(1536 * KIB, 4096 * KIB)
BOUND = 1.25
MAX_ROUNDS = 100


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    with running_org(tmp_path) as value:
        yield value


def _upstream(org: Org) -> tuple[str, int]:
    host, port = org.server.url.removeprefix("http://").split(":")
    return host, int(port)


def _through(proxy: FaultProxy) -> Callable[[DeviceIdentity], Client]:
    def factory(identity: DeviceIdentity) -> Client:
        return Client(proxy.url, signing_key=identity.signing_key)

    return factory


def test_an_attachment_crosses_a_link_that_drops_at_no_more_than_a_quarter_extra(
    org: Org,
) -> None:
    device = org.new_device()  # enrolled directly; only the attachment takes the bad link
    data = os.urandom(ATTACHMENT_BYTES)
    stored = device.attach(io.BytesIO(data), media_type="video/mp4", name="v.mp4")
    queue_record(
        device, Record(kind=Kind.INCIDENT, data={"title": "t", "attachments": [stored.to_dict()]})
    )
    (blob,) = pending_blobs(device)
    with FaultProxy(_upstream(org), link=SlowLink(rate=RATE, cut_every=CUT_EVERY_S)) as proxy:
        pacer = ChunkPacer(first=64 * KIB, smallest=16 * KIB, target_seconds=0.25)
        engine = SyncEngine(device, client_factory=_through(proxy), pacer=pacer)
        for _ in range(MAX_ROUNDS):
            if not pending_blobs(device):
                break
            try:
                engine.run_once()
            except SyncError as exc:
                assert exc.retryable, exc
                time.sleep(0.1)
        sent, _ = proxy.counters()
        cuts = proxy.cuts
    assert not pending_blobs(device), "the attachment never got through"
    assert cuts >= 2, "the link was never cut while the upload ran: nothing was tested"
    assert sent <= BOUND * ATTACHMENT_BYTES, (sent, ATTACHMENT_BYTES, cuts)

    identity = coordinator.load_identity(org.coordinator)
    with FaultProxy(_upstream(org), link=SlowLink(rate=RATE, cut_every=CUT_EVERY_S)) as proxy:
        with Client(proxy.url, signing_key=identity.signing_key) as client:
            digest, length = hashlib.sha256(), 0
            for piece in client.blob_chunks(blob.id):
                digest.update(piece)
                length += len(piece)
        _, received = proxy.counters()
        cuts = proxy.cuts
    assert (digest.hexdigest(), length) == (blob.data["sha256"], blob.data["size"])
    assert cuts >= 2, "the link was never cut while the download ran: nothing was tested"
    assert received <= BOUND * ATTACHMENT_BYTES, (received, ATTACHMENT_BYTES, cuts)
