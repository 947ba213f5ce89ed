"""Reliability checks of one generated project, served for real by uvicorn.

    python tests/reliability.py PROJECT --combination NAME --report-dir DIR [--max-examples N] [--seed N]

NAME is the combination's name (nox_support.combinations), e.g. `postgresql-async-int-soft`:
it says the database and whether rows are soft-deleted. Run by the nox sessions
(`generated(...)` and `reliability(...)`) in a virtualenv with schemathesis, httpx and
nox_support; the project must have its own `.venv` (`uv sync`). The checks:

- fuzz: schemathesis against the service's own OpenAPI schema, fixed seed, a bounded number
  of examples per operation: no 5xx answer, no answer outside the documented statuses, bodies
  and headers, invalid data refused;
- races (PostgreSQL served by several uvicorn workers, SQLite by one): 50 concurrent creates of
  one name (one 201, 49 x 409); 50 concurrent PATCHes of one row, of its price and of its tag
  set (all 200, every body a state the row had, the row ends as the last left it); 20 deletes
  of one row (one 204, 19 x 404); 50 PATCHes with one If-Match (one 200, 49 x 412); with soft
  delete, 20 restores of one row (one restores it) and deletes racing restores (a consistent
  end state, no 409 or 5xx);
- pooler (PostgreSQL, tests/pooler.py): the service served again, on `?pgbouncer=true` behind
  Debian's PgBouncer in transaction mode with a server pool of three, gets a burst of parallel
  creates: every one acknowledged (no prepared-statement error, no 5xx) and there afterwards;
- outage (PostgreSQL): the server is stopped under the running service, then started again:
  `/health` and the API answer 503 with a JSON detail, quickly, and the service recovers
  without a restart; every write that got a 2xx is still there afterwards;
- shutdown (tests/shutdown.py): SIGTERM to a uvicorn serving requests that wait on a lock the
  check holds: each gets its 200 once the lock is released, and uvicorn exits 0.

PostgreSQL comes from a server of its own (tests/postgres_server.py), since it gets stopped.
The figures go to DIR/NAME.json; the exit status is 1 when a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

# Beside this script, on sys.path as its directory.
import pooler  # tests/pooler.py
import postgres_server  # tests/postgres_server.py
import shutdown  # tests/shutdown.py

from nox_support.combinations import parse

HERE = Path(__file__).resolve().parent
CONCURRENCY = 50
# uvicorn worker processes serving PostgreSQL projects during the checks.
POSTGRES_WORKERS = 3
# Client-side limit: a request that takes longer has hung.
REQUEST_TIMEOUT = 10.0
# How fast /health and the API must answer 503 while the database is down.
OUTAGE_ANSWER_WITHIN = 2.0
# How long the service may take to answer 200 again once the database is back.
RECOVERY_WITHIN = 10.0
SERVER_START_TIMEOUT = 600.0


@dataclasses.dataclass
class Report:
    combination: str
    failures: list[str] = dataclasses.field(default_factory=list)
    fuzz_cases: int = 0
    fuzz_server_errors: int = 0
    fuzz_schema_violations: int = 0
    fuzz_seconds: float = 0.0
    races_run: int = 0
    races_passed: int = 0
    outage_slowest_503: float | None = None
    outage_recovery: float | None = None
    outage_writes_acknowledged: int | None = None
    outage_writes_lost: int | None = None
    pooler_writes_acknowledged: int | None = None
    pooler_writes_lost: int | None = None
    shutdown_in_flight: int | None = None
    shutdown_answered: int | None = None
    shutdown_exit_status: int | None = None

    def check(self, condition: bool, failure: str) -> bool:
        if not condition:
            self.failures.append(failure)
            print(f"reliability: FAILED: {failure}", flush=True)
        return condition


# --------------------------------------------------------------------------- the service


@contextlib.contextmanager
def served(project: Path, env: dict[str, str], log: Path, *, workers: int) -> Iterator[str]:
    """Run the project's app under uvicorn until the block ends; yield its URL."""
    with serving(project, env, log, workers=workers) as (url, _):
        yield url


