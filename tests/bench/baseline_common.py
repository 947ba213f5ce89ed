"""What the four baselines share: the SQL, the JSON, and the combination they stand beside.

A baseline answers the benchmarked requests the way the generated service does (same paths,
same rows, same JSON with the category and tags nested, same insert for create) with the raw
driver and `json.dumps`: the floor the service is measured against. Runs in a generated
project's .venv; the combination comes from the environment:

    BENCH_DATABASE_URL   the service's database (postgresql://... or sqlite:///...)
    BENCH_PRIMARY_KEY    int or uuid
    BENCH_SOFT_DELETE    1 when the project has soft delete (deleted rows are hidden)
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

DATABASE_URL = os.environ["BENCH_DATABASE_URL"]
UUID_KEYS = os.environ["BENCH_PRIMARY_KEY"] == "uuid"
SOFT_DELETE = os.environ.get("BENCH_SOFT_DELETE") == "1"
POOL_SIZE = 10
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_DELETED = ", {table}.deleted_at" if SOFT_DELETE else ""


class Sql:
    """The statements, for one driver's placeholder style."""

    def __init__(
        self, placeholder: Callable[[int], str], any_of: Callable[[int, int], str], *, returning: bool
    ) -> None:
        """`placeholder(n)` is the n-th parameter (1-based); `any_of(n, count)` tests a column
        against `count` parameters starting at the n-th; `returning`: the insert returns the
        new id (PostgreSQL; SQLite has the cursor's lastrowid)."""
        self.placeholder = placeholder
        self.any_of = any_of
        live = " AND products.deleted_at IS NULL" if SOFT_DELETE else ""
        live_category = " AND categories.deleted_at IS NULL" if SOFT_DELETE else ""
        self.product = (
            "SELECT products.id, products.created_at, products.updated_at, products.name,"
            " products.description, products.price, products.is_active, categories.id,"
            " categories.created_at, categories.updated_at, categories.name, categories.description"
            f"{_DELETED.format(table='products')}{_DELETED.format(table='categories')}"
            ", products.availability FROM products LEFT JOIN categories"
            f" ON categories.id = products.category_id{live_category}"
        )
        self.get = f"{self.product} WHERE products.id = {placeholder(1)}{live}"
        self.count = "SELECT count(*) FROM products" + (" WHERE deleted_at IS NULL" if SOFT_DELETE else "")
        self.page = (
            f"{self.product}{' WHERE products.deleted_at IS NULL' if SOFT_DELETE else ''}"
            f" ORDER BY products.created_at, products.id LIMIT {placeholder(1)} OFFSET {placeholder(2)}"
        )
        self.category = (
            "SELECT id, created_at, updated_at, name, description"
            f"{_DELETED.format(table='categories')} FROM categories WHERE id = {placeholder(1)}"
            + (" AND deleted_at IS NULL" if SOFT_DELETE else "")
        )
        self.tag = (
            f"SELECT id, created_at, updated_at, name{_DELETED.format(table='tags')} FROM tags"
            f" WHERE id = {placeholder(1)}" + (" AND deleted_at IS NULL" if SOFT_DELETE else "")
        )
        columns = "name, description, price, is_active, category_id, created_at, updated_at"
        if UUID_KEYS:
            columns = f"id, {columns}"
        self.insert_product = (
            f"INSERT INTO products ({columns})"
            f" VALUES ({', '.join(placeholder(n) for n in range(1, columns.count(',') + 2))})"
            + (" RETURNING id" if returning and not UUID_KEYS else "")
        )
        self.insert_link = (
            f"INSERT INTO product_tags (product_id, tag_id) VALUES ({placeholder(1)}, {placeholder(2)})"
        )

    def tags_of(self, count: int) -> str:
        """Tags of `count` products (product id first), by name."""
        live = " AND tags.deleted_at IS NULL" if SOFT_DELETE else ""
        return (
            "SELECT product_tags.product_id, tags.id, tags.created_at, tags.updated_at, tags.name"
            f"{_DELETED.format(table='tags')} FROM product_tags JOIN tags ON tags.id = product_tags.tag_id"
            f" WHERE {self.any_of(1, count).format(column='product_tags.product_id')}{live}"
            " ORDER BY tags.name"
        )

    def tags(self, count: int) -> str:
        live = " AND deleted_at IS NULL" if SOFT_DELETE else ""
        return (
            f"SELECT id, created_at, updated_at, name{_DELETED.format(table='tags')} FROM tags"
            f" WHERE {self.any_of(1, count).format(column='id')}{live} ORDER BY name"
        )


