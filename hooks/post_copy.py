"""Post-copy task: make the new project a git repository, then print the next steps.

Run by Copier after `copier copy` (never inside `copier update`), in the new project's directory:

    python hooks/post_copy.py <package_name>

Convenience only: the generated project is complete without it (`copier copy --skip-tasks`).
First, when uv is on PATH, it writes `uv.lock` (`uv lock`), so the dependencies are locked
from the first commit: the generated CI and Dockerfile install with `--locked`, and the first
`copier update` does not find a lock file that was never committed. Then it creates a
repository with a first commit, lock file included, only when the project is not inside a git
work tree already and git knows who the author is; otherwise it says what to run by hand. It
always exits 0, because a failing task would make Copier delete the project it just made.
Standard library only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

FIRST_COMMIT_MESSAGE = "Generate the project from its Copier template"
BY_HAND = "git init && git add --all && git commit -m 'Generate the project'"
LOCK_TIMEOUT = 300  # seconds; resolving needs the package index


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def inside_work_tree() -> bool:
    result = git("rev-parse", "--is-inside-work-tree")
    return result.returncode == 0 and result.stdout.strip() == "true"


def has_identity() -> bool:
    """Whether git would accept a commit: author and committer are known."""
    return all(git("var", name).returncode == 0 for name in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"))


def write_lock() -> str:
    """`uv lock` in the project; say what happened. Never raises."""
    uv = shutil.which("uv")
    if uv is None:
        return "uv is not installed: no uv.lock written. Later: uv lock && git add uv.lock && git commit"
    try:
        result = subprocess.run(
            [uv, "lock", "--quiet"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=LOCK_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return f"`uv lock` took over {LOCK_TIMEOUT} s: no uv.lock written. Later: uv lock, then commit it"
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        reason = detail[-1] if detail else f"exit status {result.returncode}"
        return f"`uv lock` failed ({reason}): no uv.lock written. Later: uv lock, then commit it"
    return "Locked the dependencies in uv.lock."


def make_repository() -> str:
    """Create the repository and its first commit if it makes sense; say what happened."""
    if shutil.which("git") is None:
        return f"git is not installed: no repository created. Later: {BY_HAND}"
    if inside_work_tree():
        return "Inside an existing git repository: nothing initialised; commit the new files there."
    if not has_identity():
        return (
            "git does not know who you are (user.name, user.email): no repository created.\n"
            f"  Set them, then: {BY_HAND}"
        )
    for args in (
        ("init", "--quiet"),
        ("add", "--all"),
        ("commit", "--quiet", "--no-verify", "-m", FIRST_COMMIT_MESSAGE),
    ):
        result = git(*args)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()
            reason = detail[-1] if detail else f"exit status {result.returncode}"
            return f"`git {' '.join(args[:1])}` failed ({reason}); finish by hand: {BY_HAND}"
    return "Created a git repository with a first commit (`copier update` needs one)."


def next_steps(package: str, project: Path) -> str:
    """The commands to type after `uv sync`, in order, that work on a machine with no database server.

    PostgreSQL projects (they have scripts/dev.py) run on an embedded PostgreSQL, as their tests
    do; SQLite projects make their database file.
    """
    if (project / "scripts" / "dev.py").is_file():
        lines = [
            "uv run pytest                             # run the tests (they start their own PostgreSQL)",
            "uv run scripts/dev.py                     # serve on an embedded PostgreSQL; Ctrl-C stops it",
            "# On a PostgreSQL of your own: set DATABASE_URL in .env (see .env.example), then",
            f"#   uv run alembic upgrade head && uv run uvicorn {package}.main:app --reload",
        ]
    else:
        lines = [
            "uv run pytest                             # run the tests",
            f"uv run alembic upgrade head               # create the schema (./{package}.db)",
            f"uv run uvicorn {package}.main:app --reload",
        ]
    return "\n".join(f"  {line}" for line in lines)


def main(argv: list[str]) -> int:
    package = argv[1] if len(argv) > 1 else "<package>"
    lock = write_lock()
    repository = make_repository()
    project = Path.cwd()
    print(
        f"""
{lock}
{repository}

Next steps:
  cd {project}
  uv sync                                   # install the service and its dev tools
{next_steps(package, project)}
  uvx pre-commit install                    # optional: ruff, mypy, conflict markers on commit

Later, `copier update` brings in new template versions (see .copier-answers.yml).
""",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as error:  # noqa: BLE001 - a task failure would delete the new project
        print(f"post-copy hook: {error}; the project itself is complete.", file=sys.stderr)
        sys.exit(0)
