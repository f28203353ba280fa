"""age benchmark: our streaming age against the reference `age` tool and pyrage, same run.

    python -m bench.age [--quick]        prints JSON

Measures, file to file on the same random input (200 MB; 32 MB with --quick):
- encrypt and decrypt times for ours, `/usr/bin/age` (a subprocess, startup included) and
  pyrage (rage, in process); each the best of a few runs;
- `ratio_vs_age`: our encrypt+decrypt time over the reference tool's (budget: <= 1.0);
- peak resident memory of a child process encrypting 1 GB (256 MB with --quick) from a
  generated stream, beside the same for an eighth of that size: flat memory means streaming.
Missing tools are reported as absent, never guessed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import sample_times

ROOT = Path(__file__).resolve().parent.parent
MB = 1_000_000

_MEMORY_CHILD = """
import os, resource, sys, time
sys.path.insert(0, {root!r})
import sync.age as age

class Source:
    def __init__(self, size):
        self.left = size
        self.block = os.urandom(1 << 20)
    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        self.left -= n
        whole, part = divmod(n, len(self.block))
        return self.block * whole + self.block[:part]

_, recipient = age.generate_identity()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
with open(os.devnull, "wb") as sink:
    age.encrypt_stream(Source({size}), sink, [recipient])
elapsed = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before / 1024, after / 1024, elapsed)
"""


def _best(action: Callable[[], object], repeats: int) -> float:
    return min(sample_times(action, repeats))


def _ours(work: Path, identity: str, recipient: str, repeats: int) -> dict[str, float]:
    import sync.age as age

    plain, enc, out = work / "plain.bin", work / "ours.age", work / "ours.out"

    def encrypt() -> None:
        with plain.open("rb") as src, enc.open("wb") as dst:
            age.encrypt_stream(src, dst, [recipient])

    def decrypt() -> None:
        with enc.open("rb") as src, out.open("wb") as dst:
            age.decrypt_stream(src, dst, [identity])

    result = {"encrypt_s": _best(encrypt, repeats), "decrypt_s": _best(decrypt, repeats)}
    _check_same(plain, out)
    return result


def _reference(work: Path, key_file: Path, recipient: str, repeats: int) -> dict[str, Any]:
    tool = shutil.which("age")
    if tool is None:
        return {"absent": "the age tool is not installed"}
    plain, enc, out = work / "plain.bin", work / "ref.age", work / "ref.out"
    version = subprocess.run([tool, "--version"], capture_output=True, text=True, check=False)

    def encrypt() -> None:
        subprocess.run([tool, "-r", recipient, "-o", str(enc), str(plain)], check=True)

    def decrypt() -> None:
        subprocess.run([tool, "-d", "-i", str(key_file), "-o", str(out), str(enc)], check=True)

    result: dict[str, Any] = {
        "version": version.stdout.strip(),
        "encrypt_s": _best(encrypt, repeats),
        "decrypt_s": _best(decrypt, repeats),
    }
    _check_same(plain, out)
    return result


def _pyrage(work: Path, identity: str, recipient: str, repeats: int) -> dict[str, Any]:
    if importlib.util.find_spec("pyrage") is None:
        return {"absent": "pyrage is not installed"}
    import pyrage

    plain, enc, out = work / "plain.bin", work / "rage.age", work / "rage.out"
    rec = pyrage.x25519.Recipient.from_str(recipient)
    ident = pyrage.x25519.Identity.from_str(identity)
    result = {
        "encrypt_s": _best(lambda: pyrage.encrypt_file(str(plain), str(enc), [rec]), repeats),
        "decrypt_s": _best(lambda: pyrage.decrypt_file(str(enc), str(out), [ident]), repeats),
    }
    _check_same(plain, out)
    return result


def _check_same(a: Path, b: Path) -> None:
    if a.stat().st_size != b.stat().st_size:
        raise RuntimeError(f"round trip changed the size of {b.name}")
    with a.open("rb") as fa, b.open("rb") as fb:
        while True:
            block = fa.read(1 << 22)
            if block != fb.read(1 << 22):
                raise RuntimeError(f"round trip changed the content of {b.name}")
            if not block:
                return


def _memory(size: int) -> dict[str, float]:
    code = _MEMORY_CHILD.format(root=str(ROOT), size=size)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=1800
    )
    before, after, elapsed = (float(x) for x in done.stdout.split())
    return {
        "bytes": float(size),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(after, 1),
        "growth_mb": round(after - before, 1),
        "seconds": round(elapsed, 3),
        "mb_per_s": round(size / MB / elapsed, 1),
    }


def _write_random(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        left = size
        while left:
            block = os.urandom(min(left, 1 << 22))
            handle.write(block)
            left -= len(block)


def run(quick: bool) -> dict[str, Any]:
    import sync.age as age

    size = 32 * MB if quick else 200 * MB
    memory_size = 256 * MB if quick else 1000 * MB
    repeats = 3 if quick else 2
    identity, recipient = age.generate_identity()
    with tempfile.TemporaryDirectory(prefix="fieldvault-age-bench-") as tmp:
        work = Path(tmp)
        key_file = work / "key.txt"
        key_file.write_text(identity + "\n", encoding="ascii")
        _write_random(work / "plain.bin", size)
        ours = _ours(work, identity, recipient, repeats)
        reference = _reference(work, key_file, recipient, repeats)
        rage = _pyrage(work, identity, recipient, repeats)

    ours_total = ours["encrypt_s"] + ours["decrypt_s"]
    result: dict[str, Any] = {
        "mode": "quick (smaller sizes)" if quick else "full",
        "file_mb": size / MB,
        "repeats_best_of": repeats,
        "ours": {**ours, "total_s": ours_total, "mb_per_s": round(2 * size / MB / ours_total, 1)},
        "age_tool": reference,
        "pyrage": rage,
    }
    if "encrypt_s" in reference:
        ref_total = reference["encrypt_s"] + reference["decrypt_s"]
        reference["total_s"] = ref_total
        result["ratio_vs_age"] = round(ours_total / ref_total, 3)
    if "encrypt_s" in rage:
        rage_total = rage["encrypt_s"] + rage["decrypt_s"]
        rage["total_s"] = rage_total
        result["ratio_vs_pyrage"] = round(ours_total / rage_total, 3)
    small = _memory(memory_size // 8)
    large = _memory(memory_size)
    result["memory_encrypt"] = {
        "small": small,
        "large": large,
        "peak_rss_ratio_large_vs_small": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
    }
    return result


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv[1:]), indent=2))
