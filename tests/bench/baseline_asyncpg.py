"""Baseline for postgresql + async: asyncpg, a queue of connections, Starlette, json.dumps.

Not asyncpg's own pool: it resets each connection it takes back (one more round trip a
request), which the service's SQLAlchemy pool does not do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from baseline_common import DATABASE_URL, POOL_SIZE, Sql, Values, app, json_response, new_product, page_bounds
from starlette.requests import Request
from starlette.responses import Response

sql = Sql(lambda n: f"${n}", lambda n, _: f"{{column}} = ANY(${n})", returning=True)
values = Values(sqlite=False)
idle: asyncio.Queue[asyncpg.Connection[Any]] = asyncio.Queue()


@asynccontextmanager
async def lifespan(_: Any) -> AsyncIterator[None]:
    for _ in range(POOL_SIZE):
        idle.put_nowait(await asyncpg.connect(DATABASE_URL))
    yield
    while not idle.empty():
        await idle.get_nowait().close()


@asynccontextmanager
async def connection() -> AsyncIterator[asyncpg.Connection[Any]]:
    taken = await idle.get()
    try:
        yield taken
    finally:
        idle.put_nowait(taken)


async def get(request: Request) -> Response:
    key = values.key_in(request.path_params["product_id"])
    async with connection() as db:
        row = await db.fetchrow(sql.get, key)
        if row is None:
            return json_response({"detail": "Product not found"}, 404)
        tags = await db.fetch(sql.tags_of(1), [key])
    return json_response(values.product(row, [values.tag(tag[1:]) for tag in tags]))


async def list_(request: Request) -> Response:
    limit, offset = page_bounds(request.query_params)
    async with connection() as db:
        total = await db.fetchval(sql.count)
        rows = await db.fetch(sql.page, limit + 1, offset)
        tags = values.tags_by_product(await db.fetch(sql.tags_of(len(rows)), [row[0] for row in rows]))
    return json_response(values.page(rows, tags, total, limit, offset))


async def create(request: Request) -> Response:
    body = await request.json()
    new = new_product(body, values)
    key = new.key
    async with connection() as db, db.transaction():
        category = None
        if new.category is not None:
            found = await db.fetchrow(sql.category, new.category)
            if found is None:
                return json_response({"detail": "no such category"}, 422)
            category = values.category(found)
        tags = (
            [values.tag(row) for row in await db.fetch(sql.tags(len(new.tags)), new.tags)] if new.tags else []
        )
        if len(tags) != len(new.tags):
            return json_response({"detail": "no such tag"}, 422)
        if key is None:
            key = await db.fetchval(sql.insert_product, *new.parameters)
        else:
            await db.execute(sql.insert_product, *new.parameters)
        await db.executemany(sql.insert_link, [(key, tag) for tag in new.tags])
    return json_response({"id": values.key(key), **new.fields, "category": category, "tags": tags}, 201)


async def get_tag(request: Request) -> Response:
    async with connection() as db:
        row = await db.fetchrow(sql.tag, values.key_in(request.path_params["tag_id"]))
    if row is None:
        return json_response({"detail": "Tag not found"}, 404)
    return json_response(values.tag(row))


app = app(get, list_, create, get_tag, lifespan)