@contextlib.contextmanager
def serving(
    project: Path, env: dict[str, str], log: Path, *, workers: int, pid_one: bool = False
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the project's app under uvicorn until the block ends; yield its URL and process.

    PID_ONE: as in the image, uvicorn is process 1, of a PID namespace of its own, under
    `unshare`, which the yielded process is (see tests/shutdown.py).
    """
    port = pooler.free_port()
    package = next(path.name for path in (project / "src").iterdir() if (path / "main.py").exists())
    command = [
        *(shutdown.PID_ONE if pid_one else ()),
        str(project / ".venv" / "bin" / "python"),
        "-m",
        "uvicorn",
        f"{package}.main:app",
        "--host=127.0.0.1",
        f"--port={port}",
        "--no-access-log",
        f"--workers={workers}",
    ]
    with log.open("w") as output:
        process = subprocess.Popen(command, cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn exited ({process.returncode}):\n{log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=REQUEST_TIMEOUT).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service did not become healthy:\n{log.read_text()}")
            time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- fuzz


def fuzz(url: str, report: Report, work: Path, *, max_examples: int, seed: int) -> None:
    results = work / "schemathesis.json"
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        f"--config-file={HERE / 'schemathesis.toml'}",
        "run",
        f"{url}/openapi.json",
        "--checks=all",
        # In its place, the same check but for ids that name no row (tests/fuzz_checks.py).
        "--exclude-checks=positive_data_acceptance",
        f"--max-examples={max_examples}",
        f"--seed={seed}",
        "--generation-database=none",
        f"--request-timeout={REQUEST_TIMEOUT}",
        "--workers=1",
        "--report=json",
        f"--report-json-path={results}",
        "--no-color",
    ]
    start = time.perf_counter()
    # In the work directory: schemathesis keeps a cache of its own (.schemathesis/) where it runs.
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HERE / "fuzz_checks.py")}
    completed = subprocess.run(command, cwd=work, env=env, check=False, capture_output=True, text=True)
    report.fuzz_seconds = time.perf_counter() - start
    if not results.exists():
        report.check(False, f"schemathesis wrote no report:\n{completed.stdout}\n{completed.stderr}")
        return
    run = json.loads(results.read_text())
    report.fuzz_cases = run["test_cases"]["generated"]
    for failure in run["failures"]:
        if failure["code"] == "ST101":  # server error
            report.fuzz_server_errors += failure["count"]
        else:
            report.fuzz_schema_violations += failure["count"]
    report.check(report.fuzz_cases > 0, "schemathesis generated no test case")
    clean = completed.returncode == 0 and not run["failures"] and not run["errors"]
    report.check(clean, f"schemathesis found problems:\n{completed.stdout[-6000:]}")


# --------------------------------------------------------------------------- races


async def at_once(calls: list[Callable[[], Awaitable[httpx.Response]]]) -> list[httpx.Response]:
    return await asyncio.gather(*(call() for call in calls))


async def race_create(client: httpx.AsyncClient, report: Report, resource: str, body: dict[str, Any]) -> bool:
    responses = await at_once([lambda: client.post(f"/api/v1/{resource}", json=body)] * CONCURRENCY)
    statuses = Counter(response.status_code for response in responses)
    return report.check(
        statuses == {201: 1, 409: CONCURRENCY - 1},
        f"{CONCURRENCY} creates of one {resource} name: {dict(statuses)}, not one 201 and the rest 409",
    )


async def race_patch(client: httpx.AsyncClient, report: Report, product: dict[str, Any]) -> bool:
    url = f"/api/v1/products/{product['id']}"
    prices = [f"{number}.00" for number in range(1, CONCURRENCY + 1)]

    def patch(price: str) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: client.patch(url, json={"price": price})

    responses = await at_once([patch(price) for price in prices])
    statuses = Counter(response.status_code for response in responses)
    final = (await client.get(url)).json()
    return report.check(
        statuses == {200: CONCURRENCY}
        and final["price"] in prices
        and final["updated_at"] > product["updated_at"],
        f"{CONCURRENCY} PATCHes of one row: {dict(statuses)}, final row {final}",
    )


async def race_delete_restore(client: httpx.AsyncClient, report: Report, name: str) -> bool:
    category = (await client.post("/api/v1/categories", json={"name": name})).json()
    url = f"/api/v1/categories/{category['id']}"
    calls: list[Callable[[], Awaitable[httpx.Response]]] = [
        (lambda: client.delete(url)) if number % 2 else (lambda: client.post(f"{url}/restore"))
        for number in range(CONCURRENCY)
    ]
    statuses = Counter(response.status_code for response in await at_once(calls))
    live = (await client.get(url)).status_code
    listing = (await client.get("/api/v1/categories", params={"include_deleted": True, "limit": 100})).json()
    rows = [row for row in listing["items"] if row["id"] == category["id"]]
    consistent = len(rows) == 1 and (live == 200) == (rows[0]["deleted_at"] is None)
    return report.check(
        set(statuses) <= {200, 204, 404} and consistent,
        f"concurrent deletes and restores: {dict(statuses)}, GET {live}, listed {rows}",
    )


async def race_tag_sets(client: httpx.AsyncClient, report: Report, name: str) -> bool:
    """Concurrent replacements of one product's tags are applied one after another."""
    tags = [
        str((await client.post("/api/v1/tags", json={"name": f"{name}-{number}"})).json()["id"])
        for number in range(4)
    ]
    tag_sets = [sorted(tags[:2]), sorted(tags[1:3]), sorted(tags[2:]), sorted(tags[::3])]
    product = (await client.post("/api/v1/products", json={"name": name, "price": "1.00"})).json()
    url = f"/api/v1/products/{product['id']}"

    def replace(tag_set: list[str]) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: client.patch(url, json={"tag_ids": tag_set})

    responses = await at_once([replace(tag_sets[number % 4]) for number in range(CONCURRENCY)])
    statuses = Counter(response.status_code for response in responses)
    bodies = [response.json() for response in responses if response.status_code == 200]
    seen = [sorted(str(tag["id"]) for tag in body["tags"]) for body in bodies]
    final = (await client.get(url)).json()
    last = max(bodies, key=lambda body: str(body["updated_at"]), default=None)
    return report.check(
        statuses == {200: CONCURRENCY} and all(ids in tag_sets for ids in seen) and final == last,
        f"{CONCURRENCY} tag-set PATCHes of one product: {dict(statuses)}, final {final}",
    )


async def race_deletes(client: httpx.AsyncClient, report: Report, name: str) -> bool:
    """Of concurrent deletes of one row, one is acknowledged."""
    tag = (await client.post("/api/v1/tags", json={"name": name})).json()
    calls = [lambda: client.delete(f"/api/v1/tags/{tag['id']}")] * 20
    statuses = Counter(response.status_code for response in await at_once(calls))
    return report.check(
        statuses == {204: 1, 404: 19}, f"20 deletes of one tag: {dict(statuses)}, not one 204"
    )


async def race_restores(client: httpx.AsyncClient, report: Report, name: str) -> bool:
    """Of concurrent restores of one deleted row, one restores it; the others find it live."""
    tag = (await client.post("/api/v1/tags", json={"name": name})).json()
    url = f"/api/v1/tags/{tag['id']}"
    await client.delete(url)
    responses = await at_once([lambda: client.post(f"{url}/restore")] * 20)
    statuses = Counter(response.status_code for response in responses)
    versions = {response.json().get("updated_at") for response in responses}
    return report.check(
        statuses == {200: 20} and len(versions) == 1,
        f"20 restores of one tag: {dict(statuses)}, {len(versions)} versions, not one restore",
    )


async def race_if_match(client: httpx.AsyncClient, report: Report, name: str) -> bool:
    """Of concurrent changes of one version (If-Match), one gets through, the rest are 412."""
    product = (await client.post("/api/v1/products", json={"name": name, "price": "1.00"})).json()
    url = f"/api/v1/products/{product['id']}"
    version = (await client.get(url)).headers["etag"]

    def patch(price: str) -> Callable[[], Awaitable[httpx.Response]]:
        return lambda: client.patch(url, json={"price": price}, headers={"If-Match": version})

    prices = [f"{number}.00" for number in range(2, CONCURRENCY + 2)]
    statuses = Counter(response.status_code for response in await at_once([patch(p) for p in prices]))
    return report.check(
        statuses == {200: 1, 412: CONCURRENCY - 1},
        f"{CONCURRENCY} If-Match PATCHes of one version: {dict(statuses)}, not one 200",
    )


async def races(url: str, report: Report, *, soft_delete: bool) -> None:
    tag = uuid.uuid4().hex[:8]
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT, limits=limits) as client:
        category = (await client.post("/api/v1/categories", json={"name": f"race-{tag}-home"})).json()
        product = (
            await client.post("/api/v1/products", json={"name": f"race-{tag}-pot", "price": "1.00"})
        ).json()
        outcomes = [
            await race_create(client, report, "categories", {"name": f"race-{tag}-category"}),
            await race_create(
                client,
                report,
                "products",
                {"name": f"race-{tag}-product", "price": "2.50", "category_id": category["id"]},
            ),
            await race_patch(client, report, product),
            await race_tag_sets(client, report, f"race-{tag}-tagged"),
            await race_deletes(client, report, f"race-{tag}-deleted"),
            await race_if_match(client, report, f"race-{tag}-versioned"),
        ]
        if soft_delete:
            outcomes.append(await race_delete_restore(client, report, f"race-{tag}-restored"))
            outcomes.append(await race_restores(client, report, f"race-{tag}-back"))
    report.races_run = len(outcomes)
    report.races_passed = sum(outcomes)


