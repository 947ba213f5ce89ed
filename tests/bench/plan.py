"""What the benchmark measures: the combinations, their databases, and the sizes and durations.

Standard library only: noxfile.py imports it to create the PostgreSQL databases.
"""

from __future__ import annotations

import argparse
import dataclasses


@dataclasses.dataclass(frozen=True)
class Combination:
    database: str
    session_style: str
    primary_key: str = "int"
    soft_delete: bool = False

    @property
    def id(self) -> str:
        delete = "soft" if self.soft_delete else "hard"
        return f"{self.database}-{self.session_style}-{self.primary_key}-{delete}"

    @property
    def label(self) -> str:
        """Short name for tables and the chart."""
        parts = [self.database, self.session_style]
        if self.primary_key != "int":
            parts.append(self.primary_key)
        if self.soft_delete:
            parts.append("soft delete")
        return " ".join(parts)

    @property
    def driver(self) -> str:
        return {
            ("postgresql", "async"): "asyncpg",
            ("postgresql", "sync"): "psycopg",
            ("sqlite", "async"): "aiosqlite",
            ("sqlite", "sync"): "sqlite3",
        }[self.database, self.session_style]

    def database_name(self, role: str) -> str:
        """Name of the PostgreSQL database (or SQLite file stem) for `role`: main or small."""
        return f"bench_{self.id.replace('-', '_')}_{role}"

    @property
    def copier_data(self) -> dict[str, str]:
        return {
            "database": self.database,
            "session_style": self.session_style,
            "primary_key": self.primary_key,
            "soft_delete": str(self.soft_delete).lower(),
        }


# Integer keys and hard delete: the defaults. The other two choices add a column or change a
# key type; they do not change the request path the way the driver and session style do.
COMBINATIONS = [
    Combination("sqlite", "async"),
    Combination("sqlite", "sync"),
    Combination("postgresql", "async"),
    Combination("postgresql", "sync"),
]


def parse(combination_id: str) -> Combination:
    """The combination named like `Combination.id`, e.g. postgresql-async-uuid-soft."""
    parts = combination_id.split("-")
    if (
        len(parts) != 4
        or parts[0] not in ("sqlite", "postgresql")
        or parts[1] not in ("async", "sync")
        or parts[2] not in ("int", "uuid")
        or parts[3] not in ("soft", "hard")
    ):
        raise ValueError(
            f"{combination_id!r} names no combination: database-style-key-delete, e.g. sqlite-sync-int-hard"
        )
    return Combination(parts[0], parts[1], parts[2], parts[3] == "soft")


def selected(arguments: list[str]) -> list[Combination]:
    """The combinations run.py's arguments name with --only; else COMBINATIONS."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--only", action="append", default=[])
    return [parse(name) for name in parser.parse_known_args(arguments)[0].only] or COMBINATIONS


DATABASE_ROLES = ("main", "small")

PRODUCTS = 10_000  # the main database, for every endpoint
SMALL_PRODUCTS = 1_000  # get-by-id at 1 000 rows ...
LARGE_PRODUCTS = 100_000  # ... against the main database grown to 100 000
FAR_OFFSET = 9_000  # list at offset 0 against offset 9 000
PAGE = 50  # list limit

CONNECTIONS = 8  # concurrent connections of the load generator
WARMUP_SECONDS = 1.0  # per side, before each comparison, not counted
SLICE_SECONDS = 3.0  # one measured run
SLICES = 2  # per side; the two sides alternate, so a burst of other load hits both
PROFILE_REQUESTS = 300  # get-by-id requests profiled in-process (slowed some 3 times)
RATIO_GOAL = 0.5  # get-by-id rps of the app over its baseline; profiled below this
