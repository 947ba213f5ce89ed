"""After every `copier update`: join the Alembic history into one head, then report what is left.

Wired in copier.yml as a `_migrations` entry without a version, so Copier runs it at the end of
every update (an answer change at the same version included), in the project's directory, after
your changes were applied again and conflicts were marked:

    python hooks/post_update.py [--answers-file .copier-answers.yml]

Two things, in order:

1. One Alembic head. A template revision (`0002_add_soft_delete` on a soft-delete flip, or a
   later version's `template_NNNN_*`) hangs off the template's own revisions, beside the
   revisions you wrote since. When `migrations/versions/` then has several heads, this writes
   one merge revision, `merge_<hash of the heads>`, that changes nothing in the database and
   makes `alembic upgrade head` work again. It is the only file it writes; it never writes
   one when two files claim the same revision id (it says how to fix that instead).
2. A report: the files that hold conflict markers, the `.rej` files, and the next steps (`uv
   lock` when pyproject.toml changed, `alembic upgrade head` when revisions arrived, the one
   revision to write when soft delete was turned on, the tests). When there is nothing to do,
   it says so. It never edits any file Copier wrote or you wrote.

The revisions are read without importing them (`ast`), so it needs neither the project's
environment nor a database. Standard library only. It exits 0 whatever it finds, since the
update itself has already happened: read its output.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

VERSIONS = Path("migrations") / "versions"
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
MARKER_START = "<<<<<<< "
MARKER_END = ">>>>>>> "
SOFT_DELETE_COMMAND = (
    'uv run alembic revision --autogenerate -m "soft delete on our own tables"'
    " && uv run ruff format migrations"
)


@dataclass(frozen=True)
class Revision:
    path: Path
    revision: str
    down_revisions: tuple[str, ...]


# --------------------------------------------------------------------------- Alembic history


def _literal(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def read_revision(path: Path) -> Revision | None:
    """`revision` and `down_revision` of one revision file; None if it is not one."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError):
        return None
    values: dict[str, object] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in {"revision", "down_revision"}:
            values[target.id] = _literal(value)
    revision, down = values.get("revision"), values.get("down_revision")
    if not isinstance(revision, str):
        return None
    if down is None:
        downs: tuple[str, ...] = ()
    elif isinstance(down, str):
        downs = (down,)
    elif isinstance(down, (tuple, list)) and all(isinstance(d, str) for d in down):
        downs = tuple(down)
    else:
        return None
    return Revision(path, revision, downs)


def read_history(versions: Path) -> tuple[list[Revision], list[Path]]:
    """The revisions of the directory, and the files (with conflict markers, say) it could not read."""
    revisions, unreadable = [], []
    for path in sorted(versions.glob("*.py")):
        if (found := read_revision(path)) is None:
            unreadable.append(path)
        else:
            revisions.append(found)
    return revisions, unreadable


def duplicates(revisions: list[Revision]) -> dict[str, list[Path]]:
    seen: dict[str, list[Path]] = {}
    for revision in revisions:
        seen.setdefault(revision.revision, []).append(revision.path)
    return {rev: paths for rev, paths in seen.items() if len(paths) > 1}


def heads(revisions: list[Revision]) -> list[str]:
    """Revisions that no other revision revises, in file order."""
    revised = {down for revision in revisions for down in revision.down_revisions}
    return [r.revision for r in revisions if r.revision not in revised]


def merge_revision_id(head_ids: list[str]) -> str:
    """Same heads, same id: running the task twice writes the same file once."""
    digest = hashlib.sha256(",".join(sorted(head_ids)).encode()).hexdigest()
    return f"merge_{digest[:12]}"


