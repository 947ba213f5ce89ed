"""Count the SQL statements and round trips of each benchmarked request, in-process, untimed.

    python query_count.py PACKAGE PRODUCT_ID TAG_ID CREATE_BODY_JSON

Runs in a generated project's .venv with DATABASE_URL set (and BENCH_PRIMARY_KEY and
BENCH_SOFT_DELETE, for the textbook app). Statements are counted the way the project's
tests/test_query_budget.py counts them (SQLAlchemy's `before_cursor_execute`); the pool's
pre-ping checks, which that event does not see, are counted apart. On PostgreSQL the app talks
to the database through relay.py, which counts round trips: statements, pre-pings, BEGIN and
COMMIT alike; for get tag by id the textbook app's are counted too. For get tag by id, both
apps' trips to another thread and back are counted as well (`ThreadTrips`). Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import anyio.to_thread
from asgi import call
from relay import Relay
from sqlalchemy import event


def relay_to(url: str) -> Relay:
    """A relay to the PostgreSQL server of `url` (TCP, or the unix socket of its `host=` directory)."""
    parts = urlsplit(url)
    socket_dir = parse_qs(parts.query).get("host", [""])[0]
    port = parts.port or 5432
    if socket_dir.startswith("/"):
        return Relay(lambda: asyncio.open_unix_connection(f"{socket_dir}/.s.PGSQL.{port}"))
    return Relay(lambda: asyncio.open_connection(parts.hostname or "localhost", port))


def through(url: str, relay: Relay) -> str:
    """`url` with its server replaced by the relay's address."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{relay.port}" if credentials else f"127.0.0.1:{relay.port}"
    query = "&".join(item for item in parts.query.split("&") if item and not item.startswith("host="))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class ThreadTrips:
    """Counts the trips a request makes to another thread and back, each a handoff that costs CPU
    on both sides: a sync project's routes, dependencies and response validation in the
    threadpool (anyio), and aiosqlite's calls, each made in its connection's own thread."""

    def __init__(self) -> None:
        self.count = 0
        run_sync = anyio.to_thread.run_sync

        async def counted_run_sync(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await run_sync(function, *args, **kwargs)

        anyio.to_thread.run_sync = counted_run_sync  # looked up at each call, by Starlette too
        try:
            import aiosqlite.core
        except ImportError:
            return
        execute = aiosqlite.core.Connection._execute

        async def counted_execute(
            connection: Any, function: Callable[..., Any], *args: Any, **kwargs: Any
        ) -> Any:
            self.count += 1
            return await execute(connection, function, *args, **kwargs)

        aiosqlite.core.Connection._execute = counted_execute  # type: ignore[method-assign]


async def main(package: str, product_id: str, tag_id: str, create_body: dict[str, Any]) -> dict[str, Any]:
    relay = None
    if os.environ["DATABASE_URL"].startswith("postgres"):
        relay = relay_to(os.environ["DATABASE_URL"])
        await relay.start()
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"] = through(
            os.environ["DATABASE_URL"], relay
        )
    app = importlib.import_module(f"{package}.main").app
    engine = app.state.database.engine  # create_app's Database (database.py)
    sync_engine = getattr(engine, "sync_engine", engine)
    statements: list[str] = []
    pings = 0

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    dialect = sync_engine.dialect
    do_ping = dialect.do_ping

    def counted_ping(dbapi_connection: Any) -> bool:
        nonlocal pings
        pings += 1
        return bool(do_ping(dbapi_connection))

    dialect.do_ping = counted_ping
    event.listen(sync_engine, "before_cursor_execute", record)
    thread_trips = ThreadTrips()

    requests = {
        "get": ("GET", f"/api/v1/products/{product_id}", None),
        "list": ("GET", "/api/v1/products?limit=50&offset=0", None),
        "create": ("POST", "/api/v1/products", create_body),
        "get_tag": ("GET", f"/api/v1/tags/{tag_id}", None),
    }
    counts: dict[str, Any] = {}
    for name, (method, target, body) in requests.items():
        for attempt in range(2):  # the first call may warm caches and open connections; count the second
            statements.clear()
            pings = 0
            trips = relay.round_trips if relay else 0
            thread_trips.count = 0
            if body is not None:
                body = {**body, "name": f"{body['name']} {attempt}"}
            status, _ = await call(app, method, target, body)
            if status >= 400:
                raise SystemExit(f"{method} {target} answered {status}")
        counts[name] = {
            "statements": len(statements),
            "pings": pings,
            "round_trips": relay.round_trips - trips if relay else None,
            "thread_trips": thread_trips.count,
            "sql": statements,
        }
    style = "async" if hasattr(engine, "sync_engine") else "sync"
    textbook = importlib.import_module(f"textbook_{style}")
    for _ in range(2):
        trips = relay.round_trips if relay else 0
        thread_trips.count = 0
        status, _ = await call(textbook.app, "GET", f"/api/v1/tags/{tag_id}")
        if status != 200:
            raise SystemExit(f"the textbook app's GET /api/v1/tags/{tag_id} answered {status}")
    counts["get_tag"]["textbook_round_trips"] = relay.round_trips - trips if relay else None
    counts["get_tag"]["textbook_thread_trips"] = thread_trips.count
    await textbook.engine.dispose() if style == "async" else textbook.engine.dispose()
    await engine.dispose() if hasattr(engine, "sync_engine") else engine.dispose()
    if relay:
        await relay.close()
    return counts


if __name__ == "__main__":
    package, product_id, tag_id, body = sys.argv[1:]
    print(json.dumps(asyncio.run(main(package, product_id, tag_id, json.loads(body)))))
