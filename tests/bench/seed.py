"""Fill a migrated database with the catalogue the benchmark reads, in bulk, through the raw driver.

SQLite through `sqlite3` (executemany in one transaction), PostgreSQL through psycopg (COPY).
The rows are what the migrations in template/migrations/versions define: 20 categories, 50
tags, and products that each have a category and two tags. Rows are stored the way the
service's SQLAlchemy types store them, so the service reads them back like its own: on SQLite,
UUIDs as 32 hex digits and timestamps as "YYYY-MM-DD HH:MM:SS.ffffff" UTC text.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

CATEGORIES = 20
TAGS = 50
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCT_COLUMNS = (
    "id",
    "name",
    "description",
    "price",
    "is_active",
    "category_id",
    "created_at",
    "updated_at",
)


@dataclasses.dataclass(frozen=True)
class Database:
    """A migrated database of one combination: a SQLite file or a PostgreSQL URL."""

    url: str  # as the service takes it in DATABASE_URL
    primary_key: str  # int or uuid

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def sqlite_path(self) -> str:
        return self.url.removeprefix("sqlite:///")


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class _Rows:
    """Row values for one database, in the storage format of its driver."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def key(self, number: int) -> Any:
        """The id of the `number`-th row (1-based) of a table."""
        if self.database.primary_key == "int":
            return number
        key = uuid.uuid4()
        return key.hex if self.database.is_sqlite else key

    def time(self, moment: datetime) -> Any:
        return _sqlite_time(moment) if self.database.is_sqlite else moment

    def price(self, number: int) -> Any:
        price = Decimal(number % 1000 + 1) + Decimal(number % 100) / 100
        return str(price) if self.database.is_sqlite else price

    def boolean(self, value: bool) -> Any:
        return int(value) if self.database.is_sqlite else value


def _named_rows(rows: _Rows, count: int, label: str) -> list[tuple[Any, ...]]:
    moment = rows.time(EPOCH)
    return [(rows.key(n), f"{label} {n}", moment, moment) for n in range(1, count + 1)]


def _products(
    rows: _Rows, start: int, stop: int, next_key: int, categories: Sequence[Any], tags: Sequence[Any]
) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, Any]]]]:
    """Products `start` to `stop - 1` (each name unique) with the two product_tags rows of each."""
    for offset, number in enumerate(range(start, stop)):
        key = rows.key(next_key + offset)
        moment = rows.time(EPOCH + timedelta(seconds=number))
        product = (
            key,
            f"Seeded product {number}",
            f"Product number {number}, seeded for the benchmark.",
            rows.price(number),
            rows.boolean(number % 10 != 0),
            categories[number % len(categories)],
            moment,
            moment,
        )
        # 7n + 1 and n differ modulo 50 for every n: two different tags.
        links = [(key, tags[number % len(tags)]), (key, tags[(number * 7 + 1) % len(tags)])]
        yield product, links


def grow(database: Database, products: int) -> None:
    """Add products (and, into an empty database, categories and tags) until there are `products`."""
    if database.is_sqlite:
        _grow_sqlite(database, products)
    else:
        _grow_postgresql(database, products)


def _grow_sqlite(database: Database, products: int) -> None:
    rows = _Rows(database)
    connection = sqlite3.connect(database.sqlite_path)
    try:
        with connection:
            if connection.execute("SELECT count(*) FROM categories").fetchone()[0] == 0:
                for table, count, label in (("categories", CATEGORIES, "Category"), ("tags", TAGS, "tag")):
                    connection.executemany(
                        f"INSERT INTO {table} (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                        _named_rows(rows, count, label),
                    )
            categories = [row[0] for row in connection.execute("SELECT id FROM categories ORDER BY name")]
            tags = [row[0] for row in connection.execute("SELECT id FROM tags ORDER BY name")]
            present, last = connection.execute(
                "SELECT count(*), coalesce(max(rowid), 0) FROM products"
            ).fetchone()
            made = list(_products(rows, present, products, last + 1, categories, tags))
            connection.executemany(
                f"INSERT INTO products ({', '.join(PRODUCT_COLUMNS)}) VALUES ({', '.join('?' * 8)})",
                [product for product, _ in made],
            )
            connection.executemany(
                "INSERT INTO product_tags (product_id, tag_id) VALUES (?, ?)",
                [link for _, links in made for link in links],
            )
        connection.execute("ANALYZE")
    finally:
        connection.close()


