"""PgBouncer in transaction mode in front of the reliability checks' PostgreSQL.

tests/reliability.py serves a PostgreSQL project a second time, on `DATABASE_URL=...?pgbouncer=true`
pointing at Debian's `pgbouncer` (transaction mode, a server pool of `SERVER_POOL` connections)
with several uvicorn workers, and sends a burst of parallel creates through it: every one must be
acknowledged (no prepared-statement error, no 5xx) and present afterwards, read back over the
direct connection; reading them through the pooler must succeed as well. Without
`pgbouncer=true` asyncpg fails here with "prepared statement ... does not exist" or "already
exists", since each transaction may run on another server connection.

A missing `pgbouncer` binary is a failure, never a skip: `.ci/run` installs the Debian package.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import httpx

DEBIAN_PGBOUNCER = "/usr/sbin/pgbouncer"
# Server connections PgBouncer opens to PostgreSQL: far fewer than the service's clients.
SERVER_POOL = 3
WRITES = 200
CLIENT_CONNECTIONS = 30
START_TIMEOUT = 20.0
REQUEST_TIMEOUT = 30.0


class Checks(Protocol):
    def check(self, condition: bool, failure: str) -> bool: ...


def find_pgbouncer() -> str:
    found = shutil.which("pgbouncer") or (DEBIAN_PGBOUNCER if Path(DEBIAN_PGBOUNCER).is_file() else None)
    if found is None:
        raise RuntimeError(
            "pgbouncer is not installed, and the pooler check needs it: install Debian's package "
            "(apt-get install pgbouncer; .ci/run does) or put a pgbouncer binary on PATH"
        )
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for uvicorn and PgBouncer)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_address(server_url: str) -> dict[str, Any]:
    """Host (a name or a socket directory), port, user and database of a libpq URL."""
    parts = urlsplit(server_url)
    query = parse_qs(parts.query)
    return {
        "host": query.get("host", [parts.hostname or "localhost"])[0],
        "port": parts.port or 5432,
        "user": parts.username or "postgres",
        "database": parts.path.lstrip("/") or "postgres",
    }


@contextlib.contextmanager
def pgbouncer(server_url: str, work: Path) -> Iterator[str]:
    """PgBouncer in transaction mode in front of SERVER_URL's server; yield the service's URL
    through it, `?pgbouncer=true` included."""
    binary = find_pgbouncer()
    server = server_address(server_url)
    port = free_port()
    userlist = work / "userlist.txt"
    userlist.write_text(f'"{server["user"]}" ""\n')
    lines = [
        "[databases]",
        f"{server['database']} = host={server['host']} port={server['port']} dbname={server['database']}",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "pool_mode = transaction",
        f"default_pool_size = {SERVER_POOL}",
        "min_pool_size = 0",
        "reserve_pool_size = 0",
        "max_client_conn = 1000",
        # The throwaway server trusts its local users; PgBouncer still looks them up here.
        "auth_type = trust",
        f"auth_file = {userlist}",
    ]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root; it runs as the owner of the server's socket
        # directory, which can reach the socket.
        owner = Path(server["host"]).stat().st_uid if server["host"].startswith("/") else None
        lines.append(f"user = {pwd.getpwuid(owner).pw_name if owner is not None else 'nobody'}")
    config = work / "pgbouncer.ini"
    config.write_text("\n".join(lines) + "\n")
    # Readable by the user it runs as.
    work.chmod(0o755)
    for path in (config, userlist):
        path.chmod(0o644)
    log = work / "pgbouncer.log"
    with log.open("w") as output:
        process = subprocess.Popen([binary, str(config)], stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited ({process.returncode}):\n{log.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not listen within {START_TIMEOUT}s:\n{log.read_text()}")
            time.sleep(0.1)
        yield f"postgresql://{server['user']}@127.0.0.1:{port}/{server['database']}?pgbouncer=true"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def burst(pooled: str, direct: str, report: Checks) -> dict[str, int]:
    """WRITES creates over CLIENT_CONNECTIONS connections to the service behind PgBouncer (POOLED);
    each acknowledged one read back from the service on the direct connection (DIRECT)."""
    run = uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=CLIENT_CONNECTIONS)
    async with (
        httpx.AsyncClient(base_url=pooled, timeout=REQUEST_TIMEOUT, limits=limits) as client,
        httpx.AsyncClient(base_url=direct, timeout=REQUEST_TIMEOUT, limits=limits) as reader,
    ):
        tag = (await client.post("/api/v1/tags", json={"name": f"pooled-{run}"})).json()

        async def create(number: int) -> tuple[Any, str | None]:
            """The new product's id, or what went wrong instead."""
            body = {"name": f"pooled-{run}-{number}", "price": "1.00", "tag_ids": [tag["id"]]}
            try:
                response = await client.post("/api/v1/products", json=body)
            except httpx.HTTPError as error:
                return None, f"{type(error).__name__}: {error}"
            if response.status_code != 201:
                return None, f"{response.status_code} {response.text}"
            return response.json()["id"], None

        answers = await asyncio.gather(*(create(number) for number in range(WRITES)))
        acknowledged = [id_ for id_, _ in answers if id_ is not None]
        failures = [failure for _, failure in answers if failure is not None]
        report.check(
            not failures,
            f"{WRITES} creates behind PgBouncer: {len(failures)} not acknowledged, such as {failures[:5]}",
        )

        # Reads behind the pooler too: GETs run outside a transaction where that is safe
        # (database.py), and must not fail here either.
        async def read(path: str, params: dict[str, Any] | None = None) -> str | None:
            """What went wrong with GET `path` behind the pooler, or None."""
            try:
                response = await client.get(path, params=params)
            except httpx.HTTPError as error:
                return f"GET {path}: {type(error).__name__}: {error}"
            return (
                None
                if response.status_code == 200
                else f"GET {path}: {response.status_code} {response.text[:200]}"
            )

        read_failures = [
            failure
            for failure in await asyncio.gather(
                *(read(f"/api/v1/products/{id_}") for id_ in acknowledged),
                *(read("/api/v1/products", {"limit": 5}) for _ in range(WRITES // 10)),
            )
            if failure is not None
        ]
        report.check(
            not read_failures,
            f"reads behind PgBouncer: {len(read_failures)} failed, such as {read_failures[:3]}",
        )
        reads = await asyncio.gather(*(reader.get(f"/api/v1/products/{id_}") for id_ in acknowledged))
        missing = [id_ for id_, read in zip(acknowledged, reads, strict=True) if read.status_code != 200]
        report.check(
            not missing, f"{len(missing)} writes acknowledged behind PgBouncer are missing: {missing[:10]}"
        )
    return {"acknowledged": len(acknowledged), "lost": len(missing)}
