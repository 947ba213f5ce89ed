"""Call an ASGI app in-process: no server, no client library, nothing but the app's own work.

Runs in a generated project's .venv (used by query_count.py, profile_get.py and ablation.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

Message = dict[str, Any]


async def run_sync_inline(function: Callable[..., Any], *args: Any, **_: Any) -> Any:
    """A stand-in for anyio.to_thread.run_sync that calls `function` on the calling thread.

    Patched in where a measure must see a sync service's threadpool work on one thread (a
    profiler that follows one thread), or must leave out what the hand-over itself costs.
    """
    return function(*args)


async def call(
    app: Any, method: str, target: str, body: Any = None, *, decode: bool = True
) -> tuple[int, Any]:
    """One request; returns the status and the JSON body, decoded unless `decode` is false."""
    url = urlsplit(target)
    payload = b"" if body is None else json.dumps(body).encode()
    headers = [(b"host", b"bench")]
    if body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": url.path,
        "raw_path": url.path.encode(),
        "query_string": url.query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("bench", 80),
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    content = b"".join(chunks)
    return status, json.loads(content) if content and decode else content
