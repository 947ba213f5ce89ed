"""Baseline for postgresql + sync: psycopg 3, a queue of connections, Starlette, json.dumps.

The endpoints are plain functions, so Starlette runs them in its threadpool, as FastAPI runs
the sync service's routes.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from baseline_common import DATABASE_URL, POOL_SIZE, Sql, Values, app, json_response, new_product, page_bounds
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

sql = Sql(lambda _: "%s", lambda _, __: "{column} = ANY(%s)", returning=True)
values = Values(sqlite=False)
idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()


@contextmanager
def connection() -> Iterator[psycopg.Connection[Any]]:
    """A pooled connection in autocommit mode: reads need no transaction."""
    try:
        taken = idle.get_nowait()
    except queue.Empty:
        taken = psycopg.connect(DATABASE_URL, autocommit=True)
    try:
        yield taken
    finally:
        if idle.qsize() < POOL_SIZE:
            idle.put(taken)
        else:
            taken.close()


def get(request: Request) -> Response:
    key = values.key_in(request.path_params["product_id"])
    with connection() as db:
        row = db.execute(sql.get, (key,)).fetchone()
        if row is None:
            return json_response({"detail": "Product not found"}, 404)
        tags = db.execute(sql.tags_of(1), ([key],)).fetchall()
    return json_response(values.product(row, [values.tag(tag[1:]) for tag in tags]))


def list_(request: Request) -> Response:
    limit, offset = page_bounds(request.query_params)
    with connection() as db:
        total = db.execute(sql.count).fetchone()
        rows = db.execute(sql.page, (limit + 1, offset)).fetchall()
        tags = values.tags_by_product(
            db.execute(sql.tags_of(len(rows)), ([row[0] for row in rows],)).fetchall()
        )
    return json_response(values.page(rows, tags, total[0] if total else 0, limit, offset))


async def create(request: Request) -> Response:
    # Reading the body is async in Starlette; the database work goes to the threadpool, as the
    # sync service's route does after FastAPI has read and validated the body.
    body = await request.json()
    return await run_in_threadpool(insert, body)


def insert(body: dict[str, Any]) -> Response:
    new = new_product(body, values)
    key = new.key
    with connection() as db, db.transaction():
        category = None
        if new.category is not None:
            found = db.execute(sql.category, (new.category,)).fetchone()
            if found is None:
                return json_response({"detail": "no such category"}, 422)
            category = values.category(found)
        tags = (
            [values.tag(row) for row in db.execute(sql.tags(len(new.tags)), (new.tags,)).fetchall()]
            if new.tags
            else []
        )
        if len(tags) != len(new.tags):
            return json_response({"detail": "no such tag"}, 422)
        cursor = db.execute(sql.insert_product, new.parameters)
        if key is None:
            returned = cursor.fetchone()
            assert returned is not None
            key = returned[0]
        db.cursor().executemany(sql.insert_link, [(key, tag) for tag in new.tags])
    return json_response({"id": values.key(key), **new.fields, "category": category, "tags": tags}, 201)


def get_tag(request: Request) -> Response:
    with connection() as db:
        row = db.execute(sql.tag, (values.key_in(request.path_params["tag_id"]),)).fetchone()
    if row is None:
        return json_response({"detail": "Tag not found"}, 404)
    return json_response(values.tag(row))


app = app(get, list_, create, get_tag)
