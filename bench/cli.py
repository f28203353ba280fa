"""`fieldvault bench`: run the benchmarks and print one JSON document.

    fieldvault bench [--quick] [--only AREA ...] [--write-docs]

Each area of `bench/` runs in its own child process, one after another (running them side by
side would make them measure each other). The JSON holds every figure beside its budget from
DESIGN.md with `pass`, `fail` or `missing`, each area's full result, and the machine the figures
belong to. `--write-docs` regenerates the summary table at the top of `docs/benchmarks.md`; the
areas' own sections there are theirs and are left alone. The exit status is 1 if a budget failed
or an area could not run, so CI can gate on it.

The benchmarks live in a source checkout (`bench/` is not installed): `app/cli.py` names this
module by string and finds `bench/` beside the `app` package. `bench` depends on `app` (it
measures the services), never the other way round.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench import harness

QUICK_AREA_TIMEOUT_S = 120.0
FULL_AREA_TIMEOUT_S = 3600.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("bench", help="run the benchmarks and print JSON results")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under two minutes")
    parser.add_argument(
        "--only", nargs="+", metavar="AREA", help="run only these areas (vault, age, envelope, …)"
    )
    parser.add_argument(
        "--write-docs", action="store_true", help="update the summary in docs/benchmarks.md"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds allowed per area (default by mode)"
    )
    parser.set_defaults(func=_run)


SOURCE_ROOT = Path(__file__).resolve().parent.parent
SUMMARY_DOC = SOURCE_ROOT / "docs" / "benchmarks.md"


def _run(args: argparse.Namespace) -> int:
    areas = list(args.only or harness.AREAS)
    unknown = [a for a in areas if a not in harness.AREAS]
    if unknown:
        print(
            f"unknown area(s): {', '.join(unknown)}; choose from {', '.join(harness.AREAS)}",
            file=sys.stderr,
        )
        return 2
    timeout = args.timeout or (QUICK_AREA_TIMEOUT_S if args.quick else FULL_AREA_TIMEOUT_S)
    started = time.perf_counter()
    outcomes = {}
    for area in areas:
        print(f"bench: {area} …", file=sys.stderr, flush=True)
        outcomes[area] = harness.run_area(area, quick=args.quick, timeout=timeout)
    figures = harness.evaluate(outcomes)
    report: dict[str, Any] = {
        "quick": bool(args.quick),
        "machine": harness.machine_info(),
        "seconds": round(time.perf_counter() - started, 2),
        "summary": {
            status: sum(1 for f in figures if f["status"] == status)
            for status in (harness.PASS, harness.FAIL, harness.MISSING)
        },
        "figures": figures,
        "areas": {
            area: {"seconds": round(o.seconds, 2), "error": o.error, "result": o.result}
            for area, o in outcomes.items()
        },
    }
    print(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    if args.write_docs:
        harness.write_summary(SUMMARY_DOC, harness.render_summary(report))
    failed = report["summary"][harness.FAIL] > 0 or any(o.error for o in outcomes.values())
    return 1 if failed else 0