def _grow_postgresql(database: Database, products: int) -> None:
    import psycopg

    rows = _Rows(database)
    with psycopg.connect(database.url) as connection:
        with connection.transaction():
            if connection.execute("SELECT count(*) FROM categories").fetchone() == (0,):
                for table, count, label in (("categories", CATEGORIES, "Category"), ("tags", TAGS, "tag")):
                    with connection.cursor().copy(
                        f"COPY {table} (id, name, created_at, updated_at) FROM STDIN"
                    ) as copy:
                        for row in _named_rows(rows, count, label):
                            copy.write_row(row)
            categories = [row[0] for row in connection.execute("SELECT id FROM categories ORDER BY name")]
            tags = [row[0] for row in connection.execute("SELECT id FROM tags ORDER BY name")]
            if database.primary_key == "int":
                last = connection.execute("SELECT coalesce(max(id), 0) FROM products").fetchone()
                next_key = last[0] + 1 if last else 1
            else:
                next_key = 1
            counted = connection.execute("SELECT count(*) FROM products").fetchone()
            present = counted[0] if counted else 0
            links: list[tuple[Any, Any]] = []
            cursor = connection.cursor()
            with cursor.copy(f"COPY products ({', '.join(PRODUCT_COLUMNS)}) FROM STDIN") as copy:
                for product, product_links in _products(rows, present, products, next_key, categories, tags):
                    copy.write_row(product)
                    links.extend(product_links)
            with cursor.copy("COPY product_tags (product_id, tag_id) FROM STDIN") as copy:
                for link in links:
                    copy.write_row(link)
            if database.primary_key == "int":
                # Explicit ids leave the identity sequences behind: the service's inserts must
                # not reuse them.
                for table in ("categories", "tags", "products"):
                    connection.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                    )
        connection.autocommit = True
        connection.execute("ANALYZE")


def row_ids(database: Database, table: str = "products") -> list[str]:
    """Every id of `table`, as the API spells it."""
    query = f"SELECT id FROM {table}"
    if database.is_sqlite:
        connection = sqlite3.connect(database.sqlite_path)
        try:
            keys = [row[0] for row in connection.execute(query)]
        finally:
            connection.close()
    else:
        import psycopg

        with psycopg.connect(database.url) as connection:
            keys = [row[0] for row in connection.execute(query)]
    if database.primary_key == "uuid":
        return [str(uuid.UUID(str(key))) for key in keys]
    return [str(key) for key in keys]


def write_ids(database: Database, path: Path, table: str = "products") -> int:
    """One id of `table` a line, for the load generator's get-by-id requests; returns how many."""
    keys = row_ids(database, table)
    path.write_text("".join(f"{key}\n" for key in keys))
    return len(keys)


def references(database: Database) -> tuple[str, list[str]]:
    """A category id and two tag ids, as JSON literals, for the create requests."""
    query_category = "SELECT id FROM categories ORDER BY name LIMIT 1"
    query_tags = "SELECT id FROM tags ORDER BY name LIMIT 2"
    if database.is_sqlite:
        connection = sqlite3.connect(database.sqlite_path)
        try:
            category = connection.execute(query_category).fetchone()[0]
            tags = [row[0] for row in connection.execute(query_tags)]
        finally:
            connection.close()
    else:
        import psycopg

        with psycopg.connect(database.url) as connection:
            row = connection.execute(query_category).fetchone()
            assert row is not None
            category = row[0]
            tags = [tag_row[0] for tag_row in connection.execute(query_tags)]
    if database.primary_key == "uuid":
        return f'"{uuid.UUID(str(category))}"', [f'"{uuid.UUID(str(tag))}"' for tag in tags]
    return str(category), [str(tag) for tag in tags]
