"""FieldVault benchmarks: one module per area, each exposing `run(quick: bool) -> dict`.

Use `fieldvault bench [--quick] [--only AREA...] [--write-docs]`: it runs every area in its own
process (so one area's memory and threads never colour another's figures), prints one JSON
document with each figure beside its budget from DESIGN.md, and can regenerate the summary table
at the top of `docs/benchmarks.md`.

- `bench.harness`: the budget table, pass/fail evaluation, machine information and small timing
  helpers an area may use.
- `bench.vault`, `bench.age`, `bench.envelope`, `bench.server`, `bench.sync`,
  `bench.coordinator`: the areas. Each also runs on its own: `python -m bench.vault --quick`.

Benchmarks live here, not in the test suite: they measure, the tests prove.
"""
