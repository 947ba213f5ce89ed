"""The newest CPython on this machine, found without knowing where this machine keeps them."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nox

PROBE = "import platform, sys; print(platform.python_implementation(), *sys.version_info[:3])"


@dataclass(frozen=True, order=True)
class Interpreter:
    version: tuple[int, int, int]
    path: str

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


def _probe(path: str) -> Interpreter | None:
    """The interpreter at PATH, if it runs and is CPython (a pyenv shim of an inactive one does not)."""
    try:
        result = subprocess.run(
            [path, "-I", "-c", PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    words = result.stdout.split()
    if result.returncode != 0 or len(words) != 4 or words[0] != "CPython":
        return None
    major, minor, micro = (int(word) for word in words[1:])
    return Interpreter((major, minor, micro), path)


def _candidates(uv: str | None) -> list[str]:
    """Paths of interpreters: uv's list of installed ones, pyenv's versions, python3.N on PATH."""
    found: list[str] = []
    if uv:
        with contextlib.suppress(OSError, subprocess.SubprocessError, ValueError):
            listed = subprocess.run(
                [uv, "python", "list", "--only-installed", "--output-format", "json"],
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            found += [entry["path"] for entry in json.loads(listed.stdout) if entry.get("path")]
    if pyenv := shutil.which("pyenv"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            root = subprocess.run(
                [pyenv, "root"], capture_output=True, text=True, timeout=30, check=True
            ).stdout.strip()
            found += [str(path) for path in sorted(Path(root).glob("versions/*/bin/python3"))]
    for minor in range(11, 30):
        if path := shutil.which(f"python3.{minor}"):
            found.append(path)
    return list(dict.fromkeys(os.path.realpath(path) for path in found))


def newest(minimum: tuple[int, int] = (3, 11)) -> Interpreter | None:
    """The newest CPython of at least MINIMUM that runs here; None when there is none."""
    interpreters = [i for path in _candidates(shutil.which("uv")) if (i := _probe(path))]
    usable = [i for i in interpreters if i.version[:2] >= minimum]
    return max(usable, default=None)


def newest_or_warn(session: nox.Session, lowest: str) -> str:
    """The newest interpreter's path for `uv sync --python`; when none is newer than LOWEST
    (e.g. "3.11"), say so in a banner and return what there is: never skip."""
    interpreter = newest()
    lowest_version = tuple(int(part) for part in lowest.split("."))
    if interpreter is not None and interpreter.version[:2] > lowest_version:
        session.log(f"newest Python: {interpreter.version_text} at {interpreter.path}")
        return interpreter.path
    found = "none" if interpreter is None else f"{interpreter.version_text} at {interpreter.path}"
    session.warn("=" * 78)
    session.warn(f"NO PYTHON NEWER THAN {lowest} ON THIS MACHINE (newest found: {found}).")
    session.warn(f"Running on Python {lowest}: the newest Python the projects allow is NOT tested.")
    session.warn("=" * 78)
    return interpreter.path if interpreter else lowest
