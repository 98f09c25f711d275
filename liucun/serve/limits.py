"""Request body limits: a body past its route's limit is a 413 before it is parsed.

Without a limit one large authenticated body (52 MB to ``/api/assist``) was read and
parsed on the event loop and froze every other request for many seconds. The middleware
checks ``Content-Length`` before the route runs and, for a body sent without one
(chunked), counts the bytes as they arrive and stops reading at the limit. The limits are
``[serve]`` in ``liucun.toml``: ``max_body_bytes`` for every route, and
``max_bulk_body_bytes`` for the two that take batches (``POST /api/events`` and
``POST /api/sentiment``), whose bodies are validated in a worker thread.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liucun import config

BULK_ROUTES = frozenset({"/api/events", "/api/sentiment"})


@dataclass(frozen=True)
class BodyLimits:
    """Most bytes a request body may have: ``bulk`` on :data:`BULK_ROUTES`, else ``default``."""

    default: int
    bulk: int

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any] | None) -> BodyLimits:
        """``[serve]`` of a loaded liucun.toml over its defaults."""
        serve = config.section("serve", cfg)
        return cls(int(serve["max_body_bytes"]), int(serve["max_bulk_body_bytes"]))

    def of(self, path: str) -> int:
        return self.bulk if path in BULK_ROUTES else self.default


class BodyTooLarge(HTTPException):
    """The body went past its limit while it was read (FastAPI answers it as a 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


def too_large(limit: int) -> str:
    """The one-line reason of a 413."""
    return f"request body over {limit:,} bytes: send less per call"


class BodyLimit:
    """ASGI middleware: 413 for a body over its route's limit, before it is parsed."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.of(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:  # read outside FastAPI's handlers (none today): answer here
            if started:
                raise
            await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": too_large(limit)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),  # the rest of the body is never read
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
