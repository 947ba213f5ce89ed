"""Baseline for sqlite + async: aiosqlite, a queue of connections, Starlette, json.dumps.

Connections are set up like the service's (foreign keys, WAL).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from baseline_common import DATABASE_URL, POOL_SIZE, Sql, Values, app, json_response, new_product, page_bounds
from starlette.requests import Request
from starlette.responses import Response

sql = Sql(lambda _: "?", lambda _, count: f"{{column}} IN ({', '.join('?' * count)})", returning=False)
values = Values(sqlite=True)
PATH = DATABASE_URL.removeprefix("sqlite:///")
idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()


@asynccontextmanager
async def lifespan(_: Any) -> AsyncIterator[None]:
    for _ in range(POOL_SIZE):
        db = await aiosqlite.connect(PATH)
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA journal_mode=WAL")
        idle.put_nowait(db)
    yield
    while not idle.empty():
        await idle.get_nowait().close()


@asynccontextmanager
async def connection() -> AsyncIterator[aiosqlite.Connection]:
    taken = await idle.get()
    try:
        yield taken
    finally:
        idle.put_nowait(taken)


async def get(request: Request) -> Response:
    key = values.key_in(request.path_params["product_id"])
    async with connection() as db:
        row = await (await db.execute(sql.get, (key,))).fetchone()
        if row is None:
            return json_response({"detail": "Product not found"}, 404)
        tags = await db.execute_fetchall(sql.tags_of(1), (key,))
    return json_response(values.product(row, [values.tag(tag[1:]) for tag in tags]))


async def list_(request: Request) -> Response:
    limit, offset = page_bounds(request.query_params)
    async with connection() as db:
        total = (await db.execute_fetchall(sql.count))[0][0]
        rows = await db.execute_fetchall(sql.page, (limit + 1, offset))
        tags = values.tags_by_product(
            await db.execute_fetchall(sql.tags_of(len(rows)), [row[0] for row in rows])
        )
    return json_response(values.page(rows, tags, total, limit, offset))


async def create(request: Request) -> Response:
    new = new_product(await request.json(), values)
    key = new.key
    async with connection() as db:
        category = None
        if new.category is not None:
            found = await db.execute_fetchall(sql.category, (new.category,))
            if not found:
                return json_response({"detail": "no such category"}, 422)
            category = values.category(next(iter(found)))
        tags = [values.tag(row) for row in await db.execute_fetchall(sql.tags(len(new.tags)), new.tags)]
        if len(tags) != len(new.tags):
            return json_response({"detail": "no such tag"}, 422)
        # sqlite3 (under aiosqlite) opens the transaction before the insert.
        cursor = await db.execute(sql.insert_product, new.parameters)
        if key is None:
            key = cursor.lastrowid
        await db.executemany(sql.insert_link, [(key, tag) for tag in new.tags])
        await db.commit()
    return json_response({"id": values.key(key), **new.fields, "category": category, "tags": tags}, 201)


async def get_tag(request: Request) -> Response:
    async with connection() as db:
        row = await (await db.execute(sql.tag, (values.key_in(request.path_params["tag_id"]),))).fetchone()
    if row is None:
        return json_response({"detail": "Tag not found"}, 404)
    return json_response(values.tag(row))


app = app(get, list_, create, get_tag, lifespan)
