"""SIGTERM while requests are in flight: uvicorn lets each one finish and answer, then exits 0.

tests/reliability.py serves the project with uvicorn (PostgreSQL: several workers, SQLite: one)
and hands it here. The requests are slow for real: each PATCHes one product while this check
holds a lock the PATCH needs, on a connection of its own (PostgreSQL: the product's row, `SELECT
... FOR UPDATE` in an open transaction; SQLite: the database's write lock, `BEGIN IMMEDIATE`), so
they wait inside the service's transactions. On PostgreSQL the check waits until the server
shows every one of them waiting for the lock. Then SIGTERM goes to uvicorn, the lock is released,
and every request must get its 200 and the process exit with status 0.

uvicorn runs as process 1 of a PID namespace of its own (`unshare --pid --fork`), as the image's
exec-form CMD runs it in a container. That matters for the exit status: after its graceful
shutdown uvicorn raises the SIGTERM again for the default handler, which the kernel ignores for
a process 1, which then exits 0; any other single uvicorn process ends killed by it (-15, 143 in
a shell), though it answered every request first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

# The command that runs the one after it as process 1 of a new PID namespace; `unshare` waits
# for it and exits with its status.
PID_ONE = ("unshare", "--pid", "--fork", "--kill-child")
IN_FLIGHT = 10
# How long SQLite requests are given to reach the lock: it cannot be seen waiting. Their busy
# timeout (5 s) is longer than this and the second below, so they still wait for the lock.
SQLITE_REACH = 1.0
# How long after SIGTERM the lock is still held: the requests stay in flight meanwhile.
HELD_AFTER_SIGTERM = 0.5
EXIT_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0


class Checks(Protocol):
    def check(self, condition: bool, failure: str) -> bool: ...


@contextlib.contextmanager
def locked(database_url: str, product_id: str) -> Iterator[None]:
    """Hold the lock a PATCH of the product needs until the block ends."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(urlsplit(database_url).path.removeprefix("/"), isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            yield
            connection.execute("ROLLBACK")
        finally:
            connection.close()
    else:
        import psycopg  # only the PostgreSQL checks need it: the noxfile installs it for them

        with psycopg.connect(database_url) as connection:
            connection.execute("SELECT 1 FROM products WHERE id = %s FOR UPDATE", (product_id,))
            yield
            connection.rollback()


def waiting_for_locks(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


async def until_all_wait(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        await asyncio.sleep(SQLITE_REACH)
        return
    for _ in range(300):
        if await asyncio.to_thread(waiting_for_locks, database_url) >= IN_FLIGHT:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"the {IN_FLIGHT} PATCHes never all waited for the row lock")


def process_one(under_unshare: subprocess.Popen[bytes]) -> int:
    """The pid, in this namespace, of the process `unshare` started (its only child)."""
    pid = under_unshare.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    if len(children) != 1:
        raise RuntimeError(f"unshare ({pid}) has children {children}, not one uvicorn")
    return int(children[0])


async def sigterm_in_flight(
    url: str, process: subprocess.Popen[bytes], database_url: str, report: Checks
) -> dict[str, int | None]:
    """IN_FLIGHT slow PATCHes, SIGTERM among them; how many were answered, and the exit status.

    PROCESS is `unshare` (PID_ONE) running uvicorn.
    """
    uvicorn = process_one(process)
    limits = httpx.Limits(max_connections=IN_FLIGHT + 1)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT, limits=limits) as client:
        created = await client.post("/api/v1/products", json={"name": "shutdown", "price": "1.00"})
        product = created.json()
        path = f"/api/v1/products/{product['id']}"
        with locked(database_url, str(product["id"])):
            requests = [
                asyncio.create_task(client.patch(path, json={"price": f"{number}.00"}))
                for number in range(2, IN_FLIGHT + 2)
            ]
            await until_all_wait(database_url)
            early = [task for task in requests if task.done()]
            os.kill(uvicorn, signal.SIGTERM)
            await asyncio.sleep(HELD_AFTER_SIGTERM)
            report.check(process.poll() is None, "uvicorn exited before its requests in flight finished")
        answers = await asyncio.gather(*requests, return_exceptions=True)
    try:
        status: int | None = await asyncio.to_thread(process.wait, EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        status = None
    report.check(not early, f"{len(early)} PATCHes were answered while the lock was held")
    statuses = Counter(
        answer.status_code if isinstance(answer, httpx.Response) else type(answer).__name__
        for answer in answers
    )
    report.check(
        statuses == {200: IN_FLIGHT},
        f"SIGTERM during {IN_FLIGHT} requests in flight: {dict(statuses)}, not all 200",
    )
    report.check(status == 0, f"after SIGTERM uvicorn exited with {status} (None: still running)")
    return {"in_flight": IN_FLIGHT, "answered": statuses.get(200, 0), "exit_status": status}
