"""What the benchmark measures: the combinations, their databases, and the sizes and durations.

Combinations are named as everywhere else (nox_support.combinations): `sqlite-async-int-hard`;
their databases are `Combination.database_name(role)` for each of DATABASE_ROLES. Standard
library only besides nox_support: the noxfile imports it (as nox_support.bench_plan) to create
the PostgreSQL databases.
"""

from __future__ import annotations

import argparse

from nox_support.combinations import Combination, parse


def label(combination: Combination) -> str:
    """Short name for tables and the chart."""
    parts = [combination.database, combination.session_style]
    if combination.primary_key != "int":
        parts.append(combination.primary_key)
    if combination.soft_delete:
        parts.append("soft delete")
    return " ".join(parts)


# Integer keys and hard delete: the defaults. The other two choices add a column or change a
# key type; they do not change the request path the way the driver and session style do.
COMBINATIONS = [
    Combination("sqlite", "async"),
    Combination("sqlite", "sync"),
    Combination("postgresql", "async"),
    Combination("postgresql", "sync"),
]


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

WORKERS = 2  # uvicorn workers of the service measured beside its one-worker self
# SQLAlchemy's default pool, the template's before its own: the single-table read is measured on
# it too, beside the service as generated.
DEFAULT_POOL = {"DATABASE_POOL_SIZE": "5", "DATABASE_MAX_OVERFLOW": "10"}
CONNECTIONS = 8  # concurrent connections of the load generator
WARMUP_SECONDS = 1.0  # per side, before each comparison, not counted
SLICE_SECONDS = 3.0  # one measured run
SLICES = 2  # per side; the two sides alternate, so a burst of other load hits both
# The single-table read's sides (service, default pool, textbook, baseline) take more turns: its
# service / textbook verdict is the median of the ratios of runs made one after the other, and a
# burst of other load during one run moves one of those ratios, not the verdict.
PAIRED_SLICES = 4
PROFILE_REQUESTS = 300  # get-by-id requests profiled in-process (slowed some 3 times)
# ablation.py: get-tag requests a variant makes per round, and the rounds they take turns in.
ABLATION_REQUESTS = 500
ABLATION_ROUNDS = 7
RATIO_GOAL = 0.5  # get-by-id rps of the app over its baseline; profiled below this
