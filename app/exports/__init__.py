"""Exports from the coordinator's vault: what leaves the laptop, and how it is protected.

Use:
- `csv_export.cases_csv(index, summaries, identifying=False, lang=...)`: the filtered list.
- `stats.statistics(summaries, ...)`: anonymised counts, small cells suppressed ("<3").
- `pdf_report.case_report(detail, ...)`: one case as a PDF (Cyrillic via the bundled DejaVu).
- `bundle.build_bundle(...)` / `bundle.verify_bundle(data)`: an evidence bundle a lawyer can
  check independently with `fieldvault coordinator verify-bundle FILE`.
- `protect.protect(data, recipients=..., passphrase=...)`: age-encrypt an export.
- `identity.protected_identity_file(...)` / `identity.open_export(...)`: the coordinator's age
  identity as a file stock `age -d -i` accepts, and opening a protected export again.

Danger: `identifying=True` CSV, PDF case reports and evidence bundles hold what victims said.
The app warns and age-encrypts them unless the coordinator explicitly opts out; never write them
to a shared or synced folder in clear.
"""
