"""After the resource generator's copy: register the new resource and make its revision the head.

Wired in copier.yml as a task of the copy that adds a resource (never of an update), run in the
project's directory once Copier has written the resource's files:

    python hooks/add_resource.py PACKAGE RESOURCE MODEL_CLASS REVISION

Three edits, each one statement, placed where `ruff check` and `ruff format` want it:

1. `app.py`: imports the resource's router and adds it to `RESOURCE_ROUTERS`, which the app
   mounts.
2. `all_models.py`: imports the resource's model and adds it to `__all__`, so that Alembic and
   the tests see its table.
3. The resource's revision revises the project's current head(s): it becomes the one head
   (with several heads it joins them).

The files are read with `ast`, so edits of your own around those statements stay as they are.
When a statement is not there any more (you restructured the module), it says what to add by
hand and exits 1; the resource's own files are written either way. Standard library only.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from post_update import VERSIONS, heads, read_history


class NotFound(Exception):
    """The statement to extend is not in the module."""


def sort_key(name: str) -> tuple[int, str]:
    """Ruff's order of `__all__`: CONSTANTS, then Classes, then the rest."""
    if name.isupper():
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


def insert_import(text: str, statement: str, module: str) -> str:
    """TEXT with STATEMENT (`from .MODULE import ...`) among the relative imports, in order."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    relative = [
        node for node in tree.body if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
    ]
    if not relative:
        raise NotFound(statement)
    after = [node for node in relative if (node.module or "").lower() > module.lower()]
    index = after[0].lineno - 1 if after else (relative[-1].end_lineno or relative[-1].lineno)
    lines.insert(index, statement + "\n")
    return "".join(lines)


def insert_element(text: str, target: str, element: str, key: str) -> str:
    """TEXT with ELEMENT added to the tuple or list assigned to TARGET, in the order of `sort_key`.

    One element a line (the template writes them so, with a trailing comma): the new line goes
    between its neighbours. Written otherwise, the collection is written again, one a line.
    """
    tree = ast.parse(text)
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and [getattr(t, "id", None) for t in node.targets] == [target]
            and isinstance(node.value, (ast.Tuple, ast.List))
        ):
            collection = node.value
            break
    else:
        raise NotFound(target)
    names = [ast.unparse(element_node) for element_node in collection.elts]
    keys = [
        e.value if isinstance(e, ast.Constant) and isinstance(e.value, str) else n
        for e, n in zip(collection.elts, names, strict=True)
    ]
    lines = text.splitlines(keepends=True)
    rows = [e.lineno for e in collection.elts]
    one_a_line = (
        len(set(rows)) == len(rows)
        and collection.lineno not in rows
        and collection.end_lineno not in rows
        and all(e.lineno == e.end_lineno for e in collection.elts)
    )
    if one_a_line and collection.elts:
        first = lines[rows[0] - 1]
        indent = first[: len(first) - len(first.lstrip())]
        later = [row for row, k in zip(rows, keys, strict=True) if sort_key(k) > sort_key(key)]
        index = later[0] - 1 if later else rows[-1]
        lines.insert(index, f"{indent}{element},\n")
        return "".join(lines)
    entries = sorted([*zip(keys, names, strict=True), (key, element)], key=lambda e: sort_key(e[0]))
    opening, closing = ("(", ")") if isinstance(collection, ast.Tuple) else ("[", "]")
    body = "".join(f"    {name},\n" for _, name in entries)
    start, end = collection.lineno - 1, (collection.end_lineno or collection.lineno) - 1
    head = lines[start][: collection.col_offset]
    tail = lines[end][collection.end_col_offset :]
    lines[start : end + 1] = [f"{head}{opening}\n{body}{closing}{tail}"]
    return "".join(lines)


def extend(path: Path, imports: tuple[str, str], collection: tuple[str, str, str]) -> list[str]:
    """Add to the module at PATH an import (statement, module) and an element (target, element,
    sort key) of a collection; what could not be done, as advice."""
    text = path.read_text(encoding="utf-8")
    advice = []
    statement, module = imports
    try:
        text = insert_import(text, statement, module)
    except NotFound:
        advice.append(f"{path.name}: add `{statement}`")
    target, element, key = collection
    try:
        text = insert_element(text, target, element, key)
    except NotFound:
        advice.append(f"{path.name}: add {element} to {target}")
    path.write_text(text, encoding="utf-8")
    return advice


def register(package: Path, resource: str, model_class: str) -> list[str]:
    """Register the resource in app.py and all_models.py; what could not be done, as advice."""
    router = f"{resource}_router"
    return extend(
        package / "app.py",
        (f"from .{resource}.router import router as {router}", f"{resource}.router"),
        ("RESOURCE_ROUTERS", router, router),
    ) + extend(
        package / "all_models.py",
        (f"from .{resource}.models import {model_class}", f"{resource}.models"),
        ("__all__", f'"{model_class}"', model_class),
    )


def revise_heads(project: Path, revision: str) -> list[str]:
    """Make REVISION revise the other heads of the history; those heads."""
    revisions, _ = read_history(project / VERSIONS)
    own = [r for r in revisions if r.revision == revision]
    if len(own) != 1:
        raise SystemExit(f"add_resource: no single revision {revision} in {VERSIONS}")
    others = heads([r for r in revisions if r.revision != revision])
    path = own[0].path
    text = path.read_text(encoding="utf-8")
    if not others:
        value, revises = "None", ""
    elif len(others) == 1:
        value, revises = f'"{others[0]}"', others[0]
    else:
        value, revises = "(" + ", ".join(f'"{h}"' for h in sorted(others)) + ")", ", ".join(sorted(others))
    text = text.replace(
        "down_revision: str | Sequence[str] | None = None\n",
        f"down_revision: str | Sequence[str] | None = {value}\n",
        1,
    )
    text = text.replace("\nRevises:\n", f"\nRevises: {revises}\n" if revises else "\nRevises:\n", 1)
    path.write_text(text, encoding="utf-8")
    return others


def main(argv: list[str]) -> int:
    package_name, resource, model_class, revision = argv
    project = Path.cwd()
    advice = register(project / "src" / package_name, resource, model_class)
    revised = revise_heads(project, revision)
    print(f"Added the resource {resource}: /api/v1/{resource}, its table, its tests.")
    print(f"  Its revision {revision} revises {', '.join(revised) or 'nothing'}.")
    for line in advice:
        print(f"  Could not register it automatically: {line}.")
    print("Next: uv run alembic upgrade head && uv run pytest")
    return 1 if advice else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
