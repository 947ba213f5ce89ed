"""Limits on what a request may make the service hold: its body, and the input a 422 echoes."""

import json
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The longest input a validation error repeats, in characters, and the mark of a cut one.
ECHOED_INPUT_CHARS = 100
TRUNCATED = "...[truncated]"


class BodyLimit:
    """ASGI middleware: a body over `max_bytes` is answered with 413 before anything parses it.

    A declared `Content-Length` over the limit is refused unread. A body of unknown length
    (chunked) is read up to the limit first, then handed to the app as it came.

    FastAPI 0.164 and later limit bodies themselves (`max_body_size`); the project supports
    FastAPI from 0.137 (pyproject.toml), so it keeps this one until its floor reaches that.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None:
            if length.isdigit() and int(length) > self.max_bytes:
                await self.too_large(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self.too_large(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"detail": f"The request body is larger than {self.max_bytes} bytes"},
            status_code=413,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def short_input(value: Any) -> Any:
    """`value` as a 422 may echo it: as it is when short, else a marked prefix of its text."""
    if value is None or isinstance(value, bool):
        return value
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) <= ECHOED_INPUT_CHARS:
        return value
    return text[:ECHOED_INPUT_CHARS] + TRUNCATED
