"""The organisation server: a blind relay and store of ciphertext (FastAPI).

Use `server.app.create_app(ServerConfig.for_data_dir(path, db_url))`, or the command line
(`fieldvault server init|run`, in `app/cli_server.py`). Deploying: docs/server.md; the API:
docs/protocol.md.

Map:

    app.py        the application factory: wires config, repository, blob store, routers
    config.py     data directory, database URL, body and page limits
    context.py    `Services` (repository, blob store, clock) handed to every handler
    auth.py       request signatures, roles (coordinator / device), nonces in the database
    limits.py     body size limits enforced before a body is read
    errors.py     `ApiError` and the one JSON shape of every refusal
    logs.py       logging without client addresses or user agents
    models.py     strict request models and answer shapes (the OpenAPI document)
    verify.py     envelope, org document and command checks, through `sync`'s verifiers
    tokens.py     one-time tokens, stored only as hashes
    blobs.py      the blob store interface, its directory implementation, `open_blob_store`
    pg_blobs.py   the blob store in PostgreSQL (rows of the server's own database)
    db/           the repository interface, its SQL implementation, SQLite and PostgreSQL
    routers/      one router per area of the API

Danger: the server must never hold a key that decrypts content, and must never log or store
anything that identifies a person or a connection (addresses, user agents, names).

Error tree:

    server.errors.ApiError          every refusal a handler raises (4xx, reason, detail)
    └── BodyTooLarge                413 while streaming a body past its limit
    server.db.RepositoryError
    └── Refused                     a rule said no; routers turn it into an ApiError
"""
