"""No rendered project ships a secret, and none lets git pick up the `.env` that holds its own."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Combination
from test_render import text_files

# The one password a rendered file may carry: the placeholder users replace.
PLACEHOLDER = "change-me"
# user:password@ in a URL.
URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@\s/]*)@")
# password = ..., SECRET_KEY: ..., api_token="...", and the like.
ASSIGNED_SECRET = re.compile(
    r"""(?ix) (?:password|passwd|secret|token|api[_-]?key) \w* ["']? \s* [:=] \s* ["']? ([^\s"',})]+)"""
)
# Values that are not secrets: a placeholder (`change-me`, or the word itself in an example
# such as user:password@host), or a reference to one kept elsewhere (${VAR}, settings.x, f(...)).
NOT_A_SECRET = re.compile(
    rf"^(?:{PLACEHOLDER}|password|\$\{{.*|\$\w+|\w+\.\w+.*|None|True|False|str|\w+\(.*)$"
)


def secrets_in(project: Path) -> list[str]:
    hits = []
    for relpath, text in text_files(project):
        for number, line in enumerate(text.splitlines(), start=1):
            values = URL_CREDENTIALS.findall(line) + ASSIGNED_SECRET.findall(line)
            hits += [
                f"{relpath}:{number}: {line.strip()}" for value in values if not NOT_A_SECRET.match(value)
            ]
    return hits


def test_no_file_carries_a_secret(project: Path) -> None:
    hits = secrets_in(project)
    assert not hits, "secrets in rendered files:\n" + "\n".join(hits)


def test_the_secret_scan_finds_secrets(tmp_path: Path) -> None:
    """The scan above would fail on a real password, wherever it hides."""
    (tmp_path / "settings.py").write_text('DATABASE_URL = "postgresql://app:hunter2@db/app"\n')
    (tmp_path / "compose.yaml").write_text("    POSTGRES_PASSWORD: hunter2\n")
    (tmp_path / "config.toml").write_text('api_key = "abc123"\n')
    assert len(secrets_in(tmp_path)) == 3


def test_the_env_example_holds_only_placeholders(project: Path, combination: Combination) -> None:
    example = (project / ".env.example").read_text(encoding="utf-8")
    passwords = URL_CREDENTIALS.findall(example)
    assert passwords == ([PLACEHOLDER] if combination.database == "postgresql" else [])


def test_git_ignores_the_env_file(project: Path, tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is needed to check the generated .gitignore", pytrace=False)
    shutil.copy(project / ".gitignore", tmp_path / ".gitignore")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".env").write_text(f"DATABASE_URL=postgresql://app:{PLACEHOLDER}@db/app\n")
    ignored = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", "-q", ".env"], check=False)
    assert ignored.returncode == 0, ".env is not ignored by the generated .gitignore"
