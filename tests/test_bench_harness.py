"""The benchmark harness: budgets are judged honestly and the docs summary is regenerated safely."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import harness
from bench.harness import FAIL, MISSING, PASS, AreaOutcome, Budget

ROOT = Path(__file__).resolve().parent.parent


def _budget(op: str, limit: float) -> Budget:
    return Budget("x.y", "x", "a figure", ("deep.figure", "flat_figure"), op, limit, "s")


def test_a_figure_within_its_budget_passes_and_one_outside_fails() -> None:
    outcomes = {"x": AreaOutcome("x", 1.0, result={"deep": {"figure": 0.5}})}
    assert harness.evaluate(outcomes, [_budget("<=", 1.0)])[0]["status"] == PASS
    assert harness.evaluate(outcomes, [_budget("<=", 0.4)])[0]["status"] == FAIL
    assert harness.evaluate(outcomes, [_budget(">=", 0.4)])[0]["status"] == PASS


def test_a_figure_is_found_under_any_of_its_listed_paths() -> None:
    outcomes = {"x": AreaOutcome("x", 1.0, result={"flat_figure": 2})}
    (figure,) = harness.evaluate(outcomes, [_budget(">=", 1.0)])
    assert figure["value"] == 2.0
    assert figure["source"] == "x.flat_figure"


def test_an_absent_or_non_numeric_figure_is_missing_never_passed() -> None:
    for result in ({}, {"flat_figure": "fast"}, {"flat_figure": True}, None):
        outcomes = {"x": AreaOutcome("x", 1.0, result=result)}
        (figure,) = harness.evaluate(outcomes, [_budget("<=", 1e9)])
        assert figure["status"] == MISSING
        assert figure["value"] is None


def test_budgets_of_areas_that_did_not_run_are_left_out() -> None:
    assert harness.evaluate({}, [_budget("<=", 1.0)]) == []


def test_every_budget_in_the_design_table_names_a_known_area() -> None:
    assert {b.area for b in harness.BUDGETS} <= set(harness.AREAS)
    assert len({b.id for b in harness.BUDGETS}) == len(harness.BUDGETS)


def test_percentile_uses_nearest_rank() -> None:
    samples = [float(i) for i in range(1, 101)]
    assert harness.percentile(samples, 50) == 50.0
    assert harness.percentile(samples, 99) == 99.0
    assert harness.percentile(samples, 100) == 100.0
    assert harness.percentile([3.0], 99) == 3.0
    with pytest.raises(ValueError):
        harness.percentile([], 50)


def _report(quick: bool = True) -> dict:
    outcomes = {"x": AreaOutcome("x", 1.0, result={"flat_figure": 0.25})}
    return {
        "quick": quick,
        "machine": harness.machine_info(),
        "figures": harness.evaluate(outcomes, [_budget("<=", 1.0)]),
        "areas": {"x": {"error": None}, "y": {"error": "timed out after 120 s"}},
    }


def test_writing_the_summary_keeps_every_area_section_intact(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Vault\n\nsave p50 0.2 ms\n\n## age\n\nours 1.1 s\n")
    harness.write_summary(doc, harness.render_summary(_report()))
    first = doc.read_text()
    assert first.startswith("# Benchmarks\n")
    assert "## Vault\n\nsave p50 0.2 ms\n\n## age\n\nours 1.1 s\n" in first
    assert "| a figure | ≤ 1 s | 0.25 s | pass |" in first
    assert "`y` produced no figures: timed out after 120 s" in first
    harness.write_summary(doc, harness.render_summary(_report(quick=False)))
    second = doc.read_text()
    assert second.count(harness.SUMMARY_START) == 1
    assert second.count(harness.SUMMARY_END) == 1
    assert second.endswith("## Vault\n\nsave p50 0.2 ms\n\n## age\n\nours 1.1 s\n")


def test_machine_info_names_cores_memory_and_crypto_library() -> None:
    info = harness.machine_info()
    assert info["cores"] >= 1
    assert info["cryptography"]
    assert info["openssl"] != ""
    assert info["date"].endswith("+00:00")


def test_bench_refuses_an_unknown_area_before_running_anything() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "--quick", "--only", "nosuch"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "unknown area(s): nosuch" in proc.stderr
    assert proc.stdout == ""


def test_bench_runs_an_area_in_a_child_process_and_prints_one_json_document() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "bench", "--quick", "--only", "envelope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(proc.stdout)  # the whole of stdout is one document
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert report["quick"] is True
    assert set(report["machine"]) >= {"cores", "memory_mb", "python", "cryptography", "openssl"}
    area = report["areas"]["envelope"]
    assert area["error"] is None
    assert isinstance(area["result"], dict) and area["result"]
    assert report["figures"] == []  # DESIGN.md sets no budget on this area
