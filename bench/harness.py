"""The budget table, pass/fail evaluation, machine information and shared timing helpers.

Use `BUDGETS` (every performance promise of DESIGN.md, each tied to the figure an area reports),
`run_area(area, quick=...)` (runs one `bench/<area>.py` in a child process and returns what it
measured), `evaluate(outcomes)` (each budget with its measured figure and `pass`, `fail` or
`missing`) and `machine_info()`. Areas may use `timed`, `elapsed`, `sample_times`, `summarize`
and `peak_rss_mb`.

A figure is found in an area's result by a dotted path (`"save.ratio_10000_vs_100"`); several
paths may be listed when an area reports the same figure under different names in quick and full
mode. A budget whose figure is absent is `missing`, never silently passed.

Danger: figures are only comparable on the same machine in the same run. Ratios (ours against
stock TinyDB, the reference `age` tool, a raw HTTP upload) are what the budgets are written in for
that reason; absolute times are reported beside them for context only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

AREAS: tuple[str, ...] = (
    "vault",
    "age",
    "envelope",
    "server",
    "sync",
    "slowlink",
    "coordinator",
    "pq",
)

SUMMARY_START = "<!-- bench:summary:start -->"
SUMMARY_END = "<!-- bench:summary:end -->"

PASS, FAIL, MISSING = "pass", "fail", "missing"


@dataclasses.dataclass(frozen=True)
class Budget:
    """One promise from DESIGN.md's table: `figure op limit`, e.g. `ratio <= 1.5`."""

    id: str
    area: str
    what: str
    paths: tuple[str, ...]
    op: str  # "<=" or ">="
    limit: float
    unit: str

    def holds(self, value: float) -> bool:
        if self.op == "<=":
            return value <= self.limit
        if self.op == ">=":
            return value >= self.limit
        raise ValueError(f"unknown comparison {self.op!r}")

    @property
    def text(self) -> str:
        sign = {"<=": "≤", ">=": "≥"}.get(self.op, self.op)
        return f"{sign} {_fmt(self.limit)} {self.unit}".strip()


BUDGETS: tuple[Budget, ...] = (
    Budget(
        "vault.save_flat",
        "vault",
        "save one record, vault of 10,000 vs vault of 100",
        ("save.ratio_10000_vs_100", "save_ratio_10000_vs_100", "save_flat_ratio"),
        "<=",
        1.5,
        "×",
    ),
    Budget(
        "vault.save_vs_tinydb",
        "vault",
        "save one record at 10,000: stock TinyDB time / ours",
        ("save.speedup_vs_tinydb_10000", "speedup_vs_tinydb_10000", "tinydb_speedup"),
        ">=",
        20.0,
        "×",
    ),
    Budget(
        "vault.open_list",
        "vault",
        "open and list 10,000 records after unlock (KDF excluded)",
        ("open_list_10000_s", "open_list.seconds", "open_list_s"),
        "<=",
        1.0,
        "s",
    ),
    Budget(
        "age.vs_reference",
        "age",
        "age encrypt + decrypt: our time / reference `age` time",
        ("ratio_vs_age", "ours_vs_age_ratio", "ratio.ours_vs_age"),
        "<=",
        1.0,
        "×",
    ),
    Budget(
        "sync.push_rate",
        "sync",
        "push 1,000 small envelopes to a local server, end to end",
        ("push_envelopes_per_s", "push.envelopes_per_s", "push_rate"),
        ">=",
        1000.0,
        "envelopes/s",
    ),
    Budget(
        "server.ingest_rate",
        "server",
        "server ingest, batches of 50, one device, SQLite",
        ("ingest.sqlite.batch50_1dev_per_s", "ingest_rate_sqlite", "ingest_per_s"),
        ">=",
        1000.0,
        "envelopes/s",
    ),
    Budget(
        "sync.upload_vs_raw",
        "sync",
        "upload an attachment over loopback: our rate / raw HTTP upload rate",
        ("upload_vs_raw_ratio", "upload.ratio_vs_raw", "upload_ratio"),
        ">=",
        0.5,
        "×",
    ),
    Budget(
        "server.upload_vs_raw",
        "server",
        "blob upload to the server alone (no client encryption): our rate / raw HTTP rate",
        ("blob.sqlite.ratio_vs_raw",),
        ">=",
        0.5,
        "×",
    ),
    Budget(
        "sync.upload_memory",
        "sync",
        "upload an attachment: peak memory (flat: a fixed cap, far below the file's size)",
        ("upload_peak_mb", "upload.peak_mb", "upload_memory_mb"),
        "<=",
        64.0,
        "MB",
    ),
    Budget(
        "vault.wipe_keys",
        "vault",
        "panic wipe: key material destroyed",
        ("wipe.key_destroyed_ms", "wipe_key_destroyed_ms", "wipe_keys_ms"),
        "<=",
        50.0,
        "ms",
    ),
    Budget(
        "vault.wipe_all",
        "vault",
        "panic wipe: everything gone (10,000 records + blobs)",
        ("wipe.all_gone_ms", "wipe_all_gone_ms", "wipe_total_ms"),
        "<=",
        1000.0,
        "ms",
    ),
    Budget(
        "sync.pull_10000",
        "sync",
        "coordinator: pull + verify + decrypt + store 10,000 envelopes",
        ("pull_10000_s", "pull.seconds", "pull_s"),
        "<=",
        10.0,
        "s",
    ),
    Budget(
        "slowlink.video",
        "slowlink",
        "8 MiB attachment at 200 KiB/s cut every 15 s: arrives; bytes sent / its size",
        ("video.sent_ratio",),
        "<=",
        1.25,
        "×",
    ),
    Budget(
        "slowlink.photo",
        "slowlink",
        "2 MiB attachment at 64 KiB/s cut every 30 s: arrives; bytes sent / its size",
        ("photo.sent_ratio",),
        "<=",
        1.25,
        "×",
    ),
    Budget(
        "slowlink.idle_round",
        "slowlink",
        "an idle sync round (nothing to send or receive), bytes both ways",
        ("idle_round_bytes",),
        "<=",
        1000.0,
        "B",
    ),
    Budget(
        "coordinator.filter",
        "coordinator",
        "coordinator: filter 10,000 cases",
        ("filter_ms", "filter.ms", "filter_p50_ms"),
        "<=",
        100.0,
        "ms",
    ),
)