# --------------------------------------------------------------------------- outage


async def outage(url: str, report: Report, server: subprocess.Popen[str]) -> None:
    """Stop PostgreSQL under the running service, start it again, and watch."""
    acknowledged: list[str] = []
    unexpected: list[str] = []
    writing = True

    async def write(client: httpx.AsyncClient) -> None:
        number = 0
        while writing:
            number += 1
            try:
                response = await client.post("/api/v1/tags", json={"name": f"outage-{number}"})
            except httpx.HTTPError as error:
                unexpected.append(f"POST /api/v1/tags: {type(error).__name__}: {error}")
            else:
                if response.status_code == 201:
                    acknowledged.append(response.json()["id"])
                elif response.status_code != 503:
                    unexpected.append(f"POST /api/v1/tags: {response.status_code} {response.text}")
            await asyncio.sleep(0.01)

    async def timed(client: httpx.AsyncClient, path: str) -> tuple[float, httpx.Response | None]:
        start = time.perf_counter()
        try:
            response = await client.get(path)
        except httpx.HTTPError as error:
            unexpected.append(f"GET {path}: {type(error).__name__}: {error}")
            response = None
        return time.perf_counter() - start, response

    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT) as client:
        writer = asyncio.create_task(write(client))
        await asyncio.sleep(1)
        await asyncio.to_thread(postgres_server.control, server, "stop")
        slowest = 0.0
        for _ in range(5):
            for path in ("/health", "/api/v1/tags"):
                elapsed, response = await timed(client, path)
                slowest = max(slowest, elapsed)
                if response is not None:
                    body = (
                        response.json()
                        if response.headers.get("content-type") == "application/json"
                        else None
                    )
                    report.check(
                        response.status_code == 503 and isinstance(body, dict) and "detail" in body,
                        f"GET {path} with the database down: {response.status_code} {response.text}",
                    )
            await asyncio.sleep(0.2)
        report.outage_slowest_503 = slowest
        report.check(
            slowest < OUTAGE_ANSWER_WITHIN,
            f"with the database down, an answer took {slowest:.2f}s (limit {OUTAGE_ANSWER_WITHIN}s)",
        )

        await asyncio.to_thread(postgres_server.control, server, "start")
        started = time.perf_counter()
        while True:
            elapsed, response = await timed(client, "/health")
            if response is not None and response.status_code == 200:
                report.outage_recovery = time.perf_counter() - started
                break
            if time.perf_counter() - started > RECOVERY_WITHIN:
                report.check(False, f"no 200 from /health {RECOVERY_WITHIN}s after the database came back")
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1)
        writing = False
        await writer

        missing = []
        for tag_id in acknowledged:
            if (await client.get(f"/api/v1/tags/{tag_id}")).status_code != 200:
                missing.append(tag_id)
    report.outage_writes_acknowledged = len(acknowledged)
    report.outage_writes_lost = len(missing)
    report.check(
        not unexpected, "answers other than 2xx/503 during the outage:\n" + "\n".join(unexpected[:20])
    )
    report.check(not missing, f"{len(missing)} acknowledged writes are missing: {missing[:10]}")
    report.check(len(acknowledged) > 0, "no write succeeded around the outage")


