"""Schemathesis against the OpenAPI document: no input, signed or not, makes the server fail.

Three passes over every operation: unsigned, signed by a coordinator and signed by an enrolled
device (a test-only ASGI wrapper signs whatever Schemathesis generates, so the handlers behind
authentication are exercised too). The only check is the one that matters here: never a 5xx.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.app import create_app
from server.config import ServerConfig
from server.tokens import new_token, token_hash
from sync.auth import sign_request
from tests.server.helpers import Actor, Clock, Harness, Org

MAX_EXAMPLES = {"unsigned": 3, "coordinator": 6, "device": 6}


class SigningApp:
    """Sign each incoming request with `actor`'s key before the server sees it."""

    def __init__(self, app: ASGIApp, actor: Actor | None, clock: Clock) -> None:
        self.app = app
        self.actor = actor
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.actor is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        signed = sign_request(self.actor.key, scope["method"], target, body, now=self.clock())
        headers = [(k, v) for k, v in scope["headers"] if not k.startswith(b"x-fieldvault-")]
        headers += [(k.lower().encode(), v.encode()) for k, v in signed.items()]
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


def test_no_generated_request_causes_a_server_error(tmp_path: Path) -> None:
    clock = Clock()
    app = create_app(ServerConfig.for_data_dir(tmp_path, publish_api=True), clock=clock)
    token = new_token()
    app.state.services.repo.set_bootstrap_token(token_hash(token))
    org = Org.new()
    with TestClient(app) as client:
        api = Harness(client, "", clock)
        api.bootstrap(org, token)
        device = api.enrol(org)
        api.push(device, [device.envelope()])
        signing = SigningApp(app, None, clock)
        schema = schemathesis.openapi.from_asgi("/openapi.json", signing)
        operations = [cast(Any, result).ok() for result in schema.get_all_operations()]
        assert len(operations) >= 16
        for operation in operations:
            strategy = operation.as_strategy()
            for role, actor in (
                ("unsigned", None),
                ("coordinator", org.coordinator),
                ("device", device),
            ):
                signing.actor = actor

                @given(case=strategy)
                @settings(
                    max_examples=MAX_EXAMPLES[role],
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    derandomize=True,
                    database=None,
                )
                def fuzz(case: Any) -> None:
                    case.call_and_validate(checks=[not_a_server_error])

                fuzz()
