"""Benchmark generated services against raw-driver baselines; write the report.

    python tests/bench/run.py --out docs/reports [--database NAME=URL ...] [--only COMBINATION ...]

Run by `nox -s bench`, which provides copier, psycopg, matplotlib and nox_support, creates the
PostgreSQL databases (named by Combination.database_name) and passes their URLs. For each
combination in plan.COMBINATIONS: render the template from the working tree, `uv sync` the
project, migrate and seed its databases, count the SQL statements of each endpoint (and fail
if one is over the project's own query budget), serve the service and its baseline with
uvicorn, check they answer alike, drive both with wrk, profile get-by-id when the service is
under half its baseline's rate, and measure how list and get-by-id cost grows with the data.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import loadgen
import plan
import report
import seed

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PACKAGE = "catalog_service"
PROJECT_NAME = "Catalog Service"
# Variables of the bench session's own venv: the generated project must use its own .venv.
NOT_OUR_VENV = ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_PYTHON", "CONDA_PREFIX", "PYTHONPATH")
STARTED = time.monotonic()
VERSIONS = """
import importlib.metadata, json
names = ["uvicorn", "fastapi", "starlette", "sqlalchemy", "pydantic", "asyncpg", "psycopg", "aiosqlite"]
found = {}
for name in names:
    try:
        found[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pass
print(json.dumps(found))
"""


def log(message: str) -> None:
    print(f"bench [{time.monotonic() - STARTED:6.1f}s] {message}", flush=True)


class BenchError(RuntimeError):
    pass


class ServerDied(BenchError):
    """A server exited while it was being measured."""

    def __init__(self, server: Server) -> None:
        super().__init__(f"{server.name} exited ({server.process.returncode}) while being measured")
        self.server = server


def project_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NOT_OUR_VENV}
    # The service's own access lines (logs.py), like uvicorn's (--no-access-log), are not measured.
    return env | {"LOG_LEVEL": "WARNING"} | extra


def run(command: list[str | Path], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise BenchError(
            f"{' '.join(map(str, command))} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    return result.stdout


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


class Server:
    """One uvicorn process, one worker unless told, access log off; once it answers, pinned to
    `cpus` (its worker processes, with more than one, are not: they run where the system puts
    them)."""

    def __init__(
        self,
        name: str,
        python: Path,
        app: str,
        *,
        cwd: Path,
        env: dict[str, str],
        cpus: set[int] | None,
        logs: Path,
        workers: int = 1,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = logs / f"{name}.log"
        self.command = [str(python), "-m", "uvicorn", app, "--host=127.0.0.1", f"--port={self.port}"]
        self.command += [f"--workers={workers}", "--no-access-log", "--log-level=warning"]
        if app.startswith(("baseline_", "textbook_")):
            self.command.append(f"--app-dir={HERE}")
        self.cwd, self.env, self.cpus = cwd, env, cpus
        self.restarts = 0
        self.start()

    def start(self) -> None:
        with self.log_path.open("a") as output:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=output, stderr=subprocess.STDOUT
            )

    def restart(self) -> None:
        self.restarts += 1
        self.start()
        self.wait_until_ready()

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.name} exited ({self.process.returncode}):\n{self.log_path.read_text()}"
                )
            with contextlib.suppress(OSError):
                if http("GET", f"{self.url}/health")[0] == 200:
                    self.pin()
                    return
            time.sleep(0.2)
        raise BenchError(f"{self.name} did not answer /health within 60 s:\n{self.log_path.read_text()}")

    def pin(self) -> None:
        """Every thread so far; threads started later inherit it from the thread that starts them."""
        if self.cpus:
            for thread in os.listdir(f"/proc/{self.pid}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(thread), self.cpus)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def serving(servers: list[Server]) -> Iterator[None]:
    try:
        yield
    finally:
        for server in servers:
            server.stop()


# --------------------------------------------------------------------------- checks


def _normal(value: Any) -> Any:
    """JSON with timestamps parsed, so two spellings of one moment compare equal."""
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normal(item) for item in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)", value):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def check_same_answers(
    service: Server, baseline: Server, ids: list[str], create_body: dict[str, Any]
) -> None:
    """The baseline does the service's work: same rows, same JSON, for every benchmarked request."""
    targets = [f"/api/v1/products/{key}" for key in (ids[0], ids[len(ids) // 2], ids[-1])]
    targets += [f"/api/v1/products?limit={plan.PAGE}&offset={offset}" for offset in (0, plan.FAR_OFFSET)]
    for target in targets:
        ours, theirs = http("GET", service.url + target), http("GET", baseline.url + target)
        if ours[0] != 200 or _normal(ours) != _normal(theirs):
            raise BenchError(
                f"GET {target}: the service and the baseline answer differently:\n{ours}\n{theirs}"
            )
    created = []
    for server in (service, baseline):
        status, body = http(
            "POST", f"{server.url}/api/v1/products", {**create_body, "name": f"Check {server.name}"}
        )
        if status != 201:
            raise BenchError(f"POST /api/v1/products on {server.name} answered {status}: {body}")
        created.append(body)
    ours, theirs = created
    if (
        sorted(ours) != sorted(theirs)
        or ours["category"] != theirs["category"]
        or ours["tags"] != theirs["tags"]
    ):
        raise BenchError(
            f"POST /api/v1/products: the service and the baseline answer differently:\n{created}"
        )


def _same_moment(value: Any) -> Any:
    """`_normal`, with a time without zone read as UTC: a textbook app on SQLite writes them so."""
    if isinstance(value, dict):
        return {key: _same_moment(item) for key, item in value.items()}
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+", value):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def check_same_tags(servers: list[Server], tag_ids: list[str]) -> None:
    """The single-table read answers alike on every side (service, textbook app, baseline)."""
    for key in (tag_ids[0], tag_ids[-1]):
        answers = {server.name: http("GET", f"{server.url}/api/v1/tags/{key}") for server in servers}
        normal = [(status, _normal(_same_moment(body))) for status, body in answers.values()]
        if normal[0][0] != 200 or any(answer != normal[0] for answer in normal[1:]):
            raise BenchError(f"GET /api/v1/tags/{key}: the servers answer differently:\n{answers}")


def read_budget(project: Path) -> dict[str, int]:
    """The statement counts the project's own tests/test_query_budget.py asserts."""
    text = (project / "tests" / "test_query_budget.py").read_text()
    get = re.search(r'/api/v1/products/\{[^}]+\}"\) == (\d+)', text)
    lists = re.findall(r'"/api/v1/products\?limit=\d+"\) == (\d+)', text)
    create = re.search(r"create_with\(tags\) == (\d+)", text)
    if get is None or not lists or create is None:
        raise BenchError(
            "tests/test_query_budget.py no longer reads as the benchmark expects: update read_budget()"
        )
    return {"get": int(get.group(1)), "list": max(int(c) for c in lists), "create": int(create.group(1))}


# --------------------------------------------------------------------------- measuring


class Driver:
    """Runs wrk against the servers of one combination."""

    def __init__(self, wrk: str, generator_cpus: set[int] | None) -> None:
        self.wrk = wrk
        self.cpus = generator_cpus
        self.runs = 0

    def once(self, server: Server, arguments: list[str], seconds: float) -> loadgen.Run:
        self.runs += 1
        arguments = [part.replace("{run}", str(self.runs)) for part in arguments]
        try:
            result = loadgen.run_wrk(
                self.wrk,
                server.url,
                arguments,
                seconds=seconds,
                connections=plan.CONNECTIONS,
                server_pid=server.pid,
                cpus=self.cpus,
            )
        except (loadgen.LoadGeneratorError, OSError) as error:
            if server.process.poll() is not None:
                raise ServerDied(server) from error
            log_tail = "\n".join(server.log_path.read_text(errors="replace").splitlines()[-30:])
            raise BenchError(f"{error}\n{server.name} is running; its log ends:\n{log_tail}") from error
        if server.process.poll() is not None:
            raise ServerDied(server)
        if result.errors:
            raise BenchError(
                f"{server.name} {' '.join(arguments[:1])}: errors {result.errors}; see {server.log_path}"
            )
        return result

    def compare(
        self, sides: dict[str, tuple[Server, list[str]]], slices: int = plan.SLICES
    ) -> dict[str, loadgen.Measurement]:
        """Warm every side up, then measure them in turn, ABBA, so slow drift hits all alike.

        A server stopped by a signal from outside (a shared machine's clean-up of uvicorn
        processes, say) is started again and the comparison made again, twice at most; its log
        and the report's restart count say so.
        """
        attempts = 0
        while True:
            try:
                return self._compare(sides, slices)
            except ServerDied as died:
                attempts += 1
                code = died.server.process.returncode
                if attempts == 3 or code >= 0:  # an exit of its own, not a signal: a real failure
                    log_tail = "\n".join(died.server.log_path.read_text(errors="replace").splitlines()[-30:])
                    raise BenchError(f"{died}; its log ends:\n{log_tail}") from died
                log(f"{died}: killed by signal {-code} from outside; starting it again, measuring again")
                died.server.restart()

    def _compare(
        self, sides: dict[str, tuple[Server, list[str]]], slices: int
    ) -> dict[str, loadgen.Measurement]:
        for server, arguments in sides.values():
            self.once(server, arguments, plan.WARMUP_SECONDS)
        measured: dict[str, loadgen.Measurement] = {name: loadgen.Measurement([]) for name in sides}
        order = list(sides)
        for index in range(slices):
            for name in order if index % 2 == 0 else reversed(order):
                server, arguments = sides[name]
                measured[name].runs.append(self.once(server, arguments, plan.SLICE_SECONDS))
        return measured


def paired_ratio(one: loadgen.Measurement, other: loadgen.Measurement) -> float:
    """ONE's requests per second over OTHER's: the median of the ratios of their runs in turn
    (the first run of each, the second, ...), which a burst of other load during one run moves
    less than it moves the ratio of their totals."""
    pairs = zip(one.runs, other.runs, strict=True)
    return statistics.median((a.requests / a.seconds) / (b.requests / b.seconds) for a, b in pairs)


def render_and_install(combination: plan.Combination, project: Path) -> dict[str, str]:
    """Render the combination from the working tree and `uv sync` it; the versions installed."""
    run(
        [
            "copier",
            "copy",
            "--trust",
            "--vcs-ref=HEAD",
            "--defaults",
            f"--data=project_name={PROJECT_NAME}",
            *combination.copier_data,
            ROOT,
            project,
        ]
    )
    run(["uv", "sync", "--quiet"], cwd=project, env=project_env())
    return dict(json.loads(run([project / ".venv" / "bin" / "python", "-c", VERSIONS])))


def count_statements(
    combination: plan.Combination,
    project: Path,
    database: seed.Database,
    ids: tuple[str, str],
    create_body: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Statements, pre-pings, (PostgreSQL) round trips and trips to a thread per endpoint, with
    the budget the project's tests assert; `ids` are a product's and a tag's."""
    budget = read_budget(project)
    env = project_env(
        DATABASE_URL=database.url,
        BENCH_DATABASE_URL=database.url,  # the textbook app's (query_count.py counts its trips too)
        BENCH_PRIMARY_KEY=combination.primary_key,
        BENCH_SOFT_DELETE=str(int(combination.soft_delete)),
    )
    command = [project / ".venv" / "bin" / "python", HERE / "query_count.py", PACKAGE, *ids]
    counted = json.loads(run([*command, json.dumps(create_body)], cwd=project, env=env))
    return {
        endpoint: {key: value for key, value in found.items() if key != "sql"}
        | {"budget": budget.get(endpoint)}
        for endpoint, found in counted.items()
    }


def profile_get(
    combination: plan.Combination, project: Path, database: seed.Database, ids: Path, profiles: Path
) -> dict[str, Any]:
    """pyinstrument over get-by-id (profile_get.py), in the project's env plus pyinstrument."""
    profiles.mkdir(parents=True, exist_ok=True)
    stem = profiles / f"{combination.id}-get"
    output = run(
        [
            "uv",
            "run",
            "--no-sync",
            "--quiet",
            "--with=pyinstrument>=5",
            "python",
            HERE / "profile_get.py",
            PACKAGE,
            combination.session_style,
            ids,
            str(plan.PROFILE_REQUESTS),
            stem,
        ],
        cwd=project,
        env=project_env(DATABASE_URL=database.url),
    )
    found: dict[str, Any] = json.loads(output.splitlines()[-1])
    found["text"] = f"{profiles.name}/{stem.name}.txt"
    return found


def ablation(project: Path, database: seed.Database, tag_ids: Path, env: dict[str, str]) -> dict[str, Any]:
    """The service with one part changed at a time, beside the textbook app (ablation.py)."""
    output = run(
        [
            *("uv", "run", "--no-sync", "--quiet", "python", HERE / "ablation.py", PACKAGE, tag_ids),
            *(str(plan.ABLATION_REQUESTS), str(plan.ABLATION_ROUNDS)),
        ],
        cwd=project,
        env=env | {"DATABASE_URL": database.url},
    )
    found: dict[str, Any] = json.loads(output.splitlines()[-1])
    return found


def bench(
    combination: plan.Combination,
    workdir: Path,
    urls: dict[str, str],
    driver: Driver,
    cpus: set[int] | None,
    out: Path,
) -> dict[str, Any]:
    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - started - sum(timings.values()), 1)

    project = workdir / combination.id
    log(f"{combination.id}: rendering and installing")
    versions = render_and_install(combination, project)
    python = project / ".venv" / "bin" / "python"
    lap("install")

    databases = {}
    for role in plan.DATABASE_ROLES:
        name = combination.database_name(role)
        url = f"sqlite:///{workdir / name}.db" if combination.database == "sqlite" else urls[name]
        databases[role] = seed.Database(url, combination.primary_key)
        run([python, "-m", "alembic", "upgrade", "head"], cwd=project, env=project_env(DATABASE_URL=url))
    main, small = databases["main"], databases["small"]
    seed.grow(small, plan.SMALL_PRODUCTS)
    seed.grow(main, plan.PRODUCTS)
    ids_small, ids_main = workdir / f"{combination.id}-ids-small.txt", workdir / f"{combination.id}-ids.txt"
    seed.write_ids(small, ids_small)
    seed.write_ids(main, ids_main)
    ids = ids_main.read_text().split()
    ids_tags = workdir / f"{combination.id}-tag-ids.txt"
    seed.write_ids(main, ids_tags, "tags")
    category, tags = seed.references(main)
    create_body = {"name": "Query count", "price": "19.90", "category_id": json.loads(category)}
    create_body["tag_ids"] = [json.loads(tag) for tag in tags]
    lap("databases")

    log(f"{combination.id}: counting statements")
    tag_ids = ids_tags.read_text().split()
    statements = count_statements(combination, project, main, (ids[0], tag_ids[0]), create_body)
    over = [
        f"{endpoint}: {found['statements']} statements, budget {found['budget']}"
        for endpoint, found in statements.items()
        if found["budget"] is not None and found["statements"] > found["budget"]
    ]
    lap("statements")

    logs = workdir / f"{combination.id}-logs"
    logs.mkdir()
    app = f"{PACKAGE}.main:app"
    where: dict[str, Any] = {"cpus": cpus, "logs": logs}
    baseline_env = project_env(
        BENCH_DATABASE_URL=main.url,
        BENCH_PRIMARY_KEY=combination.primary_key,
        BENCH_SOFT_DELETE=str(int(combination.soft_delete)),
    )
    servers: list[Server] = []
    with serving(servers):
        # Started together, since each takes seconds to import.
        service = Server("service", python, app, cwd=project, env=project_env(DATABASE_URL=main.url), **where)
        servers.append(service)
        baseline = Server(
            "baseline", python, f"baseline_{combination.driver}:app", cwd=logs, env=baseline_env, **where
        )
        servers.append(baseline)
        default_pool_env = project_env(DATABASE_URL=main.url, **plan.DEFAULT_POOL)
        default_pool = Server("service-default-pool", python, app, cwd=project, env=default_pool_env, **where)
        servers.append(default_pool)
        textbook_app = f"textbook_{combination.session_style}:app"
        textbook = Server("textbook", python, textbook_app, cwd=logs, env=baseline_env, **where)
        servers.append(textbook)
        small_env = project_env(DATABASE_URL=small.url)
        service_small = Server("service-small", python, app, cwd=project, env=small_env, **where)
        servers.append(service_small)
        service_workers = Server(
            f"service-{plan.WORKERS}-workers",
            python,
            app,
            cwd=project,
            env=project_env(DATABASE_URL=main.url),
            cpus=None,
            logs=logs,
            workers=plan.WORKERS,
        )
        servers.append(service_workers)
        for server in servers:
            server.wait_until_ready()
        check_same_answers(service, baseline, ids, create_body)
        check_same_tags([service, textbook, baseline], tag_ids)
        lap("servers")

        log(f"{combination.id}: get tag by id: the service, the textbook app, the baseline")
        tag_get = ["get", str(ids_tags), "{run}", "tags"]
        measured = driver.compare(
            {
                "service": (service, tag_get),
                "default pool": (default_pool, tag_get),
                "textbook": (textbook, tag_get),
                "baseline": (baseline, tag_get),
            },
            slices=plan.PAIRED_SLICES,
        )
        single_table: dict[str, Any] = {side: found.summary() for side, found in measured.items()}
        rps = {side: found.rps for side, found in measured.items()}
        single_table["ratio"] = round(rps["service"] / rps["baseline"], 3)
        single_table["textbook_ratio"] = round(rps["textbook"] / rps["baseline"], 3)
        single_table["over_textbook"] = round(paired_ratio(measured["service"], measured["textbook"]), 3)
        single_table["over_default_pool"] = round(
            paired_ratio(measured["service"], measured["default pool"]), 3
        )
        single_table |= statements["get_tag"]
        log(
            f"{combination.id}: get tag {rps['service']:.0f} rps, textbook {rps['textbook']:.0f},"
            f" baseline {rps['baseline']:.0f}; service over textbook {single_table['over_textbook']};"
            f" with the default pool {rps['default pool']:.0f}"
        )

        log(f"{combination.id}: get, list and create against the baseline")
        page = ["list", "0", str(plan.PAGE)]
        endpoints: dict[str, Any] = {}

        def against_baseline(endpoint: str, arguments: list[str]) -> None:
            measured = driver.compare({"service": (service, arguments), "baseline": (baseline, arguments)})
            found = {side: measurement.summary() for side, measurement in measured.items()}
            found["ratio"] = round(measured["service"].rps / measured["baseline"].rps, 3)
            endpoints[endpoint] = found | statements[endpoint]
            log(
                f"{combination.id}: {endpoint} {measured['service'].rps:.0f} rps,"
                f" baseline {measured['baseline'].rps:.0f} rps, ratio {found['ratio']}"
            )

        get = ["get", str(ids_main), "{run}"]
        against_baseline("get", get)
        log(f"{combination.id}: get by id with 1 worker and with {plan.WORKERS}")
        measured = driver.compare(
            {"1 worker": (service, get), f"{plan.WORKERS} workers": (service_workers, get)}
        )
        workers = {name: found.summary() for name, found in measured.items()}
        against_baseline("list", page)
        # Before the create runs add products, so that the far page is of seeded ones too.
        log(f"{combination.id}: scale: list at offset 0 and {plan.FAR_OFFSET}")
        far_page = ["list", str(plan.FAR_OFFSET), str(plan.PAGE)]
        offsets = driver.compare(
            {"offset 0": (service, page), f"offset {plan.FAR_OFFSET:,}": (service, far_page)}
        )
        # The same far page by keyset: after the cursor of the row just before it.
        status, before = http(
            "GET", f"{service.url}/api/v1/products?limit={plan.PAGE}&offset={plan.FAR_OFFSET - plan.PAGE}"
        )
        if status != 200 or not before.get("next_cursor"):
            raise BenchError(f"no next_cursor before offset {plan.FAR_OFFSET}: {status} {before}")
        far_cursor = ["after", before["next_cursor"], str(plan.PAGE)]
        cursors = driver.compare(
            {"offset 0": (service, page), f"cursor at {plan.FAR_OFFSET:,}": (service, far_cursor)}
        )
        against_baseline("create", ["create", f"{combination.id}-{{run}}", category, *tags])
        lap("endpoints")

        profile = None
        if endpoints["get"]["ratio"] < plan.RATIO_GOAL:
            log(f"{combination.id}: profiling get-by-id")
            profile = profile_get(combination, project, main, ids_main, out / "profiles")
        log(f"{combination.id}: the service's parts alone, in-process, beside the textbook app")
        parts = ablation(project, main, ids_tags, baseline_env)
        lap("profile")

        log(f"{combination.id}: scale: get-by-id at {plan.SMALL_PRODUCTS} and {plan.LARGE_PRODUCTS} rows")
        seed.grow(main, plan.LARGE_PRODUCTS)
        rows_large = seed.write_ids(main, ids_main)
        rows_small = len(ids_small.read_text().split())
        sizes = driver.compare(
            {
                f"{rows_small:,} rows": (service_small, ["get", str(ids_small), "{run}"]),
                f"{rows_large:,} rows": (service, ["get", str(ids_main), "{run}"]),
            }
        )
        lap("scale")

    def growth(measured: dict[str, loadgen.Measurement]) -> dict[str, Any]:
        near, far = measured.values()
        return {
            "points": {name: measurement.summary() for name, measurement in measured.items()},
            "p50_growth": round(far.percentile(50) / near.percentile(50), 2),
            "rps_ratio": round(far.rps / near.rps, 2),
        }

    return {
        "id": combination.id,
        "label": plan.label(combination),
        "driver": combination.driver,
        "versions": versions,
        "endpoints": endpoints,
        "single_table": single_table,
        "workers": workers,
        "profile": profile,
        "ablation": parts,
        "scale": {"list": growth(offsets), "cursor": growth(cursors), "get": growth(sizes)},
        "over_budget": over,
        "server_restarts": sum(server.restarts for server in servers),
        "seconds": round(time.monotonic() - started, 1),
        "step_seconds": timings,
    }


# --------------------------------------------------------------------------- main


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reports")
    parser.add_argument("--database", action="append", default=[], metavar="NAME=URL")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="COMBINATION",
        help="measure this one instead of the default four (repeatable), e.g. postgresql-async-uuid-soft",
    )
    parser.add_argument("--keep", action="store_true", help="keep the rendered projects and databases")
    options = parser.parse_args()
    urls = dict(item.split("=", 1) for item in options.database)
    try:
        combinations = [plan.parse(name) for name in options.only] or plan.COMBINATIONS
    except ValueError as error:
        parser.error(str(error))

    wrk = loadgen.ensure_wrk(log)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    # The server on the first CPU, wrk on the last; PostgreSQL and everything else where it may.
    server_cpus, generator_cpus = ({cores[0]}, {cores[-1]}) if len(cores) >= 2 else (None, None)
    driver = Driver(wrk, generator_cpus)
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "load_average_before": [round(load, 2) for load in os.getloadavg()],
            "python": platform.python_version(),
        },
        "load_generator": {
            "name": loadgen.wrk_version(wrk),
            "threads": 1,
            "connections": plan.CONNECTIONS,
            "cpu": sorted(generator_cpus) if generator_cpus else None,
        },
        "server": {"cpu": sorted(server_cpus) if server_cpus else None},
        "method": {
            "warmup_seconds": plan.WARMUP_SECONDS,
            "slice_seconds": plan.SLICE_SECONDS,
            "slices": plan.SLICES,
            "paired_slices": plan.PAIRED_SLICES,
            "products": plan.PRODUCTS,
            "page": plan.PAGE,
            "profile_requests": plan.PROFILE_REQUESTS,
            "ratio_goal": plan.RATIO_GOAL,
            "workers": plan.WORKERS,
        },
        "combinations": [],
    }
    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    options.out.mkdir(parents=True, exist_ok=True)
    for stale in (options.out / "profiles").glob("*-get.*"):
        stale.unlink()
    log(f"working in {workdir}; {loadgen.wrk_version(wrk)}")
    log(f"server on CPUs {server_cpus}, wrk on CPUs {generator_cpus}")
    try:
        for combination in combinations:
            results["combinations"].append(
                bench(combination, workdir, urls, driver, server_cpus, options.out)
            )
    finally:
        if not options.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"kept {workdir}")
    results["machine"]["load_average_after"] = [round(load, 2) for load in os.getloadavg()]
    results["seconds"] = round(time.monotonic() - STARTED, 1)
    report.write(results, options.out)
    log(f"wrote {options.out / 'bench.md'}, bench.png, bench.json in {results['seconds']:.0f} s")
    over = [f"{c['id']} {problem}" for c in results["combinations"] for problem in c["over_budget"]]
    if over:
        print("SQL statements over the query budget:\n  " + "\n  ".join(over), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
