"""A generated project's migrations both ways, in one Python process of the project's own.

    uv run python PATH/TO/alembic_round_trip.py      # in the project, DATABASE_URL set

Up to head; no difference between the models and the migrated schema (`alembic check`); one
step back (the grown resource's revision) and up again; all the way down and up again. The
same Alembic commands as the `alembic` command line, without starting Python six times; the
command line itself is tested by the project's tests/test_alembic_command.py.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config


def main() -> None:
    config = Config("alembic.ini")
    command.upgrade(config, "head")
    command.check(config)
    command.downgrade(config, "-1")
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")


if __name__ == "__main__":
    main()
