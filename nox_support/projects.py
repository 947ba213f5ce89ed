"""Generated projects: render one combination from the working tree, install it, run its checks."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import nox

from nox_support import postgres
from nox_support.combinations import Combination
from nox_support.environment import NOT_NOX_VENV
from nox_support.records import Timer

PROJECT_NAME = "Catalog Service"
COPIER = "copier>=9.19"
# Every rendered project is grown by one resource, with a link, before its checks: the resource
# generator's code is checked in every combination, beside the example resources.
GROWN_RESOURCE = ("--data=resource=suppliers", "--data=belongs_to=categories")

Env = dict[str, str | None]

# A run's sessions render their projects one after another, all at this one path (outside any
# repository: the post-copy task makes the project's first commit only there), and their Python
# processes write bytecode under PYCACHE_PREFIX rather than beside the sources. The packages uv
# links into each new .venv are then the same files at the same paths in every session: what
# the first session compiled, the next ones find compiled. Keyed by this checkout, like nox's
# own environments under .nox/, which two runs at once in one checkout would share as well.
_RUN_DIR = Path(tempfile.gettempdir()) / (
    "nox-projects-" + hashlib.sha256(str(Path(__file__).resolve().parent.parent).encode()).hexdigest()[:12]
)
PROJECT_DIR = _RUN_DIR / "project"
PYCACHE_PREFIX = _RUN_DIR / "pycache"
ALEMBIC_ROUND_TRIP = Path(__file__).resolve().parent / "alembic_round_trip.py"


def project_env(session: nox.Session, timer: Timer, combination: Combination, mypy_cache: str) -> Env:
    """The environment of the project's commands: its own .venv, its database, a shared mypy cache.

    PostgreSQL: a fresh database named after the combination. SQLite: a file in the project.
    """
    env: Env = {**NOT_NOX_VENV, "MYPY_CACHE_DIR": str((session.cache_dir / mypy_cache).resolve())}
    if combination.database == "postgresql":
        with timer.step("database"):
            server = postgres.server_url(session)
            url = postgres.fresh_database(session, server, combination.database_name())
        env |= {"DATABASE_URL": url, "TEST_DATABASE_URL": url}
    else:
        # The migration steps run in the project directory: the file lands there.
        env |= {"DATABASE_URL": "sqlite:///./migrations-check.db", "TEST_DATABASE_URL": None}
    session.log(f"DATABASE_URL={env['DATABASE_URL']}")
    return env


@contextlib.contextmanager
def rendered(
    session: nox.Session,
    timer: Timer,
    root: Path,
    combination: Combination,
    *,
    sync: Sequence[str] = (),
) -> Iterator[Path]:
    """Render the combination from ROOT's working tree into a temporary directory, add a resource
    to it with the resource generator (GROWN_RESOURCE) and `uv sync` it (with the extra arguments
    SYNC); yield the project.

    The project is at PROJECT_DIR, deleted afterwards, unless the block failed: then it is moved
    to a directory of its own and kept for inspection.
    """
    project = PROJECT_DIR
    shutil.rmtree(project, ignore_errors=True)  # a run that was stopped left it behind
    project.parent.mkdir(parents=True, exist_ok=True)
    succeeded = False
    try:
        with timer.step("render"):
            session.install(COPIER)
            session.run(
                *("copier", "copy", "--trust", "--vcs-ref=HEAD", "--defaults"),
                f"--data=project_name={PROJECT_NAME}",
                *combination.copier_data,
                str(root),
                str(project),
            )
            session.run(
                *("copier", "copy", "--trust", "--vcs-ref=HEAD", "--defaults"),
                *GROWN_RESOURCE,
                str(root),
                str(project),
            )
        with session.chdir(project), timer.step("install"):
            session.run("uv", "sync", *sync, external=True, env=NOT_NOX_VENV)
        yield project
        succeeded = True
    finally:
        if succeeded or not project.exists():
            shutil.rmtree(project, ignore_errors=True)
        else:
            kept = Path(tempfile.mkdtemp(prefix=f"generated-{combination.id}-")) / "project"
            shutil.move(project, kept)  # its .venv's scripts name the old path: `uv sync` again there
            session.log(f"generated project kept for inspection: {kept}")


def check(session: nox.Session, timer: Timer, project: Path, env: Env) -> None:
    """The generated project's own checks: lint, types, migrations both ways, its tests."""

    def uv(*args: str) -> None:
        session.run("uv", "run", *args, external=True, env=env)

    with session.chdir(project):
        with timer.step("lint"):
            uv("ruff", "check")
            uv("ruff", "format", "--check")
        with timer.step("typecheck"):
            uv("mypy")
        with timer.step("migrations"):
            uv("python", str(ALEMBIC_ROUND_TRIP))
        with timer.step("tests"):
            uv("pytest")


def log_versions(session: nox.Session, project: Path, packages: Sequence[str]) -> str:
    """Log the Python and the versions of PACKAGES installed in the project's .venv; return them."""
    code = (
        "import importlib.metadata as m, platform, sys\n"
        "print('python', platform.python_version())\n"
        "for name in sys.argv[1:]:\n"
        "    try: print(name, m.version(name))\n"
        "    except m.PackageNotFoundError: pass\n"
    )
    with session.chdir(project):
        versions = session.run(
            *("uv", "run", "--no-sync", "python", "-c", code, *packages),
            external=True,
            env=NOT_NOX_VENV,
            silent=True,
        )
    print(versions, end="", flush=True)
    return str(versions)