def merge_revision_text(revision: str, head_ids: list[str], version: str) -> str:
    """A merge revision as `ruff format` and `mypy --strict` accept it."""
    downs = ", ".join(f'"{head}"' for head in sorted(head_ids))
    return f'''"""Join the revisions of template {version} with the project's own.

Written by the template's update task (hooks/post_update.py) because `copier update` left
several heads: {", ".join(sorted(head_ids))}. It changes nothing in the database; it only
makes `alembic upgrade head` run them all. Commit it with the update.

Revision ID: {revision}
Revises: {", ".join(sorted(head_ids))}
Create Date: {datetime.now(UTC).date().isoformat()}
"""

from collections.abc import Sequence

revision: str = "{revision}"
down_revision: str | Sequence[str] | None = ({downs})
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "update"


def join_heads(project: Path, version: str) -> list[str]:
    """Write the merge revision when the history has several heads; lines for the report."""
    versions = project / VERSIONS
    if not versions.is_dir():
        return []
    revisions, unreadable = read_history(versions)
    lines = []
    if unreadable:
        names = ", ".join(p.relative_to(project).as_posix() for p in unreadable)
        lines.append(f"Could not read these revision files (conflict markers?): {names}.")
    if clashes := duplicates(revisions):
        for rev, paths in sorted(clashes.items()):
            names = " and ".join(p.relative_to(project).as_posix() for p in paths)
            lines.append(
                f"Revision id {rev!r} is claimed by {names}: Alembic would run only one of them. "
                "Give yours a new id (its `revision`, the `down_revision` of the revisions after it, "
                "its file name; then `uv run alembic stamp` each database that recorded the old id); "
                "see docs/updating.md of the template, 'Revision ids'."
            )
        lines.append("No merge revision written while revision ids clash.")
        return lines
    found = heads(revisions)
    if len(found) <= 1 or unreadable:
        if len(found) > 1:
            lines.append(f"Several heads ({', '.join(found)}): fix the files, then `alembic merge heads`.")
        return lines
    revision = merge_revision_id(found)
    path = versions / f"{revision}_join_template_{slug(version)}.py"
    if not path.exists():
        path.write_text(merge_revision_text(revision, found, version), encoding="utf-8")
    lines.append(
        f"Alembic had {len(found)} heads ({', '.join(found)}): wrote {path.relative_to(project).as_posix()}, "
        "a merge revision that joins them (no schema change). Review it and commit it with the update."
    )
    return lines


# --------------------------------------------------------------------------- the report


def git(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=project, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )


def changed_files(project: Path) -> list[str]:
    """Files the update changed or added (as git sees them), relative to the project."""
    result = git(project, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    if result.returncode != 0:
        return [
            p.relative_to(project).as_posix()
            for p in project.rglob("*")
            if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(project).parts)
        ]
    names, entries = [], iter(result.stdout.split("\0"))
    for entry in entries:
        if not entry:
            continue
        status, name = entry[:2], entry[3:]
        if "R" in status or "C" in status:
            next(entries, None)  # the old name of a rename
        if "D" not in status:
            names.append(name)
    return names


def conflicted(project: Path, names: list[str]) -> list[str]:
    """The files among `names` that hold a conflict-marker line of each kind."""
    hits = []
    for name in names:
        path = project / name
        if not path.is_file():
            continue
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (UnicodeDecodeError, OSError):
            continue
        if any(line.startswith(MARKER_START) for line in lines) and any(
            line.startswith(MARKER_END) for line in lines
        ):
            hits.append(name)
    return sorted(hits)


def rejects(project: Path) -> list[str]:
    return sorted(
        p.relative_to(project).as_posix()
        for p in project.rglob("*.rej")
        if not SKIPPED_DIRS & set(p.relative_to(project).parts)
    )


def answers_at(text: str) -> dict[str, str]:
    """Top-level `key: value` lines of an answers file (Copier writes one per answer)."""
    found = {}
    for line in text.splitlines():
        if match := re.match(r"^([A-Za-z_][A-Za-z0-9_]*):\s*(.*?)\s*$", line):
            found[match[1]] = match[2].strip("'\"")
    return found


def report(project: Path, answers_file: str) -> str:
    answers_path = project / answers_file
    now = answers_at(answers_path.read_text(encoding="utf-8") if answers_path.is_file() else "")
    before_show = git(project, "show", f"HEAD:{answers_file}")
    before = answers_at(before_show.stdout) if before_show.returncode == 0 else {}
    version = now.get("_commit", "?")

    heads_lines = join_heads(project, version)
    names = changed_files(project)
    marked = conflicted(project, names)
    rejected = rejects(project)
    new_revisions = sorted(n for n in names if n.startswith(f"{VERSIONS.as_posix()}/") and n.endswith(".py"))
    steps = []
    if marked or rejected:
        steps.append(
            "Resolve the conflicts: edit each file listed above to what it should be (the side "
            "between <<<<<<< and ======= is yours, the other the template's), apply or drop each "
            ".rej by hand and delete it, then `git add` the files."
        )
    if "pyproject.toml" in names or not (project / "uv.lock").is_file():
        steps.append("Re-lock the dependencies, pyproject.toml changed: `uv lock && uv sync`.")
    else:
        steps.append("`uv sync` (the lock did not change).")
    if new_revisions:
        listed = ", ".join(new_revisions)
        steps.append(f"Migrate each database: `uv run alembic upgrade head` (new revisions: {listed}).")
    if before.get("soft_delete") == "false" and now.get("soft_delete") == "true":
        steps.append(
            "Soft delete is on. The template's revision covers its own tables; your own models "
            "derived from Entity gained `deleted_at` too, and `uv run alembic check` (database at "
            f"head) lists them. For those, run the one command `{SOFT_DELETE_COMMAND}`, read the "
            "revision it wrote, then `uv run alembic upgrade head` again. To let a deleted row's "
            "unique value be reused, first replace `unique=True` in your model by "
            "`unique_among_live_rows(...)`, as the template's models do."
        )
    steps.append("Check: `uv run alembic check && uv run pytest`, then commit everything.")

    out = [f"Update report (template {version}):"]
    out += [f"  {line}" for line in heads_lines]
    if marked:
        out.append("  Conflict markers in: " + ", ".join(marked))
    if rejected:
        out.append("  Rejected changes (.rej): " + ", ".join(rejected))
    if not (marked or rejected or heads_lines or new_revisions or "pyproject.toml" in names):
        out.append("  No conflicts, no new revisions, no dependency changes: nothing to do.")
        steps = [s for s in steps if s.startswith("Check")]
    elif not (marked or rejected):
        out.append("  No conflicts.")
    out.append("  Next steps:")
    out += [f"    {number}. {step}" for number, step in enumerate(steps, 1)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers-file", default=".copier-answers.yml")
    args = parser.parse_args(argv)
    print("\n" + report(Path.cwd(), args.answers_file) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # noqa: BLE001 - the update is done; never turn it into a failure
        print(f"post_update.py: could not finish the report ({error}); run `git status`.", file=sys.stderr)
        sys.exit(0)
