"""Coordinator benchmark: 10,000 cases in a coordinator vault, listed, filtered and searched.

    python -m bench.coordinator [--quick]        prints JSON

Builds an encrypted coordinator vault (`storage.Vault`, scrypt at the floor) holding 10,000
`case` records (1,000 with --quick) shaped exactly as the pull stores them, with answers to the
default form (regions, violation and perpetrator types, dates over two years, Cyrillic free
text with Kazakh and Kyrgyz letters) and 2,000 workflow events. Then measures, median of 7:
- `index_build_s`: reading every case and event from the opened vault and building the index
  (what the app does after a pull or unlock);
- `list_ms`: the unfiltered list, sorted newest first;
- `filter_ms`: region + violation type + status + date range (budget <= 100 ms);
- `filter_broad_ms`: status only (most cases match, so sorting dominates);
- `search_ms`: full-text search for a Cyrillic word, case-folded;
- `dashboard_ms`: the four dashboard aggregations over every case.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.casebook.cases import CaseFilter, CaseIndex
from app.casebook.dashboard import aggregate
from app.services.coordinator_api import load_default_forms
from bench.harness import sample_times
from core.forms import parse_form
from core.records import Kind, Record, Status

PASSPHRASE = "benchmark passphrase"  # noqa: S105 - a throw-away test vault
LOG_N = 15
REPEATS = 7
WORDS = ["задержали", "избили", "угрожали", "қорқытты", "ұрды", "коркутту", "үйдө", "кафе"]


def _options(form: Any, field_id: str) -> list[str]:
    return [o.value for o in form.field(field_id).options]


def make_cases(count: int, seed: int = 7) -> tuple[list[Record], list[Record]]:
    rng = random.Random(seed)
    form = parse_form(load_default_forms()[0])
    regions = _options(form, "region")
    violations = _options(form, "violation_types")
    perpetrators = _options(form, "perpetrator_types")
    start = 1_700_000_000
    devices = [f"{i:032x}" for i in range(20)]
    cases, events = [], []
    for n in range(count):
        cid = f"{rng.getrandbits(128):032x}"
        when = start + rng.randrange(0, 730 * 86400)
        occurred = time.strftime("%Y-%m-%dT%H:%M", time.gmtime(when))
        answers = {
            "occurred_at": occurred,
            "region": rng.choice(regions),
            "violation_types": rng.sample(violations, rng.randint(1, 3)),
            "perpetrator_types": rng.sample(perpetrators, rng.randint(1, 2)),
            "description": " ".join(rng.choices(WORDS, k=12)) + f" №{n}",
            "victims": f"П{n}",
        }
        record = {
            "kind": "incident",
            "id": cid,
            "data": {"form": form.id, "form_version": 1, "answers": answers, "attachments": []},
            "status": "sent",
            "status_reason": "",
            "version": 1,
            "created_at": when,
            "updated_at": when,
        }
        revision = {
            "envelope_id": f"{rng.getrandbits(128):032x}",
            "seq": n + 1,
            "created": when,
            "received_at": when + 60,
            "version": 1,
            "record": record,
            "blobs": [],
        }
        data = {
            "case_id": cid,
            "type": "incident",
            "author": rng.choice(devices),
            "revisions": [revision],
            "latest": record["data"],
            "custody": {"signature": "valid", "chain": "ok", "problems": []},
        }
        cases.append(Record(kind=Kind.CASE, id=cid, data=data, status=Status.LOCAL))
        if n % 5 == 0:
            eid = f"{rng.getrandbits(128):032x}"
            events.append(
                Record(
                    kind=Kind.CASE_EVENT,
                    id=eid,
                    status=Status.LOCAL,
                    data={
                        "case_id": cid,
                        "author": "c" * 32,
                        "created": when + 3600,
                        "seq": n,
                        "envelope_id": eid,
                        "event": {
                            "type": "status",
                            "status": rng.choice(["in_review", "verified"]),
                        },
                    },
                )
            )
    return cases, events


def _median_ms(fn: Callable[[], object]) -> float:
    return round(statistics.median(sample_times(fn, REPEATS)) * 1000, 2)


def run(quick: bool) -> dict[str, Any]:
    from storage import Vault

    count = 1_000 if quick else 10_000
    cases, events = make_cases(count)
    forms = [parse_form(raw) for raw in load_default_forms()]
    with tempfile.TemporaryDirectory(prefix="fv-bench-coord-") as tmp:
        path = Path(tmp) / "coordinator"
        vault = Vault.create(path, PASSPHRASE, kdf_log_n=LOG_N)
        started = time.perf_counter()
        for i in range(0, len(cases), 500):
            vault.put_many(cases[i : i + 500])
        vault.put_many(events)
        store_s = time.perf_counter() - started
        vault.lock()
        vault = Vault.open(path, PASSPHRASE)
        started = time.perf_counter()
        index = CaseIndex.build(vault.list(kind=Kind.CASE), vault.list(kind=Kind.CASE_EVENT), forms)
        build_s = time.perf_counter() - started
        vault.lock()
    region = cases[0].data["latest"]["answers"]["region"]
    violation = cases[0].data["latest"]["answers"]["violation_types"][0]
    narrow = CaseFilter(
        region=region,
        violation_type=violation,
        status="new",
        date_from="2024-01-01",
        date_to="2024-12-31",
    )
    matches = len(index.query(narrow))
    found = len(index.query(CaseFilter(text="ҚОРҚЫТТЫ")))
    filter_ms = _median_ms(lambda: index.query(narrow))
    return {
        "cases": count,
        "events": len(events),
        "store_s": round(store_s, 3),
        "index_build_s": round(build_s, 3),
        "list_ms": _median_ms(lambda: index.query(CaseFilter())),
        "filter_ms": filter_ms,
        "filter_matches": matches,
        "filter_broad_ms": _median_ms(lambda: index.query(CaseFilter(status="new"))),
        "search_ms": _median_ms(lambda: index.query(CaseFilter(text="ҚОРҚЫТТЫ"))),
        "search_matches": found,
        "dashboard_ms": _median_ms(lambda: aggregate(index.query(CaseFilter()))),
        "filter_budget_ms": 100,
        "filter_within_budget": filter_ms <= 100,
    }


if __name__ == "__main__":
    print(json.dumps(run("--quick" in sys.argv[1:]), indent=1))
