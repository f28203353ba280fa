"""The coordinator's case read model: what the case list, the dashboard and the exports read.

`cases` (the case index: facets, search, detail, references, `answers_of`), `dashboard`
(counts by month, type, region, entity) and `dates` (dates in the coordinator's words). Plain
Python, no Flet; it imports only `core` and `sync`, so both `app.exports` and `app.services`
build on it (services → exports → casebook) and nothing here imports either of them.
"""
