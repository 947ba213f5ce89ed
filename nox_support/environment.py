"""Environment variables the sessions hand to the generated projects' commands."""

from __future__ import annotations

# Variables nox sets for its own session venv: a generated project must get its own .venv.
NOT_NOX_VENV: dict[str, str | None] = {
    "VIRTUAL_ENV": None,
    "UV_PROJECT_ENVIRONMENT": None,
    "UV_PYTHON": None,
    "CONDA_PREFIX": None,
}
