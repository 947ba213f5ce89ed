"""The load generator: wrk (C, epoll, LuaJIT scripts), one thread on a CPU of its own.

wrk is installed from the distribution when it is missing (`apt-get install wrk`, as root or
through password-less sudo). Each run's latency comes back from load.lua as a quantile grid,
so runs that alternate with the baseline's can be merged into one distribution.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import resource
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "load.lua"
INSTALL_HINT = (
    "the benchmark needs wrk (https://github.com/wg/wrk): `apt-get install wrk`, "
    "`brew install wrk`, or build it; then run `nox -s bench` again"
)


class LoadGeneratorError(RuntimeError):
    pass


def ensure_wrk(log: Callable[[str], None]) -> str:
    """Path of wrk; installs Debian's package when it is missing and this process may."""
    if found := shutil.which("wrk"):
        return found
    apt = shutil.which("apt-get")
    if apt is None:
        raise LoadGeneratorError(INSTALL_HINT)
    prefix: list[str] = []
    if os.geteuid() != 0:
        sudo = shutil.which("sudo")
        if sudo is None or subprocess.run([sudo, "-n", "true"], capture_output=True, check=False).returncode:
            raise LoadGeneratorError(INSTALL_HINT)
        prefix = [sudo, "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*prefix, apt, "install", "--yes", "--quiet", "--no-install-recommends", "wrk"]
    log("installing wrk: " + " ".join(install))
    if subprocess.run(install, env=env, capture_output=True, check=False).returncode:
        # A fresh machine may not have the package lists yet.
        subprocess.run([*prefix, apt, "update", "--quiet"], env=env, capture_output=True, check=False)
        result = subprocess.run(install, env=env, capture_output=True, text=True, check=False)
        if result.returncode:
            raise LoadGeneratorError(f"{INSTALL_HINT}\n{result.stdout}{result.stderr}")
    if found := shutil.which("wrk"):
        return found
    raise LoadGeneratorError(INSTALL_HINT)


def wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    lines = (result.stdout or result.stderr).strip().splitlines()
    # "wrk debian/4.1.0-3+b2 [epoll] Copyright (C) 2012 Will Glozer"
    return lines[0].split(" [")[0] if lines else "wrk"


def _cpu_ticks(pid: int) -> int:
    """User + system CPU clock ticks of a process and its live child processes (uvicorn's
    workers), all their threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                with contextlib.suppress(OSError):
                    ticks += _cpu_ticks(int(child))
    return ticks


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU clock ticks of the whole machine since boot."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return total - idle, total


@dataclasses.dataclass
class Run:
    """One wrk run against one server."""

    requests: int
    seconds: float
    quantiles: list[tuple[float, float]]  # (percent, microseconds)
    errors: dict[str, int]
    server_cpu: float  # seconds of CPU the server process used
    generator_cpu: float  # seconds of CPU wrk used
    machine_busy: float  # fraction of all CPUs busy during the run, everything included


def run_wrk(
    wrk: str,
    url: str,
    arguments: list[str],
    *,
    seconds: float,
    connections: int,
    server_pid: int,
    cpus: set[int] | None,
) -> Run:
    """One run of `seconds`; `arguments` go to load.lua (mode first)."""
    command = [
        wrk,
        "--threads=1",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
        url,
        "--",
        *arguments,
    ]

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    server_before = _cpu_ticks(server_pid)
    machine_before = _machine_ticks()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(command, capture_output=True, text=True, check=False, preexec_fn=pin)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_after = _machine_ticks()
    server_after = _cpu_ticks(server_pid)
    line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH ")), None)
    if result.returncode or line is None:
        raise LoadGeneratorError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
        )
    data = json.loads(line.removeprefix("BENCH "))
    ticks = os.sysconf("SC_CLK_TCK")
    busy = machine_after[0] - machine_before[0]
    total = machine_after[1] - machine_before[1]
    return Run(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        quantiles=[(float(p), float(us)) for p, us in data["quantiles"]],
        errors={
            key.removesuffix("_errors"): data[key]
            for key in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
            if data[key]
        },
        server_cpu=(server_after - server_before) / ticks,
        generator_cpu=(children_after.ru_utime + children_after.ru_stime)
        - (children_before.ru_utime + children_before.ru_stime),
        machine_busy=busy / total if total else 0.0,
    )


@dataclasses.dataclass
class Measurement:
    """Several runs against one server, merged."""

    runs: list[Run]

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.runs)

    @property
    def seconds(self) -> float:
        return sum(run.seconds for run in self.runs)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, percent: float) -> float:
        """Milliseconds: the `percent` quantile of all runs' latencies together.

        Each run's grid point stands for its bin's share of that run's requests.
        """
        points: list[tuple[float, float]] = []
        for run in self.runs:
            for p, microseconds in run.quantiles:
                width = 1.0 if p < 98 else 0.1
                points.append((microseconds, run.requests * width / 100))
        points.sort()
        wanted = sum(weight for _, weight in points) * percent / 100
        seen = 0.0
        for microseconds, weight in points:
            seen += weight
            if seen >= wanted:
                return microseconds / 1000
        return points[-1][0] / 1000 if points else 0.0

    @property
    def errors(self) -> dict[str, int]:
        merged: dict[str, int] = {}
        for run in self.runs:
            for key, count in run.errors.items():
                merged[key] = merged.get(key, 0) + count
        return merged

    @property
    def server_cpu_per_request_ms(self) -> float:
        return 1000 * sum(run.server_cpu for run in self.runs) / self.requests if self.requests else 0.0

    @property
    def server_cpu_share(self) -> float:
        """CPU the server used, as a fraction of one core."""
        return sum(run.server_cpu for run in self.runs) / self.seconds if self.seconds else 0.0

    @property
    def generator_cpu_share(self) -> float:
        return sum(run.generator_cpu for run in self.runs) / self.seconds if self.seconds else 0.0

    @property
    def machine_busy(self) -> float:
        return (
            sum(run.machine_busy * run.seconds for run in self.runs) / self.seconds if self.seconds else 0.0
        )

    def summary(self) -> dict[str, object]:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "errors": self.errors,
            "server_cpu_ms_per_request": round(self.server_cpu_per_request_ms, 3),
            "server_cpu_share": round(self.server_cpu_share, 3),
            "generator_cpu_share": round(self.generator_cpu_share, 3),
            "machine_busy": round(self.machine_busy, 3),
        }