# --------------------------------------------------------------------------- main


def migrate(project: Path, env: dict[str, str]) -> None:
    alembic = str(project / ".venv" / "bin" / "alembic")
    subprocess.run([alembic, "upgrade", "head"], cwd=project, env=env, check=True, capture_output=True)


def run(args: argparse.Namespace, report: Report, work: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "DATABASE_URL"}}
    with contextlib.ExitStack() as stack:
        server = None
        if args.database == "postgresql":
            server, database_url = postgres_server.launch(SERVER_START_TIMEOUT)
            stack.callback(postgres_server.stop, server)
        else:
            database_url = f"sqlite:///{work / 'reliability.db'}"
        env["DATABASE_URL"] = database_url
        migrate(args.project, env)
        # Several processes on PostgreSQL, where row locks order them; SQLite's one writer at a
        # time is met by the threads of one process.
        workers = POSTGRES_WORKERS if server is not None else 1
        url = stack.enter_context(served(args.project, env, work / "uvicorn.log", workers=workers))

        fuzz(url, report, work, max_examples=args.max_examples, seed=args.seed)
        asyncio.run(races(url, report, soft_delete=args.soft_delete))
        if server is not None:
            pooled_through(args.project, env, work, report, database_url, direct=url)
            asyncio.run(outage(url, report, server))
        # Last: the service it stops is one of its own.
        log = work / "uvicorn-shutdown.log"
        with serving(args.project, env, log, workers=workers, pid_one=True) as (url, process):
            figures = asyncio.run(shutdown.sigterm_in_flight(url, process, database_url, report))
        report.shutdown_in_flight = figures["in_flight"]
        report.shutdown_answered = figures["answered"]
        report.shutdown_exit_status = figures["exit_status"]