class Values:
    """Turns what one driver returns into JSON values, like the service's response models."""

    def __init__(self, *, sqlite: bool) -> None:
        self.sqlite = sqlite

    def key(self, value: Any) -> Any:
        if UUID_KEYS:
            return str(uuid.UUID(value)) if self.sqlite else str(value)
        return value

    def key_in(self, text: str) -> Any:
        """A key from a path or a body, as the driver takes it."""
        if UUID_KEYS:
            key = uuid.UUID(str(text))
            return key.hex if self.sqlite else key
        return int(text)

    def time(self, value: Any) -> str | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(value).replace(tzinfo=UTC) if self.sqlite else value.astimezone(UTC)
        return iso(moment)

    def time_in(self, moment: datetime) -> Any:
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else moment

    def price(self, value: Any) -> str:
        return f"{value:.2f}" if self.sqlite else str(value)

    def entity(self, row: Sequence[Any], deleted: Any = None) -> dict[str, Any]:
        """id, created_at, updated_at (and deleted_at): the fields every response model starts with."""
        fields = {"id": self.key(row[0]), "created_at": self.time(row[1]), "updated_at": self.time(row[2])}
        if SOFT_DELETE:
            fields["deleted_at"] = self.time(deleted)
        return fields

    def category(self, row: Sequence[Any]) -> dict[str, Any]:
        return {**self.entity(row, row[5] if SOFT_DELETE else None), "name": row[3], "description": row[4]}

    def tag(self, row: Sequence[Any]) -> dict[str, Any]:
        """A row of `Sql.tags` (or of `Sql.tags_of` without its first column)."""
        return {**self.entity(row, row[4] if SOFT_DELETE else None), "name": row[3]}

    def product(self, row: Sequence[Any], tags: list[dict[str, Any]]) -> dict[str, Any]:
        """A row of `Sql.product` and the product's tags."""
        category = None
        if row[7] is not None:
            category = {
                **self.entity(row[7:10], row[13] if SOFT_DELETE else None),
                "name": row[10],
                "description": row[11],
            }
        return {
            **self.entity(row, row[12] if SOFT_DELETE else None),
            "name": row[3],
            "description": row[4],
            "price": self.price(row[5]),
            "is_active": bool(row[6]),
            "availability": row[-1],
            "category": category,
            "tags": tags,
        }

    def page(
        self,
        rows: Sequence[Sequence[Any]],
        tags: dict[Any, list[dict[str, Any]]],
        total: int,
        limit: int,
        offset: int,
    ) -> dict[str, Any]:
        """A list's JSON from rows of `Sql.page`: one more than `limit` when a page follows."""
        shown = rows[:limit]
        return {
            "items": [self.product(row, tags.get(self.key(row[0]), [])) for row in shown],
            "total": total,
            "limit": limit,
            "offset": offset,
            "next_cursor": self.cursor(shown[-1]) if len(rows) > limit else None,
        }

    def cursor(self, row: Sequence[Any]) -> str:
        """The service's cursor of a row (its schemas.Position): 7 bytes of microseconds since
        1970, then the id's bytes (8, signed, for an integer)."""
        moment = datetime.fromisoformat(row[1]).replace(tzinfo=UTC) if self.sqlite else row[1]
        microseconds = (moment - EPOCH) // timedelta(microseconds=1)
        key = self.key(row[0])
        key_bytes = uuid.UUID(str(key)).bytes if UUID_KEYS else int(key).to_bytes(8, signed=True)
        return (microseconds.to_bytes(7) + key_bytes).hex()

    def tags_by_product(self, rows: Sequence[Sequence[Any]]) -> dict[Any, list[dict[str, Any]]]:
        found: dict[Any, list[dict[str, Any]]] = {}
        for row in rows:
            found.setdefault(self.key(row[0]), []).append(self.tag(row[1:]))
        return found


def iso(moment: datetime) -> str:
    """A UTC time as the service's response models write it."""
    return moment.isoformat().replace("+00:00", "Z")


@dataclasses.dataclass
class NewProduct:
    """A create request's body, ready for the insert (the same defaults as the service)."""

    key: Any  # None for an int key, which the database assigns
    category: Any  # the category's key, or None
    tags: list[Any]  # the tags' keys, without repeats
    parameters: tuple[Any, ...]  # of Sql.insert_product
    fields: dict[str, Any]  # of the response, but id, category and tags


def new_product(body: dict[str, Any], values: Values) -> NewProduct:
    moment = datetime.now(UTC)
    stored = values.time_in(moment)
    price = Decimal(str(body["price"])).quantize(Decimal("0.01"))
    category_id = body.get("category_id")
    category = None if category_id is None else values.key_in(category_id)
    is_active = bool(body.get("is_active", True))
    parameters: tuple[Any, ...] = (
        body["name"],
        body.get("description"),
        str(price) if values.sqlite else price,
        is_active,
        category,
        stored,
        stored,
    )
    key = None
    if UUID_KEYS:
        key = values.key_in(str(uuid.uuid4()))
        parameters = (key, *parameters)
    fields: dict[str, Any] = {"created_at": iso(moment), "updated_at": iso(moment)}
    if SOFT_DELETE:
        fields["deleted_at"] = None
    fields |= {"name": body["name"], "description": body.get("description"), "price": str(price)}
    fields["is_active"] = is_active
    fields["availability"] = "in_stock"  # the column's default; the benchmark's bodies send none
    tags = list(dict.fromkeys(values.key_in(tag) for tag in body.get("tag_ids", [])))
    return NewProduct(key, category, tags, parameters, fields)


def json_response(content: Any, status_code: int = 200) -> Response:
    return Response(
        json.dumps(content, separators=(",", ":")).encode(), status_code, media_type="application/json"
    )


def page_bounds(query: Any) -> tuple[int, int]:
    return int(query.get("limit", "50")), int(query.get("offset", "0"))


def app(
    get: Callable[..., Any],
    list_: Callable[..., Any],
    create: Callable[..., Any],
    get_tag: Callable[..., Any],
    lifespan: Any = None,
) -> Starlette:
    """The baseline's routes; the endpoints are async or plain functions like the service's.

    `get_tag` is the single-table read that the textbook apps (textbook_*.py) answer too.
    """

    async def health(_: Any) -> Response:
        return json_response({"status": "ok"})

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/api/v1/products", list_, methods=["GET"]),
            Route("/api/v1/products", create, methods=["POST"]),
            Route("/api/v1/products/{product_id}", get, methods=["GET"]),
            Route("/api/v1/tags/{tag_id}", get_tag, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
