"""The docs' code blocks: a directive shows the rendered file, and a stale directive fails.

`docs/hooks/generated_code.py` is the MkDocs hook that replaces `<!-- generated: ... -->`
directives with code from real renders; these tests use it without MkDocs.
"""

from __future__ import annotations

import importlib.util
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from conftest import REPO_ROOT, Combination

HOOK_PATH = REPO_ROOT / "docs" / "hooks" / "generated_code.py"
CRUD = "src/catalog_service/crud.py"


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generated_code", HOOK_PATH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = load_hook()


@pytest.fixture(scope="module")
def renders() -> Iterator[ModuleType]:
    renders = hook.Renders()
    yield renders
    renders.close()


def expand(renders: ModuleType, directive: str) -> str:
    return hook.expand(f"Before.\n\n<!-- generated: {directive} -->\n\nAfter.\n", renders)


def code(block: str) -> list[str]:
    """The text of each fenced code block in the Markdown, without its fences and indentation."""
    blocks = re.findall(r"^( *)(`{3,})[^\n]*\n(.*?)\n\1\2$", block, re.MULTILINE | re.DOTALL)
    return [textwrap.dedent(indent + text) for indent, _, text in blocks]


def test_a_directive_shows_the_file_of_its_combination(
    renders: ModuleType, rendered: dict[Combination, Path | Exception]
) -> None:
    combination = Combination("postgresql", "sync", "uuid", True)
    project = rendered[combination]
    assert isinstance(project, Path), project
    expected = (project / CRUD).read_text(encoding="utf-8").strip("\n")

    page = expand(
        renders, f"file={CRUD} database=postgresql session_style=sync primary_key=uuid soft_delete=true"
    )

    assert page.startswith('Before.\n\n```python title="src/catalog_service/crud.py"\n')
    assert page.endswith("\n```\n\nAfter.\n")
    assert code(page) == [expected]


def test_a_symbol_or_a_range_of_lines_selects_part_of_the_file(renders: ModuleType) -> None:
    [method] = code(expand(renders, f"file={CRUD} symbol=CRUDBase.delete soft_delete=true"))
    [lines] = code(expand(renders, 'file=README.md start="^uv sync" end="uvicorn"'))

    assert method.startswith("async def delete(self, obj: ModelT) -> None:\n")
    assert "self.model.deleted_at.is_(None)" in method
    assert "def restore" not in method
    assert lines.startswith("uv sync")
    assert lines.splitlines()[-1].startswith("uv run uvicorn catalog_service.main:app")


def test_vary_puts_each_answer_in_a_tab_of_a_new_set(renders: ModuleType) -> None:
    page = expand(renders, f"file={CRUD} symbol=CRUDBase.get vary=session_style")

    assert re.findall(r'^(===!?) "(\w+)"$', page, re.MULTILINE) == [("===!", "async"), ("===", "sync")]
    async_get, sync_get = code(page)
    assert async_get.startswith("async def get(")
    assert sync_get.startswith("def get(")


def test_diff_shows_what_an_answer_changes(renders: ModuleType) -> None:
    [diff] = code(
        expand(renders, "file=src/catalog_service/models.py symbol=IdMixin vary=primary_key diff=0")
    )

    assert diff.splitlines()[:2] == ["--- int", "+++ uuid"]
    assert "-    id: Mapped[int] = mapped_column(primary_key=True)" in diff
    assert "+    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)" in diff


def test_directives_in_fenced_code_are_left_alone(renders: ModuleType) -> None:
    page = "```markdown\n<!-- generated: file=no/such/file.py -->\n```\n"

    assert hook.expand(page, renders) == page


@pytest.mark.parametrize(
    ("directive", "message"),
    [
        (
            "file=src/catalog_service/databse.py",
            r"databse\.py is not in the render .* did you mean .*database\.py",
        ),
        (f"file={CRUD} soft_delete=true symbol=CRUDBase.purge", r"symbol 'CRUDBase\.purge' is not defined"),
        (f'file={CRUD} start="^class Nothing"', r"start='\^class Nothing' matches no line"),
        (f'file={CRUD} start="^class CRUDBase" end="^nothing"', r"end='\^nothing' matches no line"),
        (f"file={CRUD} colour=red", r"unknown argument 'colour'"),
        (
            f"file={CRUD} database=mysql",
            r"database='mysql' is not an answer of database \(sqlite, postgresql\)",
        ),
        (f"file={CRUD} vary=project_name", r"vary=project_name: not a question with choices"),
        (f"file={CRUD} diff=1", r"diff=\.\.\. needs vary"),
        ("symbol=CRUDBase", r"file=\.\.\. is required"),
        (
            "file=src/catalog_service/soft_delete.py",
            r"soft_delete\.py is not in the render of .*soft_delete=false",
        ),
    ],
)
def test_a_directive_that_does_not_match_the_template_fails(
    renders: ModuleType, directive: str, message: str
) -> None:
    with pytest.raises(hook.DirectiveError, match=r"^3: <!-- generated: ") as raised:
        expand(renders, directive)

    assert re.search(message, str(raised.value)), str(raised.value)


def test_a_malformed_directive_fails(renders: ModuleType) -> None:
    with pytest.raises(hook.DirectiveError, match="malformed directive"):
        hook.expand("<!-- generated file=README.md -->\n", renders)


def test_each_combination_is_rendered_once(renders: ModuleType) -> None:
    expand(renders, "file=README.md database=postgresql")
    before = dict(renders.projects)

    expand(renders, "file=pyproject.toml database=postgresql session_style=async")

    assert renders.projects == before
