"""`fieldvault server`: initialise and run the organisation server.

    fieldvault server init --data DIR [--db URL]     print a one-time bootstrap token
    fieldvault server run  --data DIR [--db URL] [--host 127.0.0.1] [--port 8000] [--workers N]

`init` creates the data directory and the database schema and prints a fresh bootstrap token;
only its hash is stored, and running `init` again replaces it (until the organisation is
bootstrapped, after which it refuses). `run` serves the API with uvicorn, with uvicorn's
access log (which records client addresses) replaced by one that records none.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def register(subparsers: Any) -> None:
    server = subparsers.add_parser("server", help="run and initialise the organisation server")
    sub = server.add_subparsers(dest="server_command", required=True)

    init = sub.add_parser("init", help="create the database and print a bootstrap token")
    init.add_argument("--data", required=True, help="data directory (database, blobs)")
    init.add_argument("--db", default=None, help="postgresql://… (default: SQLite in --data)")
    init.set_defaults(func=_init)

    run = sub.add_parser("run", help="serve the API")
    run.add_argument("--data", required=True, help="data directory (database, blobs)")
    run.add_argument("--db", default=None, help="postgresql://… (default: SQLite in --data)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL)")
    run.add_argument("--ssl-certfile", default=None, help="serve HTTPS with this certificate")
    run.add_argument("--ssl-keyfile", default=None, help="the certificate's private key")
    run.set_defaults(func=_run)


def _init(args: argparse.Namespace) -> int:
    from server.config import ServerConfig
    from server.db import Refused, open_repository
    from server.tokens import new_token, token_hash

    config = ServerConfig.for_data_dir(args.data, args.db)
    config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    repo = open_repository(config.db_url)
    try:
        token = new_token()
        repo.set_bootstrap_token(token_hash(token))
    except Refused as exc:
        print(f"fieldvault server init: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        repo.close()
    print(token)
    return 0


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from server.logs import LOG_CONFIG

    os.environ["FIELDVAULT_DATA"] = str(args.data)
    if args.db:
        os.environ["FIELDVAULT_DB"] = args.db
    uvicorn.run(
        "server.app:from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_config=LOG_CONFIG,
        server_header=False,
        proxy_headers=False,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
    )
    return 0
