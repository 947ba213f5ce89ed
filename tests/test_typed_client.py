"""A typed client generated from a served project's /openapi.json drives a whole flow.

openapi-python-client (installed by the template_tests session) generates a client from the
document the service serves; the flow goes through its typed models only, and every answer must
parse into the model the document promises. The generator must print no warning for the schema.
Two combinations: one per database, one integer and one UUID key, one with soft delete.
Selected by `-k typed_client`.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from conftest import Combination, render
from reliability import migrate, served
from test_update import postgres_server_url, uv, with_database  # noqa: F401 - fixture: a PostgreSQL server

from nox_support.combinations import parse

COMBINATIONS = [parse("sqlite-async-int-soft"), parse("postgresql-sync-uuid-hard")]


def generate_client(url: str, work: Path, package: str) -> str:
    """Generate the client package `package` under work from the served document; its output."""
    schema = work / "openapi.json"
    schema.write_bytes(httpx.get(f"{url}/openapi.json", timeout=10).content)
    tools = str(Path(sys.executable).parent)
    generator = shutil.which("openapi-python-client", path=tools)
    assert generator, "openapi-python-client is not installed (nox -s template_tests installs it)"
    # Its post-hooks format the client with ruff, installed beside it; without, it warns.
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}"}
    completed = subprocess.run(
        [generator, "generate", f"--path={schema}", f"--output-path={work / package}", "--meta=none"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    return output


def load(work: Path, package: str) -> ModuleType:
    sys.path.insert(0, str(work))
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(str(work))


def database_url(combination: Combination, request: pytest.FixtureRequest, work: Path) -> str:
    if combination.database == "sqlite":
        return f"sqlite:///{work / 'catalog.db'}"
    server: str = request.getfixturevalue("postgres_server_url")
    name = f"typed_client_{combination.id.replace('-', '_')}"
    create = (
        "import sys, psycopg\n"
        "with psycopg.connect(sys.argv[1], autocommit=True) as connection:\n"
        "    connection.execute(f'DROP DATABASE IF EXISTS \"{sys.argv[2]}\"')\n"
        "    connection.execute(f'CREATE DATABASE \"{sys.argv[2]}\"')\n"
    )
    project_python = work / "project" / ".venv" / "bin" / "python"
    subprocess.run([str(project_python), "-c", create, server, name], check=True)
    return with_database(server, name)


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda combination: combination.id)
def test_typed_client_flow(tmp_path: Path, request: pytest.FixtureRequest, combination: Any) -> None:
    project = tmp_path / "project"
    render(project, {"project_name": "Catalog Service", **combination.answers})
    uv(project, "sync", "--quiet")
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "DATABASE_URL"}}
    env["DATABASE_URL"] = database_url(combination, request, tmp_path)
    migrate(project, env)
    package = f"client_{combination.id.replace('-', '_')}"
    with served(project, env, tmp_path / "uvicorn.log", workers=1) as url:
        output = generate_client(url, tmp_path, package)
        assert "warning" not in output.lower(), output
        flow(load(tmp_path, package), url, soft_delete=combination.soft_delete)


def flow(client_package: ModuleType, url: str, *, soft_delete: bool) -> None:
    """Category, tag, product with both; get; PATCH to null and of one field; list; delete."""

    def module(name: str) -> Any:
        return importlib.import_module(f"{client_package.__name__}.{name}")

    models = module("models")
    categories, tags = module("api.categories"), module("api.tags")
    products = module("api.products")
    for name in ("create_category", "create_tag"):
        importlib.import_module(f"{(categories if 'category' in name else tags).__name__}.{name}")
    for name in ("create_product", "get_product", "update_product", "list_products", "delete_product"):
        importlib.import_module(f"{products.__name__}.{name}")
    client = client_package.Client(base_url=url, raise_on_unexpected_status=True)

    category = categories.create_category.sync(client=client, body=models.CategoryCreate(name="Books"))
    assert isinstance(category, models.CategoryRead), category
    tag = tags.create_tag.sync(client=client, body=models.TagCreate(name="red"))
    assert isinstance(tag, models.TagRead), tag
    body = models.ProductCreate(
        name="Teapot", price="12.50", description="Blue", category_id=category.id, tag_ids=[tag.id]
    )
    product = products.create_product.sync(client=client, body=body)
    assert isinstance(product, models.ProductRead), product
    assert product.price == "12.50"
    assert [t.id for t in product.tags] == [tag.id]

    got = products.get_product.sync_detailed(product.id, client=client)
    assert isinstance(got.parsed, models.ProductRead), got
    assert got.parsed.category.id == category.id
    assert got.headers["etag"]

    update = products.update_product
    cleared = update.sync(
        product.id, client=client, body=models.ProductUpdate(description=None), if_match=got.headers["etag"]
    )
    assert isinstance(cleared, models.ProductRead), cleared
    assert cleared.description is None
    renamed = update.sync(product.id, client=client, body=models.ProductUpdate(name="Kettle"))
    assert isinstance(renamed, models.ProductRead), renamed
    assert (renamed.name, renamed.price, renamed.description) == ("Kettle", "12.50", None)

    page = products.list_products.sync(client=client, name="kett", category_id=category.id)
    assert isinstance(page, models.PageProductRead), page
    assert [item.id for item in page.items] == [product.id]
    assert page.total == 1

    deleted = products.delete_product.sync_detailed(product.id, client=client)
    assert deleted.status_code == 204, deleted
    missing = products.get_product.sync(product.id, client=client)
    assert isinstance(missing, models.ErrorBody), missing
    if soft_delete:
        restore = importlib.import_module(f"{products.__name__}.restore_product")
        restored = restore.sync(product.id, client=client)
        assert isinstance(restored, models.ProductRead), restored
        assert restored.deleted_at is None
