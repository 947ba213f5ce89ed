"""Update-time migration: rename a question in a project's answers file.

When a template version renames a question, projects generated before it record the answer under
the old name; without a migration `copier update` would drop that answer and fall back to the new
question's default. Wire this script in copier.yml's `_migrations`, for the version that renames:

    _migrations:
      - version: v2.0.0                   # the first template version with the new name
        when: "{{ _stage == 'before' }}"  # before Copier reads the answers for the new version
        command:
          - "{{ _copier_python }}"
          - "{{ _copier_conf.src_path }}/hooks/migrate_answers.py"
          - "{{ _copier_conf.answers_file }}"
          - rename-question
          - old_name
          - new_name

Copier runs it in the project's directory, only for updates that cross that version, before it
regenerates the project. The answers file is Copier's own output (`to_nice_yaml`: one top-level
`key: value` per question, continuation lines indented), so renaming a key is a one-line edit;
the value, the comments and the order are kept. Standard library only.

Exit status: 0 when the file holds the new name afterwards (or holds neither name), 1 when it
cannot be migrated (both names present, file missing): Copier then stops before any change.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


class MigrationError(Exception):
    """The answers file cannot be migrated as asked."""


KEY = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?=\s|$)")


def top_level_keys(lines: list[str]) -> dict[str, int]:
    """Top-level keys of the answers file and their line numbers (0-based)."""
    keys: dict[str, int] = {}
    for number, line in enumerate(lines):
        if match := KEY.match(line):
            keys[match["key"]] = number
    return keys


def rename_question(path: Path, old: str, new: str) -> str:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    keys = top_level_keys(lines)
    if old not in keys:
        return f"{path}: no answer named {old!r}; nothing to rename"
    if new in keys:
        raise MigrationError(
            f"{path}: both {old!r} and {new!r} are recorded; keep the right one, delete the other, "
            "commit, and run the update again"
        )
    number = keys[old]
    lines[number] = new + lines[number][len(old) :]
    path.write_text("".join(lines), encoding="utf-8")
    return f"{path}: answer {old!r} renamed to {new!r}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("answers_file", type=Path, help="the project's answers file")
    commands = parser.add_subparsers(dest="command", required=True)
    rename = commands.add_parser("rename-question", help="record the answer of OLD under NEW")
    rename.add_argument("old")
    rename.add_argument("new")
    args = parser.parse_args(argv)

    if not args.answers_file.is_file():
        print(f"migrate_answers.py: {args.answers_file} not found", file=sys.stderr)
        return 1
    for name in (args.old, args.new):
        if not KEY.match(f"{name}:"):
            parser.error(f"not a question name: {name!r}")
    try:
        message = rename_question(args.answers_file, args.old, args.new)
    except MigrationError as error:
        print(f"migrate_answers.py: {error}", file=sys.stderr)
        return 1
    print(f"migrate_answers.py: {message}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