def pooled_through(
    project: Path, env: dict[str, str], work: Path, report: Report, database_url: str, *, direct: str
) -> None:
    """The service again, on `?pgbouncer=true` behind PgBouncer: a burst of parallel writes."""
    with contextlib.ExitStack() as stack:
        pooled_url = stack.enter_context(pooler.pgbouncer(database_url, work))
        pooled_env = {**env, "DATABASE_URL": pooled_url}
        log = work / "uvicorn-pooled.log"
        url = stack.enter_context(served(project, pooled_env, log, workers=POSTGRES_WORKERS))
        figures = asyncio.run(pooler.burst(url, direct, report))
    report.pooler_writes_acknowledged = figures["acknowledged"]
    report.pooler_writes_lost = figures["lost"]
    prepared = [line for line in log.read_text().splitlines() if "prepared statement" in line]
    report.check(not prepared, "prepared-statement errors behind PgBouncer:\n" + "\n".join(prepared[:10]))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("project", type=Path)
    parser.add_argument("--combination", required=True, type=parse)
    parser.add_argument("--report-dir", type=Path, required=True)
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20261121)
    args = parser.parse_args()
    args.database, args.soft_delete = args.combination.database, args.combination.soft_delete

    report = Report(args.combination.id)
    with tempfile.TemporaryDirectory(prefix="reliability-") as directory:
        try:
            run(args, report, Path(directory))
        except Exception as error:  # noqa: BLE001 - reported like any failed check
            report.check(False, f"{type(error).__name__}: {error}")
        logs = ("uvicorn.log", "uvicorn-pooled.log", "pgbouncer.log", "uvicorn-shutdown.log")
        for log in (Path(directory) / name for name in logs):
            if report.failures and log.exists():
                print(f"reliability: {log.name} ends with:", *log.read_text().splitlines()[-3000:], sep="\n")
    args.report_dir.mkdir(parents=True, exist_ok=True)
    (args.report_dir / f"{args.combination.id}.json").write_text(
        json.dumps(dataclasses.asdict(report), indent=2) + "\n"
    )
    print(json.dumps(dataclasses.asdict(report), indent=2))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
