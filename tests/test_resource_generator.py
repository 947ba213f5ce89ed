"""The resource generator: `copier copy --data resource=...` grows a generated project by a resource.

Renders of all 16 combinations grown by `suppliers` (belonging to `categories`) are held to the
render checks of the project template: no leftover Jinja, no trace of an unchosen option, Python
that compiles, the answers recorded. Bad names are refused with no file changed. Two projects, one
per database (one with soft delete and integer keys, one hard-deleting with UUIDs), generated from
a git repository of this template by its git URL, are grown by two resources and pass their own
checks (ruff, mypy --strict, the Alembic round trip with one head, their tests); then the
resource's `copier update -a .copier-answers.suppliers.yml` brings a new template version into it.
"""

from __future__ import annotations

import importlib
import re
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from conftest import Combination, render
from test_render import FORBIDDEN, leftover_jinja
from test_update import (  # the update tests' machinery: template clone, copier, uv, git
    DB_SCRIPT,
    PACKAGE,
    commit_all,
    conflict_lines,
    git,
    git_identity,  # noqa: F401 - autouse fixture: our own git identity
    make_template_repo,
    postgres_server_url,  # noqa: F401 - fixture: a PostgreSQL server
    rejects,
    release,
    snapshot,
    uv,
    with_database,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
SUPPLIERS = {"resource": "suppliers", "belongs_to": "categories"}
# The files the generator writes for `suppliers`, and the two it extends.
SUPPLIER_FILES = {
    ".copier-answers.suppliers.yml",
    f"src/{PACKAGE}/suppliers/__init__.py",
    f"src/{PACKAGE}/suppliers/crud.py",
    f"src/{PACKAGE}/suppliers/models.py",
    f"src/{PACKAGE}/suppliers/router.py",
    f"src/{PACKAGE}/suppliers/schemas.py",
    "migrations/versions/suppliers_0001_create_suppliers.py",
    "tests/test_suppliers.py",
}
REGISTRATIONS = {f"src/{PACKAGE}/app.py", f"src/{PACKAGE}/all_models.py"}


def add_resource(project: Path, template: str | Path = REPO_ROOT, **data: Any) -> None:
    """The command of the docs, `copier copy --trust --defaults --data ... TEMPLATE .`."""
    render(project, data, template=template)


def changed_files(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


@pytest.fixture(scope="module")
def grown_projects(tmp_path_factory: pytest.TempPathFactory) -> dict[Combination, Path]:
    """The grown copies of the renders, made once each, on first use."""
    return {}


@pytest.fixture
def grown(
    rendered: dict[Combination, Path | Exception],
    grown_projects: dict[Combination, Path],
    combination: Combination,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """The combination's render, copied, grown by suppliers belonging to categories."""
    if combination in grown_projects:
        return grown_projects[combination]
    result = rendered[combination]
    if isinstance(result, Exception):
        pytest.fail(f"rendering {combination.id} failed: {result}", pytrace=False)
    project = tmp_path_factory.mktemp("grown") / combination.id
    shutil.copytree(result, project, symlinks=True)
    before = snapshot(project)
    add_resource(project, **SUPPLIERS)
    assert changed_files(before, snapshot(project)) == SUPPLIER_FILES | REGISTRATIONS
    grown_projects[combination] = project
    return project


# --------------------------------------------------------------------------- renders


def test_grown_render_is_clean(grown: Path, combination: Combination) -> None:
    problems = []
    for relpath in sorted(SUPPLIER_FILES | REGISTRATIONS):
        text = (grown / relpath).read_text(encoding="utf-8")
        assert text.strip() or relpath.endswith("__init__.py"), f"{relpath} is empty"
        problems += [f"{relpath}: {line}" for line in text.splitlines() if leftover_jinja(line)]
        if relpath.startswith(".copier-answers"):
            continue  # it records every answer, by name
        for (question, answer), markers in FORBIDDEN.items():
            if combination.answers[question] == answer:
                problems += [f"{relpath}: {marker}" for marker in markers if re.search(marker, text)]
        if relpath.endswith(".py"):
            compile(text, relpath, "exec")
    assert not problems, "\n".join(problems)


def test_grown_answers_are_the_resources_and_the_projects(grown: Path, combination: Combination) -> None:
    project = yaml.safe_load((grown / ".copier-answers.yml").read_text(encoding="utf-8"))
    resource = yaml.safe_load((grown / ".copier-answers.suppliers.yml").read_text(encoding="utf-8"))

    assert "resource" not in project
    assert resource["_src_path"] == project["_src_path"]
    assert {key: value for key, value in resource.items() if not key.startswith("_")} == {
        **combination.answers,
        "package_name": PACKAGE,
        "resource": "suppliers",
        "singular": "supplier",
        "belongs_to": "categories",
        "parent_singular": "category",
    }


def test_grown_registration_and_revision(grown: Path, combination: Combination) -> None:
    app = (grown / "src" / PACKAGE / "app.py").read_text(encoding="utf-8")
    all_models = (grown / "src" / PACKAGE / "all_models.py").read_text(encoding="utf-8")
    revision = (grown / "migrations" / "versions" / "suppliers_0001_create_suppliers.py").read_text(
        encoding="utf-8"
    )

    assert "from .suppliers.router import router as suppliers_router\n" in app
    assert "    products_router,\n    suppliers_router,\n    tags_router,\n" in app
    assert "from .suppliers.models import Supplier\n" in all_models
    assert '    "Product",\n    "Supplier",\n    "Tag",\n' in all_models
    head = "0002" if combination.soft_delete else "0001"
    assert f'down_revision: str | Sequence[str] | None = "{head}"\n' in revision
    assert f"\nRevises: {head}\n" in revision


# --------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def project_to_grow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated project (soft delete on, so that every validator has its files)."""
    project = tmp_path_factory.mktemp("validators") / "project"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(
            src_path=str(REPO_ROOT),
            dst_path=str(project),
            data={"project_name": "Catalog Service", "soft_delete": True},
            defaults=True,
            vcs_ref="HEAD",
            quiet=True,
            unsafe=True,
            skip_tasks=True,
        )
    add_resource(project, resource="suppliers", belongs_to="categories")
    return project


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"resource": "Suppliers"}, "must be a plural snake_case identifier"),
        ({"resource": "supplier"}, "must be a plural snake_case identifier"),
        ({"resource": "purchase__orders"}, "must be a plural snake_case identifier"),
        ({"resource": "2fas"}, "must be a plural snake_case identifier"),
        ({"resource": "a" * 20 + "s"}, "at most 20 characters"),
        ({"resource": "class"}, "is a Python keyword"),
        ({"resource": "tags"}, "the project has a package or module"),
        ({"resource": "suppliers"}, "the project has a package or module"),
        ({"resource": "models"}, "the project has a package or module"),
        ({"resource": "product_tags"}, "a second table product_tags"),
        ({"resource": "resources"}, "tests/test_resources.py"),
        ({"resource": "vendors", "singular": "Vendor"}, "must be a snake_case identifier"),
        ({"resource": "vendors", "belongs_to": "nothings"}, "names no resource of this project"),
        ({"resource": "vendors", "belongs_to": "Tags"}, "names no resource"),
        ({"resource": "vendors", "belongs_to": "vendors"}, "the new resource itself"),
        ({"resource": "vendors", "belongs_to": "products"}, "a resource that refers to others"),
        ({"resource": "vendors", "belongs_to": "suppliers"}, "a resource that refers to others"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    project_to_grow: Path, data: dict[str, str], message: str
) -> None:
    before = snapshot(project_to_grow)

    with pytest.raises(ValueError, match=message):
        add_resource(project_to_grow, **data)

    assert snapshot(project_to_grow) == before


def test_outside_a_generated_project_it_says_so(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no generated project here"):
        add_resource(tmp_path / "nothing", resource="suppliers")

    assert not (tmp_path / "nothing").exists()


# --------------------------------------------------------------------------- grown projects


WAREHOUSES = "warehouse_locations"  # a long name: the code it makes is still as ruff writes it


def check_grown_project(project: Path, database_url: str, **test_env: str) -> None:
    """What the user runs after adding resources: lint, types, migrations both ways, tests."""
    uv(project, "sync", "--quiet")
    uv(project, "run", "ruff", "check")
    uv(project, "run", "ruff", "format", "--check")
    uv(project, "run", "mypy")
    for step in (["upgrade", "head"], ["check"], ["downgrade", "-1"], ["upgrade", "head"]):
        uv(project, "run", "alembic", *step, DATABASE_URL=database_url)
    heads = uv(project, "run", "alembic", "heads", DATABASE_URL=database_url)
    assert heads.split() == [f"{WAREHOUSES}_0001", "(head)"], heads
    uv(project, "run", "pytest", "-q", "-p", "no:cacheprovider", **test_env)


@pytest.mark.parametrize(
    "choices",
    [
        {"database": "sqlite", "session_style": "async", "primary_key": "int", "soft_delete": True},
        {"database": "postgresql", "session_style": "sync", "primary_key": "uuid", "soft_delete": False},
    ],
    ids=["sqlite-async-int-soft", "postgresql-sync-uuid-hard"],
)
def test_grown_project_passes_its_checks_and_updates(
    tmp_path: Path, request: pytest.FixtureRequest, choices: dict[str, Any]
) -> None:
    template = make_template_repo(tmp_path / "template")
    url = f"git+file://{template}"
    project = tmp_path / "service"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(
            src_path=url,
            dst_path=str(project),
            data={"project_name": "Catalog Service", **choices},
            defaults=True,
            vcs_ref="v1.0.0",
            quiet=True,
            unsafe=True,
        )
    project_answers = (project / ".copier-answers.yml").read_bytes()
    add_resource(project, url, resource="suppliers", belongs_to="categories")
    add_resource(project, url, resource=WAREHOUSES)
    assert (project / ".copier-answers.yml").read_bytes() == project_answers
    commit_all(project, "Suppliers and warehouse locations")

    test_env: dict[str, str] = {}
    if choices["database"] == "postgresql":
        server = request.getfixturevalue("postgres_server_url")
        database_url = with_database(server, "grown_by_resources")
        test_env["TEST_DATABASE_URL"] = with_database(server, "grown_by_resources_tests")
        uv(project, "sync", "--quiet")
        uv(
            project,
            *("run", "--quiet", "python", "-c", DB_SCRIPT, "create-databases", server),
            *("grown_by_resources", "grown_by_resources_tests"),
            DATABASE_URL=database_url,
        )
    else:
        database_url = f"sqlite:///{tmp_path / 'catalog.db'}"
    check_grown_project(project, database_url, **test_env)
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", "Checked")

    # A template version that changes the resource template: the resource's own update takes it.
    router = template / "resource" / "src" / "{{ package_name }}" / "{{ resource }}" / "router.py.jinja"
    text = router.read_text(encoding="utf-8")
    old = '"""The {{ one }}, with its version in the ETag header, for If-Match."""'
    assert old in text
    router.write_text(text.replace(old, '"""The {{ one }}; its version is in the ETag header."""'))
    release(template, "v1.1.0", "A resource's read says where its version is")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_update(
            dst_path=str(project),
            answers_file=".copier-answers.suppliers.yml",
            defaults=True,
            overwrite=True,
            unsafe=True,
            quiet=True,
        )

    assert rejects(project) == []
    assert conflict_lines(project) == []
    changed = set(git(project, "diff", "--name-only").split())
    assert changed == {".copier-answers.suppliers.yml", f"src/{PACKAGE}/suppliers/router.py"}
    updated = (project / "src" / PACKAGE / "suppliers" / "router.py").read_text(encoding="utf-8")
    assert '"""The supplier; its version is in the ETag header."""' in updated
    answers = yaml.safe_load((project / ".copier-answers.suppliers.yml").read_text(encoding="utf-8"))
    assert answers["_commit"] == "v1.1.0"
    assert (project / ".copier-answers.yml").read_bytes() == project_answers
    uv(project, "run", "ruff", "format", "--check")
    commit_all(project, "Suppliers at v1.1.0")

    # The project's own update to that version leaves the resources and their registration be.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_update(dst_path=str(project), defaults=True, overwrite=True, unsafe=True, quiet=True)
    assert set(git(project, "diff", "--name-only").split()) == {".copier-answers.yml"}


# --------------------------------------------------------------------------- registration


@pytest.fixture(scope="module")
def add_resource_hook() -> Any:
    """hooks/add_resource.py, imported as Copier's task runs it: from its own directory."""
    sys.path.insert(0, str(REPO_ROOT / "hooks"))
    try:
        return importlib.import_module("add_resource")
    finally:
        sys.path.remove(str(REPO_ROOT / "hooks"))


def test_registration_survives_the_users_edits(add_resource_hook: Any, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        '"""Edited by the team."""\n\n'
        "from .categories.router import router as categories_router  # ours\n"
        "from .zebras.router import router as zebras_router\n\n"
        "RESOURCE_ROUTERS = (categories_router, zebras_router)  # on one line\n",
        encoding="utf-8",
    )
    models = tmp_path / "all_models.py"
    models.write_text("from .models import Base\n\nEXPORTED = ['Base']\n", encoding="utf-8")

    advice = add_resource_hook.register(tmp_path, "suppliers", "Supplier")

    assert app.read_text(encoding="utf-8") == (
        '"""Edited by the team."""\n\n'
        "from .categories.router import router as categories_router  # ours\n"
        "from .suppliers.router import router as suppliers_router\n"
        "from .zebras.router import router as zebras_router\n\n"
        "RESOURCE_ROUTERS = (\n"
        "    categories_router,\n"
        "    suppliers_router,\n"
        "    zebras_router,\n"
        ")  # on one line\n"
    )
    # No `__all__` any more: it says what to add, and does the rest.
    assert advice == ['all_models.py: add "Supplier" to __all__']
    assert models.read_text(encoding="utf-8") == (
        "from .models import Base\nfrom .suppliers.models import Supplier\n\nEXPORTED = ['Base']\n"
    )
