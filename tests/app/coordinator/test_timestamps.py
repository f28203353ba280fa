"""Independent timestamps end to end: a local `openssl ts` authority over HTTP stamps envelope
hashes, the tokens are kept with the cases, carried in evidence bundles and checked offline."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import zipfile

import pytest

from app.cli import main
from app.exports.bundle import build_bundle, verify_bundle
from app.services import timestamps as ts
from core.crypto import der, rfc3161
from core.crypto.signing import SigningKey
from storage.memory import MemoryVault
from sync import envelope as env
from tests.app.coordinator import factory
from tests.app.coordinator.local_tsa import Authority, make_authority, openssl_available, serve
from tests.conftest import require


@pytest.fixture(scope="module")
def authority(tmp_path_factory) -> Authority:
    require(openssl_available(), "openssl is not installed")
    return make_authority(tmp_path_factory.mktemp("tsa-a"), name="TSA A")


@pytest.fixture(scope="module")
def second_authority(tmp_path_factory) -> Authority:
    require(openssl_available(), "openssl is not installed")
    return make_authority(tmp_path_factory.mktemp("tsa-b"), name="TSA B", key="rsa")


class Cases:
    """A coordinator vault (in memory) holding genuinely signed cases from one device."""

    def __init__(self, count: int = 3) -> None:
        self.device = factory.Device()
        self.vault = MemoryVault()
        self.datas = [factory.case_data(self.device, a) for a in factory.SAMPLE_ANSWERS[:count]]
        self.vault.put_many([factory.case_record(d) for d in self.datas])

    def hashes(self) -> list[str]:
        return [
            env.envelope_hash(env.from_wire(rev["wire"]))
            for d in self.datas
            for rev in d["revisions"]
        ]

    def bundle(self, tokens: dict[str, list[bytes]]) -> bytes:
        return build_bundle(
            self.datas,
            author_keys={self.device.id: self.device.key.public_bytes()},
            signer=SigningKey.generate(),
            org="org",
            now=1_780_000_000,
            timestamps=tokens,
        )


def _imprint(query: bytes) -> bytes:
    imprint = der.parse(query).children()[1]
    return der.as_octets(imprint.children()[1])


def test_pending_envelopes_are_stamped_once_by_every_authority(authority, second_authority) -> None:
    cases = Cases()
    with serve(authority) as a, serve(second_authority) as b:
        ts.set_authorities(
            cases.vault, [ts.Authority(a.url, authority.ca_pem.decode()), ts.Authority(b.url)]
        )
        assert ts.unstamped(cases.vault) == 6
        report = ts.stamp_pending(cases.vault)
        assert (report.stamped, report.pending, report.failures) == (6, 0, ())
        assert len(a.requests) == len(b.requests) == 3
        again = ts.stamp_pending(cases.vault)
        assert (again.stamped, again.pending) == (0, 0) and len(a.requests) == 3
    kept = ts.tokens_by_hash(cases.vault)
    assert sorted(kept) == sorted(cases.hashes()) and all(len(t) == 2 for t in kept.values())
    for digest_hex, tokens in kept.items():
        for token in tokens:
            assert rfc3161.verify_token(token, bytes.fromhex(digest_hex)).digest.hex() == digest_hex


def test_only_the_envelope_hash_leaves_the_laptop(authority) -> None:
    cases = Cases(count=1)
    with serve(authority) as a:
        ts.set_authorities(cases.vault, [ts.Authority(a.url)])
        ts.stamp_pending(cases.vault)
    [query] = a.requests
    [digest_hex] = cases.hashes()
    assert _imprint(query) == bytes.fromhex(digest_hex)
    fields = der.parse(query).children()
    assert len(fields) == 4  # version, imprint, nonce, certReq: no policy, no extensions
    assert len(query) < 80
    data = cases.datas[0]
    for secret in (data["case_id"], cases.device.id, "Айбек", "bishkek"):
        assert secret.encode() not in query and secret.encode("utf-16-be") not in query


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsa"


def test_a_failing_authority_is_reported_and_the_others_still_stamp(authority) -> None:
    cases = Cases()
    with serve(authority) as good, serve(authority) as down, serve(authority) as junk:
        down.mode, junk.mode = "down", "garbage"
        dead = _closed_port_url()
        ts.set_authorities(
            cases.vault,
            [ts.Authority(u) for u in (good.url, down.url, junk.url, dead)],
        )
        report = ts.stamp_pending(cases.vault)
        assert report.stamped == 3 and report.pending == 9
        reasons = {(url, reason) for url, reason in report.failures}
        assert reasons == {
            (down.url, "tsa_refused"),
            (junk.url, "bad_response"),
            (dead, "tsa_unreachable"),
        }
        assert len(report.failures) == 3  # each failing authority is asked once this round
        assert len(down.requests) == len(junk.requests) == 1
        down.mode = junk.mode = "ok"
        ts.set_authorities(cases.vault, [ts.Authority(u) for u in (good.url, down.url, junk.url)])
        later = ts.stamp_pending(cases.vault)
        assert (later.stamped, later.pending, later.failures) == (6, 0, ())


def test_a_token_that_does_not_chain_to_the_configured_ca_is_not_kept(
    authority, second_authority
) -> None:
    cases = Cases(count=1)
    with serve(authority) as a:
        ts.set_authorities(cases.vault, [ts.Authority(a.url, second_authority.ca_pem.decode())])
        report = ts.stamp_pending(cases.vault)
    assert report.stamped == 0 and report.failures == ((a.url, "bad_response"),)
    assert ts.tokens_by_hash(cases.vault) == {}


def test_no_authority_configured_means_no_request(authority) -> None:
    cases = Cases()
    with serve(authority) as a:
        assert ts.stamp_pending(cases.vault) == ts.StampReport(0, 0, ())
    assert a.requests == []


@pytest.mark.parametrize("url", ["ftp://tsa.example", "tsa.example", "http://", ""])
def test_an_authority_must_be_an_http_url(url: str) -> None:
    with pytest.raises(ValueError):
        ts.check_authority(url)


def test_an_authority_ca_that_is_not_a_certificate_is_refused() -> None:
    with pytest.raises(ValueError):
        ts.check_authority("https://tsa.example/", "-----BEGIN CERTIFICATE-----\nnope\n")


def _stamped(cases: Cases, authority: Authority) -> dict[str, list[bytes]]:
    with serve(authority) as a:
        ts.set_authorities(cases.vault, [ts.Authority(a.url)])
        ts.stamp_pending(cases.vault)
    return ts.tokens_by_hash(cases.vault)


def test_a_bundle_carries_the_tokens_and_verifies_them_offline(
    authority, second_authority, tmp_path
) -> None:
    cases = Cases()
    bundle = cases.bundle(_stamped(cases, authority))
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        names = [n for n in zf.namelist() if n.startswith("timestamps/")]
        manifest = json.loads(zf.read("manifest.json"))
        report = zf.read("REPORT.txt").decode()
    assert len(names) == 3 and len(manifest["timestamps"]) == 3
    assert "independent timestamps: 3" in report and "CN=TSA A" in report
    verdict = verify_bundle(bundle)
    assert verdict.ok and len(verdict.timestamps) == 3
    assert not any(t.trusted for t in verdict.timestamps)
    trusted = verify_bundle(bundle, tsa_trusted=rfc3161.load_certificates(authority.ca_pem))
    assert trusted.ok and all(t.trusted for t in trusted.timestamps)
    assert "chains to a CA you gave" in trusted.report_text()
    other = verify_bundle(bundle, tsa_trusted=rfc3161.load_certificates(second_authority.ca_pem))
    assert not other.ok and other.codes() == {"timestamp_untrusted"}

    # a lawyer with only openssl can check a token against the envelope hash, too
    entry = manifest["timestamps"][0]
    wire = json.loads(
        zipfile.ZipFile(io.BytesIO(bundle)).read(f"envelopes/{entry['envelope']}.json")
    )
    digest = env.envelope_hash(env.from_wire(wire))
    assert entry["hash"] == digest  # listed in the signed manifest, for stock tools
    (tmp_path / "t.tsr").write_bytes(zipfile.ZipFile(io.BytesIO(bundle)).read(entry["file"]))
    (tmp_path / "ca.pem").write_bytes(authority.ca_pem)
    command = ["openssl", "ts", "-verify", "-token_in", "-in", str(tmp_path / "t.tsr")]
    checked = subprocess.run(
        [*command, "-digest", digest, "-CAfile", str(tmp_path / "ca.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Verification: OK" in checked.stdout


def test_a_tampered_token_in_a_bundle_is_refused_even_when_the_manifest_is_resigned(
    authority,
) -> None:
    cases = Cases()
    tokens = _stamped(cases, authority)
    victim = cases.hashes()[1]
    token = tokens[victim][0]
    tst = der.parse(token).children()[1].children()[0].children()[2].children()[1].children()[0]
    at = token.find(tst.value) + len(tst.value) - 30  # inside the stamped time and serial
    tokens[victim] = [token[:at] + bytes([token[at] ^ 0x04]) + token[at + 1 :]]
    verdict = verify_bundle(cases.bundle(tokens))
    assert not verdict.ok and verdict.codes() == {"timestamp_invalid"}
    assert len(verdict.timestamps) == 2
    assert "refused" in verdict.report_text()


def test_a_token_moved_to_another_envelope_is_a_mismatch(authority) -> None:
    cases = Cases()
    tokens = _stamped(cases, authority)
    first, second, _ = cases.hashes()
    tokens[first], tokens[second] = tokens[second], tokens[first]
    verdict = verify_bundle(cases.bundle(tokens))
    assert not verdict.ok and verdict.codes() == {"timestamp_mismatch"}
    assert [p.code for p in verdict.problems].count("timestamp_mismatch") == 2


def test_a_token_file_changed_after_export_is_caught_twice(authority) -> None:
    cases = Cases(count=1)
    bundle = cases.bundle(_stamped(cases, authority))
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    name = next(n for n in files if n.startswith("timestamps/"))
    files[name] = files[name][:-1] + bytes([files[name][-1] ^ 1])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n, content in files.items():
            zf.writestr(n, content)
    verdict = verify_bundle(out.getvalue())
    assert {"file_altered", "timestamp_invalid"} <= verdict.codes()


def run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["coordinator", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_command_line_configures_authorities_stamps_and_verifies(
    authority, tmp_path, capsys, monkeypatch
) -> None:
    from tests.app.coordinator.worlds import PASSPHRASE, RealWorld

    world = RealWorld(tmp_path)
    try:
        world.setup()
        device = world.enrol_device("phone")
        world.report(device, factory.SAMPLE_ANSWERS[0])
        world.report(device, factory.SAMPLE_ANSWERS[1])
        assert world.service.pull().cases == 2
        world.service.lock()
        monkeypatch.setenv("FIELDVAULT_PASSPHRASE", PASSPHRASE)
        data = ("--data", str(tmp_path / "coordinator"))
        ca_file = tmp_path / "tsa-ca.pem"
        ca_file.write_bytes(authority.ca_pem)
        assert run(capsys, "timestamp", *data) == (1, {"ok": False, "reason": "no_authorities"})
        code, bad = run(capsys, "tsa", "add", "ftp://nowhere", *data)
        assert (code, bad["reason"]) == (1, "invalid_authority")
        with serve(authority) as tsa:
            code, listed = run(capsys, "tsa", "add", tsa.url, "--ca", str(ca_file), *data)
            own = {"url": tsa.url, "ca": True, "org": False}
            assert code == 0 and listed["authorities"] == [own]
            code, done = run(capsys, "timestamp", *data)
            assert code == 0 and (done["stamped"], done["pending"]) == (2, 0)
            code, listed = run(capsys, "tsa", "add", tsa.url + "?org", "--org", *data)
            org = {"url": tsa.url + "?org", "ca": False, "org": True}
            assert code == 0 and listed["authorities"] == [org, own]
            code, done = run(capsys, "timestamp", *data)
            assert code == 0 and (done["stamped"], done["pending"]) == (2, 0)
            code, listed = run(capsys, "tsa", "remove", tsa.url + "?org", "--org", *data)
            assert code == 0 and listed["authorities"] == [own]
            assert run(capsys, "timestamp", *data)[1]["stamped"] == 0
            tsa.mode = "down"
            code, removed = run(capsys, "tsa", "remove", "https://not.listed", *data)
            assert (code, removed["reason"]) == (1, "not_found")
        bundle = tmp_path / "evidence.zip"
        code, _ = run(
            capsys, "export", "--format", "bundle", "--no-encrypt", "-o", str(bundle), *data
        )
        assert code == 0
        code, verdict = run(capsys, "verify-bundle", str(bundle), "--tsa-ca", str(ca_file))
        assert code == 0 and verdict["ok"] and len(verdict["timestamps"]) == 4
        assert all(t["tsa"] == "CN=TSA A" for t in verdict["timestamps"])
        assert sum(t["trusted"] for t in verdict["timestamps"]) == 4
        code, junk_ca = run(capsys, "verify-bundle", str(bundle), "--tsa-ca", str(bundle))
        assert (code, junk_ca["reason"]) == (1, "bad_tsa_ca")
        code, listed = run(capsys, "tsa", "remove", tsa.url, *data)
        assert code == 0 and listed["authorities"] == []
    finally:
        world.close()


def test_org_authorities_are_read_from_settings_and_bad_entries_are_skipped(authority) -> None:
    good = ts.check_authority("https://tsa.example.org/", authority.ca_pem.decode())
    settings = {
        ts.ORG_SETTING: [
            *ts.org_setting([good]),
            {"url": "ftp://nowhere"},
            {"url": "https://bad-ca.example.org/", "ca_pem": "not a certificate"},
            "junk",
        ]
    }
    assert ts.org_authorities(settings) == [good]
    assert ts.org_authorities({}) == [] and ts.org_authorities(None) == []
    assert ts.org_authorities({ts.ORG_SETTING: "https://x"}) == []
    with pytest.raises(ValueError):
        ts.org_setting([good, good])


def test_the_organisation_list_wins_over_the_same_url_on_this_laptop(authority) -> None:
    org = ts.check_authority("https://tsa.example.org/", authority.ca_pem.decode())
    own = [ts.Authority("https://tsa.example.org/"), ts.Authority("https://other.example.org/")]
    assert ts.combined(own, [org]) == [org, own[1]]


def test_every_coordinator_stamps_at_pull_with_the_authorities_the_organisation_published(
    authority, tmp_path
) -> None:
    from tests.app.coordinator.worlds import PASSPHRASE, RealWorld

    world = RealWorld(tmp_path)
    try:
        world.setup()
        first = world.service
        second = world.second_service(tmp_path)
        second.setup_join(
            passphrase=PASSPHRASE,
            server_url=first.info().server_url,
            backup=first.backup_root("a long backup passphrase"),
            backup_passphrase="a long backup passphrase",
            coordinator_name="Бек",
        )
        first.add_coordinator(second.join_request())
        device = world.enrol_device("phone")
        world.report(device, factory.SAMPLE_ANSWERS[0])
        with serve(authority) as tsa:
            first.publish_org_timestamp_authorities(
                [ts.Authority(tsa.url, authority.ca_pem.decode())]
            )
            assert second.timestamp_authorities() == []  # nothing configured on that laptop
            assert first.pull().stamped == 1  # the first one admits the phone and shares it
            summary = second.pull()
            assert (summary.cases, summary.stamped, summary.unstamped) == (1, 1, 0)
            assert second.org_timestamp_authorities()[0].url == tsa.url
            world.report(device, factory.SAMPLE_ANSWERS[1])
            tsa.mode = "down"
            assert first.pull().unstamped == 1
            late = second.pull()
            assert (late.cases, late.stamped, late.unstamped) == (1, 0, 1)
            assert any(tsa.url in problem for problem in late.problems)
            tsa.mode = "ok"
            assert second.pull().stamped == 1
        assert len(second._timestamp_tokens()) == 2
    finally:
        world.close()


def test_an_idle_pull_asks_nobody_until_the_authorities_change(
    authority, second_authority, tmp_path
) -> None:
    from tests.app.coordinator.worlds import RealWorld

    world = RealWorld(tmp_path)
    try:
        world.setup()
        world.report(world.enrol_device("phone"), factory.SAMPLE_ANSWERS[0])
        service = world.service
        with serve(authority) as a, serve(second_authority) as b:
            service.set_timestamp_authorities([ts.Authority(a.url)])
            assert service.pull().stamped == 1
            asked = len(a.requests)
            assert service.pull().stamped == 0 and len(a.requests) == asked  # nothing new
            service.set_timestamp_authorities([ts.Authority(a.url), ts.Authority(b.url)])
            assert service.pull().stamped == 1 and len(b.requests) == 1  # a new authority
    finally:
        world.close()
