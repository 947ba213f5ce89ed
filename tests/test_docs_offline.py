"""/docs and /redoc of a served project work with no internet, in a real browser.

Debian's Chromium (the `chromium` package; .ci/run installs it) opens each page headless, with
its network limited to the service: every host name but 127.0.0.1 fails to resolve, and every
other request goes to a proxy on a port where nothing listens. It runs the page's scripts, then
prints the DOM they built, which must list every operation of the served /openapi.json. FastAPI's
default pages, which load Swagger UI and ReDoc from a CDN, stay blank there. Selected by
`-k docs_offline`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import render
from reliability import migrate, served
from test_update import uv

from nox_support.combinations import parse

COMBINATION = parse("sqlite-sync-uuid-soft")
# Chromium's own traffic (updates, sync, field trials) off, QUIC too; only the page's requests.
BROWSER_FLAGS = (
    "--headless",
    "--no-sandbox",  # Chromium's sandbox refuses to run as root, as CI does
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
OFFLINE_FLAGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=127.0.0.1:9",  # the discard port: nothing listens there
    "--proxy-bypass-list=127.0.0.1",
)
# Virtual milliseconds the page's scripts may run; the clock stands still while requests are
# pending, so this bounds the scripts, not the loading.
SCRIPT_TIME_MS = 10_000


def chromium() -> str:
    """Chromium's path; a clear failure (never a skip) when it is not installed."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(
            "headless Chromium is not installed: `apt-get install chromium` (Debian's package; "
            ".ci/run installs it)",
            pytrace=False,
        )
    return path


def offline_dom(url: str, work: Path) -> subprocess.CompletedProcess[str]:
    """The DOM of `url` once its scripts have run, in a browser that reaches only 127.0.0.1."""
    profile = work / "profile"
    # Chromium writes beside its profile under HOME too (~/.pki): a fresh one, here.
    env = {**os.environ, "HOME": str(work / "home")}
    return subprocess.run(
        [
            chromium(),
            *BROWSER_FLAGS,
            *OFFLINE_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={SCRIPT_TIME_MS}",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )


def documented_operations(url: str) -> list[tuple[str, str, str]]:
    """(tag, operation id, summary) of every operation in the served document."""
    document: dict[str, Any] = httpx.get(f"{url}/openapi.json", timeout=10).json()
    return [
        (operation["tags"][0], operation["operationId"], operation["summary"])
        for methods in document["paths"].values()
        for operation in methods.values()
    ]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The rendered project, migrated and served by uvicorn; its URL."""
    work = tmp_path_factory.mktemp("docs_offline")
    project = work / "project"
    render(project, {"project_name": "Catalog Service", **COMBINATION.answers})
    uv(project, "sync", "--quiet")
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "DATABASE_URL"}}
    env["DATABASE_URL"] = f"sqlite:///{work / 'catalog.db'}"
    migrate(project, env)
    with served(project, env, work / "uvicorn.log", workers=1) as url:
        yield url


def test_the_browser_reaches_nothing_but_the_service(tmp_path: Path) -> None:
    """The limits hold: a page of another host does not load (so a CDN's scripts cannot)."""
    loaded = offline_dom("http://example.com/", tmp_path)

    assert "<body" not in loaded.stdout, loaded.stdout
    assert "net::ERR_" in loaded.stderr, loaded.stderr


# How each page marks an operation in the DOM it builds: Swagger UI by tag and operation id,
# ReDoc by operation id.
ANCHORS = {
    "/docs": 'id="operations-{tag}-{operation_id}"',
    "/redoc": 'id="operation/{operation_id}"',
}


@pytest.mark.parametrize("page", list(ANCHORS))
def test_docs_offline_page_lists_every_operation(service: str, tmp_path: Path, page: str) -> None:
    operations = documented_operations(service)
    assert {operation_id for _, operation_id, _ in operations} >= {"list_products", "restore_tag"}

    loaded = offline_dom(f"{service}{page}", tmp_path)

    assert loaded.returncode == 0, loaded.stderr
    dom = loaded.stdout
    missing = [
        operation_id
        for tag, operation_id, summary in operations
        if ANCHORS[page].format(tag=tag, operation_id=operation_id) not in dom or summary not in dom
    ]
    assert not missing, f"{page} does not list {missing}; its DOM:\n{dom[:2000]}"
