"""Shared fixtures: the 16 combinations of the template's choices, rendered once per test run."""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any

import copier
import pytest
from filelock import FileLock

from nox_support import combinations

REPO_ROOT = Path(__file__).resolve().parent.parent
PROJECT_NAME = "Catalog Service"
PACKAGE_NAME = "catalog_service"


@dataclasses.dataclass(frozen=True)
class Combination(combinations.Combination):
    """One combination, named as everywhere else (nox_support.combinations): `sqlite-async-int-hard`."""

    @property
    def data(self) -> dict[str, Any]:
        return {"project_name": PROJECT_NAME, **self.answers}


COMBINATIONS = [Combination(**combination.answers) for combination in combinations.COMBINATIONS]


def render(
    dst: Path, data: dict[str, Any], *, pretend: bool = False, template: str | Path = REPO_ROOT
) -> copier.Worker:
    """Render the working tree of TEMPLATE, by default this repository (uncommitted changes
    included), into dst."""
    with warnings.catch_warnings():
        # "Dirty template changes included automatically" is expected while developing.
        warnings.simplefilter("ignore")
        return copier.run_copy(
            src_path=str(template),
            dst_path=str(dst),
            data=data,
            defaults=True,
            vcs_ref="HEAD",
            quiet=True,
            unsafe=True,
            pretend=pretend,
        )


class RenderFailed(Exception):
    """A combination that did not render: the error its render raised, as text."""


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[Combination, Path | Exception]:
    """All 16 combinations rendered once a run; a failed render is kept as its error.

    Under pytest-xdist the workers share the renders, in the run's directory (each worker has
    its own below it): they take the combinations from opposite ends, one at a time under a
    lock of its own, and meet in the middle. The tests only read these projects, and copy one
    before they change it.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        base = tmp_path_factory.mktemp("rendered")
    else:
        base = tmp_path_factory.getbasetemp().parent / "rendered"
        base.mkdir(exist_ok=True)
    backwards = worker is not None and int(worker.removeprefix("gw")) % 2 == 1
    for combination in reversed(COMBINATIONS) if backwards else COMBINATIONS:
        dst, done, failed = (base / f"{combination.id}{end}" for end in ("", ".done", ".failed"))
        with FileLock(f"{dst}.lock"):
            if done.exists() or failed.exists():
                continue
            try:
                render(dst, combination.data)
            except Exception as error:  # noqa: BLE001 - reported by every test of that combination
                failed.write_text(f"{type(error).__name__}: {error}", encoding="utf-8")
            else:
                done.touch()
    results: dict[Combination, Path | Exception] = {}
    for combination in COMBINATIONS:
        failed = base / f"{combination.id}.failed"
        results[combination] = (
            RenderFailed(failed.read_text(encoding="utf-8")) if failed.exists() else base / combination.id
        )
    return results


@pytest.fixture(params=COMBINATIONS, ids=lambda combination: combination.id)
def combination(request: pytest.FixtureRequest) -> Combination:
    return request.param


@pytest.fixture
def project(rendered: dict[Combination, Path | Exception], combination: Combination) -> Path:
    """The rendered project of this test's combination; fails the test if rendering failed."""
    result = rendered[combination]
    if isinstance(result, Exception):
        pytest.fail(f"rendering {combination.id} failed: {type(result).__name__}: {result}", pytrace=False)
    return result
