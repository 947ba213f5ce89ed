"""The template's 16 combinations of answers, and the one way each is named.

A combination's name is its four answers joined by hyphens, the delete answer as `soft` or
`hard`: `sqlite-async-int-hard`, `postgresql-sync-uuid-soft`. That name is used everywhere:
the nox session ids (`generated(sqlite-async-int-hard)`) and tags, the report files and rows,
the PostgreSQL databases, the benchmark's names and the template tests' ids.

Standard library only: the noxfile, tests/conftest.py, tests/reliability.py and tests/bench
import it.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

# The answers of the four questions, in copier.yml's order (the defaults first).
DATABASES = ("sqlite", "postgresql")
SESSION_STYLES = ("async", "sync")
PRIMARY_KEYS = ("int", "uuid")
DELETES = {"hard": False, "soft": True}  # name part -> answer to soft_delete


@dataclasses.dataclass(frozen=True)
class Combination:
    database: str
    session_style: str
    primary_key: str = "int"
    soft_delete: bool = False

    def __post_init__(self) -> None:
        if (
            self.database not in DATABASES
            or self.session_style not in SESSION_STYLES
            or self.primary_key not in PRIMARY_KEYS
            or not isinstance(self.soft_delete, bool)
        ):
            raise ValueError(f"no such combination: {self!r}")

    @property
    def delete(self) -> str:
        return "soft" if self.soft_delete else "hard"

    @property
    def parts(self) -> tuple[str, str, str, str]:
        return (self.database, self.session_style, self.primary_key, self.delete)

    @property
    def id(self) -> str:
        """The combination's name, e.g. `sqlite-async-int-hard`."""
        return "-".join(self.parts)

    @property
    def tags(self) -> list[str]:
        """nox tags: each part of the name (`uvx nox -t postgresql`, `-t soft`)."""
        return list(self.parts)

    @property
    def answers(self) -> dict[str, Any]:
        """Copier's answers to the four questions (soft_delete a bool)."""
        return dataclasses.asdict(self)

    @property
    def copier_data(self) -> list[str]:
        """The answers as `copier copy --data=...` arguments."""
        return [f"--data={key}={str(value).lower()}" for key, value in self.answers.items()]

    @property
    def driver(self) -> str:
        return {
            ("postgresql", "async"): "asyncpg",
            ("postgresql", "sync"): "psycopg",
            ("sqlite", "async"): "aiosqlite",
            ("sqlite", "sync"): "sqlite3",
        }[self.database, self.session_style]

    def database_name(self, role: str | None = None) -> str:
        """The PostgreSQL database (or SQLite file stem): the name, `-role` appended if given."""
        return self.id if role is None else f"{self.id}-{role}"


COMBINATIONS = [
    Combination(database, session_style, primary_key, soft_delete)
    for database, session_style, primary_key, soft_delete in itertools.product(
        DATABASES, SESSION_STYLES, PRIMARY_KEYS, (True, False)
    )
]


def parse(name: str) -> Combination:
    """The combination of that name, e.g. `postgresql-async-uuid-soft`."""
    parts = name.split("-")
    if (
        len(parts) != 4
        or parts[0] not in DATABASES
        or parts[1] not in SESSION_STYLES
        or parts[2] not in PRIMARY_KEYS
        or parts[3] not in DELETES
    ):
        raise ValueError(
            f"{name!r} names no combination: database-style-key-delete, e.g. sqlite-sync-int-hard"
        )
    return Combination(parts[0], parts[1], parts[2], DELETES[parts[3]])
