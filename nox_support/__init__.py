"""This repository's own test tooling (not part of the template): what noxfile.py's sessions do.

- `combinations`: the 16 combinations and their one name (also used by tests/ and tests/bench/);
- `projects`: render a combination, install it, run its checks;
- `postgres`: a PostgreSQL server and fresh databases for the sessions;
- `records`: timings and reliability figures, the report tables, publishing them to docs/reports/;
- `pythons`: the newest interpreter on the machine;
- `postgres_server`, `bench_plan`: tests/postgres_server.py and tests/bench/plan.py, shipped in
  this package by pyproject.toml so that the noxfile can import them.

Installed, not put on `sys.path`: noxfile.py names this repository (`file:.`) in its inline
script metadata, so `uvx nox` runs in an environment of its own that has this package, and the
sessions that need it (template_tests, reliability, bench) install it too. The two shipped
modules exist only in the installed package: a Python started in the repository's root with
its directory on sys.path (`python -c`, `python -m ...`) sees this source directory instead.
"""
