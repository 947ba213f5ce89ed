"""Invalid answers are refused before anything is written; good answers render."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import PACKAGE_NAME, PROJECT_NAME, REPO_ROOT, render

# (question, invalid answer, pattern the error message must contain besides the question name)
INVALID: list[tuple[str, Any, str]] = [
    ("project_name", "", r"project_name"),
    ("project_name", "1abc", r"start with a letter"),
    ("project_name", 'bad"name', r"project_name"),
    ("project_name", "trailing-", r"project_name"),
    ("project_name", "x" * 81, r"80"),
    ("package_name", "class", r"keyword"),
    ("package_name", "json", r"standard library"),
    ("package_name", "typing", r"standard library"),
    ("package_name", "Bad-Name", r"lowercase"),
    ("package_name", "1pkg", r"lowercase"),
    ("package_name", "fastapi", r"clash|dependency"),
    ("package_name", "alembic", r"clash|dependency"),
    ("description", "two\nlines", r"one line"),
    ("description", 'say "hi"', r"description"),
    ("author_name", "back\\slash", r"author_name"),
    ("author_email", "nope", r"author_email"),
    ("author_email", "a@b", r"author_email"),
    ("author_email", "a b@example.com", r"author_email"),
    # Empty answers, where a question needs text.
    ("package_name", "", r"lowercase"),
    ("description", "", r"description"),
    ("author_name", "", r"author_name"),
    ("author_email", "", r"author_email"),
    # Wrong type or not one of the choices.
    ("project_name", 42, r"start with a letter"),
    ("database", "mysql", r"sqlite"),
    ("database", "", r"sqlite"),
    ("session_style", "threads", r"async"),
    ("primary_key", "bigint", r"uuid"),
    ("primary_key", 1, r"uuid"),
    ("soft_delete", "maybe", r"true or false"),
    ("soft_delete", 3, r"true or false"),
]


@pytest.mark.parametrize(
    ("question", "answer", "message"),
    [pytest.param(*case, id=f"{case[0]}={case[1]!r}"[:60]) for case in INVALID],
)
def test_invalid_answer_is_refused(tmp_path: Path, question: str, answer: Any, message: str) -> None:
    dst = tmp_path / "never-created"
    data = {"project_name": PROJECT_NAME, question: answer}
    with pytest.raises(ValueError, match=f"'{question}'") as raised:
        render(dst, data)
    assert re.search(message, str(raised.value), re.IGNORECASE), str(raised.value)
    assert not dst.exists()


def test_project_name_is_required(tmp_path: Path) -> None:
    dst = tmp_path / "never-created"
    with pytest.raises(ValueError, match="project_name"):
        render(dst, {})
    assert not dst.exists()


def test_good_answers_render(tmp_path: Path) -> None:
    """Defaults plus a project name: the package name is derived from it."""
    dst = tmp_path / "service"
    render(dst, {"project_name": PROJECT_NAME})
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["package_name"] == PACKAGE_NAME
    assert (dst / "src" / PACKAGE_NAME / "__init__.py").is_file()
    assert (dst / "pyproject.toml").is_file()


@pytest.mark.parametrize(
    ("data", "package_name"),
    [
        pytest.param({"project_name": "A"}, "a", id="one-letter"),
        pytest.param({"project_name": "Billing API 2"}, "billing_api_2", id="digits"),
        pytest.param({"project_name": "my-service.v2"}, "my_service_v2", id="punctuation"),
        pytest.param({"project_name": PROJECT_NAME, "package_name": "catalog"}, "catalog", id="explicit"),
        pytest.param(
            {"project_name": PROJECT_NAME, "author_email": "first.last+tag@mail.example.org"},
            PACKAGE_NAME,
            id="email",
        ),
    ],
)
def test_edge_answers_are_accepted(tmp_path: Path, data: dict[str, Any], package_name: str) -> None:
    worker = render(tmp_path / "service", data, pretend=True)
    assert worker.answers.combined["package_name"] == package_name


def test_the_command_line_refuses_a_bad_answer_and_writes_nothing(tmp_path: Path) -> None:
    """What a user sees: copier exits non-zero with the validator's message, and no project."""
    dst = tmp_path / "never-created"
    copier = Path(sys.executable).parent / "copier"
    command = [str(copier), "copy", "--trust", "--defaults", "--vcs-ref=HEAD"]
    command += ["-d", f"project_name={PROJECT_NAME}", "-d", "package_name=json", str(REPO_ROOT), str(dst)]
    result = subprocess.run(command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode != 0
    assert "standard library" in result.stderr, result.stderr
    assert not dst.exists()
