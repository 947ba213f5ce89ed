"""What the service does beyond the textbook app, each part measured alone, in-process.

    python ablation.py PACKAGE TAG_IDS_FILE REQUESTS ROUNDS

Runs in a generated project's .venv with DATABASE_URL (the service's database) and the
BENCH_* variables of the textbook app (baseline_common.py) set. Get tag by id, straight to
the ASGI app (no uvicorn, no HTTP parsing), REQUESTS requests per round for each variant,
ROUNDS rounds taking turns, so that other load on the machine hits every variant alike; the
figure of a variant is its least CPU time (process time, every thread) per request over the
rounds. The variants, each the service with one thing changed:

- service: as generated;
- no middlewares: without the request id (asgi-correlation-id), the access line and the body
  limit;
- one router: only the tags router included, where the service has all of its resources'
  (FastAPI >= 0.137 tries a request on the routers before the matching one; the service's
  `ResourceRouter` skips those whose prefix the path lacks: what is left is that check);
- both: no middlewares and one router; what is left between it and the textbook app is the
  rest of what the service does (ETag, the id's validation, the unit of work, error mapping);
- rows, no objects: `CRUDBase.get` by a select of the model's columns, made once, whose row
  goes to the response schema as it is, with no ORM object built for it (a process-wide
  patch, applied only during that variant's turns): the hand-written read the service does
  not use, since every other path (the product's, update, delete) needs the object;
- textbook: the textbook app (textbook_async.py / textbook_sync.py), for reference;
- service, threads inline and textbook, threads inline (sync projects only): the two with
  anyio's hand-over to a worker thread replaced by a call on the event loop's thread (a
  process-wide patch, as for rows, no objects), so that what is left is the work itself: a sync
  route, its response's validation and a sync dependency each cost a trip to a thread, which
  these figures leave out. Async projects make no such trips on this read (aiosqlite's calls
  go to its connection's own thread, which no patch here takes away).

Prints one JSON line: microseconds per request by variant.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread
import sqlalchemy
from asgi import call, run_sync_inline

MIDDLEWARES = {"CorrelationIdMiddleware", "AccessLog", "BodyLimit"}


def main() -> int:
    package, ids_file, requests, rounds = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    app_module = importlib.import_module(f"{package}.app")
    crud = importlib.import_module(f"{package}.crud")
    tags_router = importlib.import_module(f"{package}.tags.router").router
    style = "async" if asyncio.iscoroutinefunction(crud.CRUDBase.get) else "sync"
    textbook = importlib.import_module(f"textbook_{style}").app

    def service(*, middlewares: bool = True, routers: tuple[Any, ...] | None = None) -> Any:
        every = app_module.RESOURCE_ROUTERS
        app_module.RESOURCE_ROUTERS = routers or every
        try:
            app = app_module.create_app()
        finally:
            app_module.RESOURCE_ROUTERS = every
        if not middlewares:
            # Before the first request, which builds the middleware stack from this list.
            app.user_middleware = [m for m in app.user_middleware if m.cls.__name__ not in MIDDLEWARES]
        return app

    original_get = crud.CRUDBase.get
    by_columns: dict[type[Any], Any] = {}

    def column_select(model: type[Any]) -> Any:
        """The model's columns, for one id given at execution: built and cached once."""
        if model not in by_columns:
            columns = [getattr(model, attribute.key) for attribute in sqlalchemy.inspect(model).column_attrs]
            by_columns[model] = sqlalchemy.select(*columns).where(model.id == sqlalchemy.bindparam("id"))
        return by_columns[model]

    if style == "async":

        async def get_row(self: Any, id: Any, *, for_update: bool = False) -> Any:
            if for_update:
                return await original_get(self, id, for_update=True)
            found = (await self.session.execute(column_select(self.model), {"id": id})).one_or_none()
            if found is None:
                raise crud.NotFoundError(f"{self.label} {id} not found")
            return found
    else:

        def get_row(self: Any, id: Any, *, for_update: bool = False) -> Any:
            if for_update:
                return original_get(self, id, for_update=True)
            found = self.session.execute(column_select(self.model), {"id": id}).one_or_none()
            if found is None:
                raise crud.NotFoundError(f"{self.label} {id} not found")
            return found

    @contextlib.contextmanager
    def rows_no_objects() -> Iterator[None]:
        crud.CRUDBase.get = get_row
        try:
            yield
        finally:
            crud.CRUDBase.get = original_get

    @contextlib.contextmanager
    def threads_inline() -> Iterator[None]:
        original = anyio.to_thread.run_sync
        anyio.to_thread.run_sync = run_sync_inline  # type: ignore[assignment]
        try:
            yield
        finally:
            anyio.to_thread.run_sync = original

    plain = service()
    variants: dict[str, tuple[Any, Callable[[], contextlib.AbstractContextManager[None]]]] = {
        "service": (plain, contextlib.nullcontext),
        "no middlewares": (service(middlewares=False), contextlib.nullcontext),
        "one router": (service(routers=(tags_router,)), contextlib.nullcontext),
        "both": (service(middlewares=False, routers=(tags_router,)), contextlib.nullcontext),
        "rows, no objects": (service(), rows_no_objects),
        "textbook": (textbook, contextlib.nullcontext),
    }
    if style == "sync":
        variants["service, threads inline"] = (plain, threads_inline)
        variants["textbook, threads inline"] = (textbook, threads_inline)
    ids = ids_file.read_text().split()

    async def measure() -> dict[str, float]:
        async def burst(app: Any, count: int) -> None:
            for _ in range(count):
                status, _ = await call(app, "GET", f"/api/v1/tags/{random.choice(ids)}", decode=False)
                if status != 200:
                    raise RuntimeError(f"get tag answered {status}")

        best = {name: float("inf") for name in variants}
        for app, patch in variants.values():
            with patch():
                await burst(app, max(requests // 4, 50))  # warm-up: pools, caches, compiled statements
        for _ in range(rounds):
            for name, (app, patch) in variants.items():
                with patch():
                    started = time.process_time()
                    await burst(app, requests)
                    best[name] = min(best[name], (time.process_time() - started) / requests * 1e6)
        return best

    figures = asyncio.run(measure())
    print(json.dumps({"requests": requests, "rounds": rounds, "us_per_request": figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
