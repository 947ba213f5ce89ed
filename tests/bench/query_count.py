"""Count the SQL statements each benchmarked request runs, in-process, without timing anything.

    python query_count.py PACKAGE PRODUCT_ID CREATE_BODY_JSON

Runs in a generated project's .venv with DATABASE_URL set. Statements are counted the way the
project's tests/test_query_budget.py counts them (SQLAlchemy's `before_cursor_execute`); the
pool's pre-ping checks, which that event does not see, are counted apart. Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from typing import Any

from asgi import call
from sqlalchemy import event


async def main(package: str, product_id: str, create_body: dict[str, Any]) -> dict[str, Any]:
    app = importlib.import_module(f"{package}.main").app
    engine = importlib.import_module(f"{package}.database").engine
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

    requests = {
        "get": ("GET", f"/api/v1/products/{product_id}", None),
        "list": ("GET", "/api/v1/products?limit=50&offset=0", None),
        "create": ("POST", "/api/v1/products", create_body),
    }
    counts: dict[str, Any] = {}
    for name, (method, target, body) in requests.items():
        for attempt in range(2):  # the first call may warm caches; count the second
            statements.clear()
            pings = 0
            if body is not None:
                body = {**body, "name": f"{body['name']} {attempt}"}
            status, _ = await call(app, method, target, body)
            if status >= 400:
                raise SystemExit(f"{method} {target} answered {status}")
        counts[name] = {"statements": len(statements), "pings": pings, "sql": statements}
    return counts


if __name__ == "__main__":
    package, product_id, body = sys.argv[1:]
    print(json.dumps(asyncio.run(main(package, product_id, json.loads(body)))))
