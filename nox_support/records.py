"""What a nox run records: each session's time per step, each combination's reliability figures.

Ordinary runs write their records and the tables made from them under a git-ignored directory
(`.nox/reports/` of the repository). Only the `reports` session copies a complete set into
the committed `docs/reports/`, through `publish`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nox

# When this nox run started: `publish` takes only records written since.
RUN_STARTED = time.time()

GENERATED_STEPS = ("database", "render", "install", "lint", "typecheck", "migrations", "tests", "reliability")
MATRIX = "matrix"  # DIRECTORY/matrix/<session>.json -> DIRECTORY/matrix.md
RELIABILITY = "reliability"  # DIRECTORY/reliability/<combination>.json -> DIRECTORY/reliability.md


def machine_cpu_seconds() -> float | None:
    """The CPU time this machine's processes have used since it booted, all of them (user, nice,
    system, irq, softirq in /proc/stat: the PostgreSQL servers a session starts too); None
    without /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields)
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def slug(session_name: str) -> str:
    """A session's record file stem: `generated(sqlite-async-int-hard)` -> generated-sqlite-async-int-hard."""
    return re.sub(r"[^a-z0-9]+", "-", session_name.lower()).strip("-")


class Timer:
    """Times a session and its named steps; logs them and records them in DIRECTORY/matrix/.

    Reported, never asserted.
    """

    def __init__(self, session: nox.Session, directory: Path) -> None:
        self.session = session
        self.directory = directory
        self.started = time.perf_counter()
        self.cpu_started = machine_cpu_seconds()
        self.times: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.times[name] = self.times.get(name, 0.0) + elapsed
            self.session.log(f"timing: {name} {elapsed:.1f}s")

    def finish(self) -> None:
        """Log the summary; write this session's record and the matrix table."""
        total = time.perf_counter() - self.started
        cpu_now = machine_cpu_seconds()
        cpu = None if cpu_now is None or self.cpu_started is None else cpu_now - self.cpu_started
        steps = "".join(f"{name} {elapsed:.1f}s, " for name, elapsed in self.times.items())
        self.session.log(f"timings: {steps}total {total:.1f}s, machine CPU {_seconds(cpu)}")
        records = self.directory / MATRIX
        records.mkdir(parents=True, exist_ok=True)
        record = {
            "session": self.session.name,
            "steps": self.times,
            "total": total,
            "cpu": cpu,
            "cores": os.cpu_count(),
        }
        (records / f"{slug(self.session.name)}.json").write_text(json.dumps(record, indent=2) + "\n")
        write_matrix_report(self.directory)


@contextlib.contextmanager
def timed(session: nox.Session, directory: Path) -> Iterator[Timer]:
    """A Timer whose record is written however the session ends."""
    timer = Timer(session, directory)
    try:
        yield timer
    finally:
        timer.finish()


def write_matrix_report(directory: Path) -> Path:
    """DIRECTORY/matrix.md: where the time of a whole `nox` run goes, from the recorded sessions."""
    records = [json.loads(path.read_text()) for path in sorted((directory / MATRIX).glob("*.json"))]
    generated = [r for r in records if r["session"].startswith("generated(")]
    others = [r for r in records if not r["session"].startswith("generated(")]
    lines = [
        "| Session | " + " | ".join(GENERATED_STEPS) + " | total | machine CPU |",
        "| --- |" + " ---: |" * (len(GENERATED_STEPS) + 2),
    ]
    for record in generated:
        cells = [
            f"{record['steps'][step]:.1f}" if step in record["steps"] else "-" for step in GENERATED_STEPS
        ]
        lines.append(
            f"| `{record['session']}` | " + " | ".join(cells) + f" | {record['total']:.1f} | {_cpu(record)} |"
        )
    if generated:
        mean = [
            sum(r["steps"].get(step, 0.0) for r in generated) / len(generated) for step in GENERATED_STEPS
        ]
        mean_total = sum(r["total"] for r in generated) / len(generated)
        mean_cpu = _cpu_sum(generated)
        cpu_cell = "-" if mean_cpu is None else f"{mean_cpu / len(generated):.1f}"
        lines.append(
            "| **mean** | " + " | ".join(f"{m:.1f}" for m in mean) + f" | **{mean_total:.1f}** | {cpu_cell} |"
        )
    lines += ["", "| Session | total | machine CPU |", "| --- | ---: | ---: |"]
    lines += [f"| `{record['session']}` | {record['total']:.1f} | {_cpu(record)} |" for record in others]
    everything = sum(record["total"] for record in records)
    lines += [
        "",
        f"Sum of the {len(records)} sessions above (seconds, one after another as `nox` runs them): "
        f"**{everything:.0f} s** ({everything / 60:.1f} min), besides creating the session virtualenvs.",
        "",
        "In a `generated` session the reliability checks run beside lint, typecheck, migrations and"
        " tests (one core each): its total is less than the sum of its steps.",
    ]
    cpu = _cpu_sum(records)
    cores = max((r.get("cores") or 0 for r in records), default=0)
    if cpu is not None and cores:
        lines += [
            "",
            "Machine CPU: the CPU seconds all of the machine's processes used while the session ran"
            " (from /proc/stat: the PostgreSQL servers, PgBouncer and uvicorn included). Divided by the"
            " cores, it is the least time the work could take on this machine, however it was"
            f" scheduled: here {cpu:.0f} s of CPU on {cores} cores, at least **{cpu / cores:.0f} s**"
            f" ({cpu / cores / 60:.1f} min) for these {len(records)} sessions.",
        ]
    report = directory / f"{MATRIX}.md"
    report.write_text("\n".join(lines) + "\n")
    return report


