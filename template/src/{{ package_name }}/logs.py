"""Logging: one setup for the service and uvicorn, a request id on every line, access lines.

Lines are text by default and one JSON object each with LOG_FORMAT=json (python-json-logger
writes them). Every request has an id, the client's X-Request-ID when it sends a sane one, else
a new one; asgi-correlation-id keeps it for the request, echoes it in the response's
X-Request-ID and puts it on every line logged meanwhile (`request_id`).

Both are small, maintained libraries that each do one of these jobs on the standard `logging`
module, so the records of uvicorn, SQLAlchemy and any other library go through the same
handler unchanged. structlog would do it too, but asks every module to log through its own API.
"""

import logging
import logging.config
import re
import sys
import time
from typing import Any, Literal, TextIO

from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from fastapi import FastAPI
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import Engine, event
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
# What a request id from a client may be: no spaces or quotes, nothing that breaks a log line.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "message", "request_id"]

access_logger = logging.getLogger(__name__.rsplit(".", 1)[0] + ".access")
sql_logger = logging.getLogger(__name__.rsplit(".", 1)[0] + ".sql")


def configure_logging(
    log_format: Literal["text", "json"], level: str, stream: TextIO = sys.stderr
) -> None:
    """Send every logger's records, uvicorn's too, through one handler in `log_format`.

    uvicorn's own access lines are turned off: `AccessLog` writes one line per request instead,
    with its duration and the request id.
    """
    formatter: dict[str, Any] = (
        {
            "()": JsonFormatter,
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            # uvicorn's copy of its message with terminal colours.
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],
        }
        if log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "request_id": {"()": RequestIdFilter},
            },
            "formatters": {"service": formatter},
            "handlers": {
                "service": {
                    "class": "logging.StreamHandler",
                    "stream": stream,
                    "formatter": "service",
                    "filters": ["request_id"],
                }
            },
            "root": {"handlers": ["service"], "level": level.upper()},
            "loggers": {
                "uvicorn": {"handlers": [], "propagate": True},
                "uvicorn.error": {"handlers": [], "propagate": True},
                "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            },
        }
    )


class RequestIdFilter(logging.Filter):
    """Writes the id of the request being served on each record: `request_id`, '-' outside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = correlation_id.get() or "-"
        return True


class AccessLog:
    """ASGI middleware: one line per request, with method, path, status and duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before it answers

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            access_logger.info(
                "%s %s %d %.1f ms",
                scope["method"],
                scope["path"],
                status,
                duration_ms,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": duration_ms,
                },
            )


def add_request_logging(app: FastAPI) -> None:
    """The request id around everything, then the access line (added last: outermost)."""
    app.add_middleware(AccessLog)
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name=REQUEST_ID_HEADER,
        validator=lambda value: SANE_REQUEST_ID.fullmatch(value) is not None,
    )


def log_slow_queries(engine: Engine, threshold_ms: int) -> None:
    """A warning for each statement slower than `threshold_ms`: its duration and its text,
    with the placeholders, never the values bound to them."""

    @event.listens_for(engine, "before_cursor_execute")
    def start(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        context.query_started = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def finish(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        duration_ms = (time.perf_counter() - context.query_started) * 1000
        if duration_ms >= threshold_ms:
            sql_logger.warning(
                "slow query, %.0f ms: %s",
                duration_ms,
                " ".join(statement.split()),
                extra={"duration_ms": round(duration_ms, 1), "statement": statement},
            )