@dataclasses.dataclass
class AreaOutcome:
    """What one area's run produced: its result dict, or why it has none."""

    area: str
    seconds: float
    result: dict[str, Any] | None = None
    error: str | None = None


def lookup(result: Mapping[str, Any] | None, path: str) -> float | None:
    """The number at dotted `path` inside `result`, or None if absent or not a number."""
    node: Any = result
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float):
        return None
    return float(node)


def evaluate(
    outcomes: Mapping[str, AreaOutcome], budgets: Sequence[Budget] = BUDGETS
) -> list[dict[str, Any]]:
    """Every budget whose area ran, with its measured figure and verdict."""
    figures = []
    for budget in budgets:
        outcome = outcomes.get(budget.area)
        if outcome is None:
            continue
        value, found_at = None, None
        for path in budget.paths:
            value = lookup(outcome.result, path)
            if value is not None:
                found_at = path
                break
        status = MISSING if value is None else PASS if budget.holds(value) else FAIL
        figures.append(
            {
                "id": budget.id,
                "area": budget.area,
                "what": budget.what,
                "budget": budget.text,
                "value": value,
                "unit": budget.unit,
                "status": status,
                "source": f"{budget.area}.{found_at}" if found_at else None,
            }
        )
    return figures


def machine_info(now: Callable[[], _dt.datetime] | None = None) -> dict[str, Any]:
    """Cores, memory, Python, cryptography and OpenSSL versions, and the date of the run."""
    import cryptography

    from core.crypto.info import openssl_version

    when = (now or (lambda: _dt.datetime.now(_dt.UTC)))()
    return {
        "date": when.replace(microsecond=0).isoformat(),
        "cores": os.cpu_count(),
        "memory_mb": _memory_mb(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "load_average_1min": _load_average(),
        "python": platform.python_version(),
        "cryptography": cryptography.__version__,
        "openssl": openssl_version(),
    }


def _load_average() -> float | None:
    """How busy the machine was when the run ended: figures from a busy machine are a floor."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def _memory_mb() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        return None
    return None


def run_area(area: str, *, quick: bool, timeout: float) -> AreaOutcome:
    """Run `bench/<area>.py`'s `run(quick)` in a child process; never raises for its failures.

    The child's own output (progress lines) goes to our stderr; its result comes back through a
    temporary file, so an area that prints cannot corrupt the JSON document.
    """
    if area not in AREAS:
        raise ValueError(f"unknown benchmark area {area!r}; choose from {', '.join(AREAS)}")
    if not (ROOT / "bench" / f"{area}.py").is_file():
        return AreaOutcome(area, 0.0, error=f"bench/{area}.py is missing")
    with tempfile.TemporaryDirectory(prefix="fieldvault-bench-") as tmp:
        out = Path(tmp) / "result.json"
        argv = [sys.executable, "-m", "bench.harness", "--child", area, str(out)]
        if quick:
            argv.append("--quick")
        env = dict(os.environ, PYTHONPATH=_pythonpath())
        started = time.perf_counter()
        # its own process group, so a timeout also stops the servers an area started
        with subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=sys.stderr,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as proc:
            try:
                _, stderr = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                elapsed = time.perf_counter() - started
                return AreaOutcome(area, elapsed, error=f"timed out after {timeout:.0f} s")
            except BaseException:  # Ctrl-C: the child is in its own session, stop it too
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                raise
        seconds = time.perf_counter() - started
        if stderr:
            sys.stderr.write(stderr)
        if proc.returncode != 0 or not out.is_file():
            tail = stderr.strip().splitlines()[-1:] if stderr else []
            reason = tail[0] if tail else f"exit status {proc.returncode}"
            return AreaOutcome(area, seconds, error=reason)
        result = json.loads(out.read_text(encoding="utf-8"))
        if not isinstance(result, dict):
            return AreaOutcome(area, seconds, error="run() did not return a dict")
        return AreaOutcome(area, seconds, result=result)


def _pythonpath() -> str:
    existing = os.environ.get("PYTHONPATH")
    return str(ROOT) if not existing else os.pathsep.join([str(ROOT), existing])


def render_summary(report: Mapping[str, Any]) -> str:
    """The Markdown summary table for `docs/benchmarks.md` (between the summary markers)."""
    machine = report["machine"]
    mode = "quick" if report["quick"] else "full"
    lines = [
        SUMMARY_START,
        "## Summary",
        "",
        f"Generated by `fieldvault bench{' --quick' if report['quick'] else ''} --write-docs` "
        f"({mode} mode) on {machine['date']}: {machine['cores']} cores, "
        f"{_fmt_memory(machine['memory_mb'])}, Python {machine['python']}, "
        f"cryptography {machine['cryptography']} on {machine['openssl']}, "
        f"load average {machine.get('load_average_1min', 'unknown')}. "
        "Ratios are measured in the same run; absolute figures vary with the machine's load.",
        "",
        "| what | budget | measured | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for fig in report["figures"]:
        if fig["value"] is not None:
            measured = f"{_fmt(fig['value'])} {fig['unit']}".strip()
        else:
            measured = "not measured in quick mode" if report["quick"] else "—"
        lines.append(f"| {fig['what']} | {fig['budget']} | {measured} | {fig['status']} |")
    errors = {a: o["error"] for a, o in report["areas"].items() if o.get("error")}
    if errors:
        lines.append("")
        for area, error in errors.items():
            lines.append(f"- `{area}` produced no figures: {error}")
    if report["quick"]:
        lines.append("")
        lines.append(
            "Quick mode uses smaller sizes where an area says so; run `fieldvault bench` for the"
            " full figures."
        )
    lines.append(SUMMARY_END)
    return "\n".join(lines)


def write_summary(doc: Path, summary: str) -> None:
    """Replace the summary block of `doc` (or put one at its top), leaving every section alone."""
    text = doc.read_text(encoding="utf-8") if doc.is_file() else "# Benchmarks\n"
    start, end = text.find(SUMMARY_START), text.find(SUMMARY_END)
    if start != -1 and end > start:
        text = text[:start] + summary + text[end + len(SUMMARY_END) :]
    else:
        lines = text.splitlines(keepends=True)
        if lines and lines[0].startswith("# "):
            text = lines[0] + "\n" + summary + "\n" + "".join(lines[1:])
        else:
            text = summary + "\n\n" + text
    tmp = doc.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(doc)


def _fmt(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _fmt_memory(mb: int | None) -> str:
    return "memory unknown" if mb is None else f"{mb / 1024:.1f} GiB RAM"


# --- small helpers an area may use -------------------------------------------------------------


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    """`with timed() as t: ...` then `t[0]` is the elapsed wall time in seconds."""
    box: list[float] = []
    started = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - started)


def elapsed(action: Callable[[], object]) -> float:
    """The wall time of one call of `action`, in seconds."""
    with timed() as took:
        action()
    return took[0]


def sample_times(action: Callable[[], object], samples: int) -> list[float]:
    """The wall times of `samples` calls of `action` in a row, in seconds."""
    return [elapsed(action) for _ in range(samples)]


def percentile(samples: Sequence[float], p: float) -> float:
    """The `p`-th percentile (0–100) by nearest rank; raises ValueError on no samples."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def summarize(samples_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max of durations given in seconds, in milliseconds."""
    return {
        "n": float(len(samples_s)),
        "p50_ms": percentile(samples_s, 50) * 1000,
        "p95_ms": percentile(samples_s, 95) * 1000,
        "p99_ms": percentile(samples_s, 99) * 1000,
        "max_ms": max(samples_s) * 1000,
    }


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux and macOS)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _child(argv: Sequence[str]) -> int:
    import importlib

    area, out = argv[0], Path(argv[1])
    quick = "--quick" in argv[2:]
    module = importlib.import_module(f"bench.{area}")
    result = module.run(quick)
    out.write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--child":
        raise SystemExit(_child(sys.argv[2:]))
    raise SystemExit("usage: fieldvault bench (this module is the harness, not a command)")
