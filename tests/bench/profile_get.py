"""Profile the service's get-by-id with pyinstrument, in-process, and say where the time goes.

    python profile_get.py PACKAGE SESSION_STYLE IDS_FILE REQUESTS OUTPUT_STEM

Runs in a generated project's .venv (with pyinstrument added by `uv run --with`) and
DATABASE_URL set. Requests go straight to the ASGI app, one after another, for random ids;
uvicorn's HTTP parsing, which the baseline pays for too, is left out. pyinstrument follows one
thread, so for a sync service the threadpool's work runs inline on it (the hand-over to a
worker thread is the one cost this leaves out) and pyinstrument's async mode is off; for an
async service it is on, so that time spent awaiting the database shows as such.

Writes OUTPUT_STEM.txt (the functions that take the most time themselves, then the call tree;
pyinstrument's HTML would be tens of megabytes) and prints one JSON line: milliseconds per
request and the share of the time per part of the stack. The profile is of wall-clock time:
on a busy machine, time the process waits for a CPU is spread over where it was.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import random
import sys
from pathlib import Path
from typing import Any

import anyio.to_thread
from asgi import call, run_sync_inline
from pyinstrument import Profiler
from pyinstrument.frame import AWAIT_FRAME_IDENTIFIER, SELF_TIME_FRAME_IDENTIFIER, Frame
from pyinstrument.renderers import ConsoleRenderer

DATABASE = "database (driver, socket I/O, waiting)"
OTHER = "other (Python standard library, ...)"
# Where a frame's own time goes, by the package its code is in (first match wins).
PARTS = (
    (DATABASE, ("asyncpg", "psycopg", "psycopg_binary", "aiosqlite", "sqlite3")),
    ("SQLAlchemy", ("sqlalchemy", "greenlet")),  # greenlet: its bridge from async to its sync core
    ("pydantic", ("pydantic", "pydantic_core")),
    ("FastAPI (routing, dependencies)", ("fastapi",)),
    ("Starlette", ("starlette",)),
    ("event loop, threads (asyncio, anyio)", ("asyncio", "anyio", "concurrent", "threading")),
)
# SQLAlchemy hands a statement to the driver here: these frames' own time is the driver's C code.
DRIVER_CALLS = {"do_execute", "do_executemany", "do_execute_no_params"}
# In-process, every socket is the database's.
SOCKET_CALLS = ("socket.", "epoll.", "select.")
HARNESS = ("/profile_get.py", "/asgi.py")


def part_of(frame: Frame, package: str) -> str | None:
    """What the frame's own time is spent on; None for this harness's own code."""
    if frame.is_synthetic:
        if frame.identifier == AWAIT_FRAME_IDENTIFIER:
            return DATABASE
        if frame.identifier == SELF_TIME_FRAME_IDENTIFIER and frame.parent is not None:
            return part_of(frame.parent, package)
        return OTHER
    path = (frame.file_path or "").replace("\\", "/")
    if path.endswith(HARNESS):
        return None
    if path == "<built-in>":
        if frame.function.startswith(SOCKET_CALLS):
            return DATABASE
        # Other C code (a driver's, pydantic-core's, the GIL handed to a driver's thread): the
        # part of the Python code that called it.
        return part_of(frame.parent, package) if frame.parent is not None else OTHER
    if "sqlalchemy/engine/default.py" in path and frame.function in DRIVER_CALLS:
        return DATABASE
    for part, names in PARTS:
        if any(f"/{name}/" in path or path.endswith(f"/{name}.py") for name in names):
            return part
    if f"/{package}/" in path:
        return "the service's own code"
    return OTHER


def shares(root: Frame | None, package: str) -> dict[str, float]:
    """Self time of every frame, summed by part, as fractions of the total."""
    totals: dict[str, float] = {}
    stack = [root] if root else []
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        own = frame.time - sum(child.time for child in frame.children)
        if own > 0:
            part = part_of(frame, package)
            if part is not None:
                totals[part] = totals.get(part, 0.0) + own
    whole = sum(totals.values()) or 1.0
    return {part: seconds / whole for part, seconds in sorted(totals.items(), key=lambda item: -item[1])}


async def main(package: str, style: str, ids: list[str], requests: int, stem: Path) -> dict[str, Any]:
    app = importlib.import_module(f"{package}.main").app
    if style == "sync":
        anyio.to_thread.run_sync = run_sync_inline  # type: ignore[assignment]  # pyinstrument sees it
    chosen = random.Random(0)
    for _ in range(50):  # warm up: connections, statement caches
        await call(app, "GET", f"/api/v1/products/{chosen.choice(ids)}", decode=False)
    profiler = Profiler(async_mode="enabled" if style == "async" else "disabled")
    profiler.start()
    for _ in range(requests):
        status, _ = await call(app, "GET", f"/api/v1/products/{chosen.choice(ids)}", decode=False)
        if status != 200:
            raise SystemExit(f"get-by-id answered {status}")
    session = profiler.stop()
    options: dict[str, Any] = {"unicode": True, "time": "percent_of_total"}
    flat = ConsoleRenderer(**options, flat=True, processor_options={"filter_threshold": 0.005})
    tree = ConsoleRenderer(**options, processor_options={"filter_threshold": 0.005})
    text = (
        f"get-by-id, {requests} requests in-process: the functions by their own time\n"
        f"{flat.render(session)}\nThe call tree\n{tree.render(session)}"
    )
    # "Profile at <this file>": the machine's own path says nothing to a reader.
    stem.with_suffix(".txt").write_text(text.replace(f"{Path(__file__).parent}/", ""))
    return {
        "requests": requests,
        "ms_per_request": round(1000 * session.duration / requests, 3),
        "shares": {part: round(share, 3) for part, share in shares(session.root_frame(), package).items()},
    }


if __name__ == "__main__":
    package, session_style, ids_file, count, stem = sys.argv[1:]
    product_ids = Path(ids_file).read_text().split()
    print(json.dumps(asyncio.run(main(package, session_style, product_ids, int(count), Path(stem)))))