def _cpu(record: dict[str, Any]) -> str:
    cpu = record.get("cpu")
    return "-" if cpu is None else f"{cpu:.1f}"


def _cpu_sum(records: list[dict[str, Any]]) -> float | None:
    """The records' machine CPU seconds added up; None when one has none (an older record)."""
    values = [r.get("cpu") for r in records]
    return None if not values or any(v is None for v in values) else sum(values)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _of(part: int | None, whole: int | None) -> str:
    return "-" if part is None else f"{part} of {whole}"


def write_reliability_report(directory: Path, *, fuzz_examples: int, fuzz_seed: int) -> Path:
    """DIRECTORY/reliability.md: one table row per combination from DIRECTORY/reliability/*.json."""
    rows = []
    for path in sorted((directory / RELIABILITY).glob("*.json")):
        result = json.loads(path.read_text())
        lost = result["outage_writes_lost"]
        cells = [
            f"`{result['combination']}`",
            "pass" if not result["failures"] else f"**FAIL** ({len(result['failures'])})",
            str(result["fuzz_cases"]),
            str(result["fuzz_server_errors"]),
            str(result["fuzz_schema_violations"]),
            f"{result['races_passed']}/{result['races_run']}",
            _seconds(result["outage_slowest_503"]),
            _seconds(result["outage_recovery"]),
            "-" if lost is None else f"{lost} of {result['outage_writes_acknowledged']}",
            _of(result.get("pooler_writes_lost"), result.get("pooler_writes_acknowledged")),
            _of(result.get("shutdown_answered"), result.get("shutdown_in_flight")),
            "-" if result.get("shutdown_exit_status") is None else str(result["shutdown_exit_status"]),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    header = [
        f"Schemathesis {fuzz_examples} examples per operation plus its coverage phase, seed {fuzz_seed}; "
        "races of 50 concurrent requests; outage = PostgreSQL stopped and started under the running service; "
        "PgBouncer = 200 parallel creates behind it in transaction mode (`?pgbouncer=true`, 3 workers); "
        "SIGTERM = sent while requests wait on a lock.",
        "",
        "| Combination | Result | Fuzz cases | 5xx | Schema violations | Races passed "
        "| Slowest 503 in outage | Recovery after restart | Acknowledged writes lost "
        "| PgBouncer writes lost | SIGTERM: in-flight answered | SIGTERM: exit status |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    report = directory / f"{RELIABILITY}.md"
    report.write_text("\n".join(header + rows) + "\n")
    return report


def publish(
    session: nox.Session,
    records: Path,
    target: Path,
    *,
    expected: dict[str, list[str]],
    fuzz_examples: int,
    fuzz_seed: int,
) -> None:
    """Replace TARGET's records (docs/reports/) by those of this run in RECORDS, and rebuild its tables.

    EXPECTED names, per kind (matrix, reliability), the record stems this run must have written;
    any missing or older than this run fails the session and leaves TARGET untouched.
    """
    fresh: dict[str, list[Path]] = {}
    for kind, stems in expected.items():
        paths = [records / kind / f"{stem}.json" for stem in stems]
        stale = [p.name for p in paths if not p.is_file() or p.stat().st_mtime < RUN_STARTED]
        if stale:
            session.error(f"{kind}: no record from this run for {', '.join(stale)}")
        fresh[kind] = paths
    for kind, paths in fresh.items():
        shutil.rmtree(target / kind, ignore_errors=True)
        (target / kind).mkdir(parents=True)
        for path in paths:
            shutil.copy2(path, target / kind / path.name)
    write_matrix_report(target)
    write_reliability_report(target, fuzz_examples=fuzz_examples, fuzz_seed=fuzz_seed)
    session.log(f"refreshed {target}: {', '.join(f'{len(p)} {k} records' for k, p in fresh.items())}")
