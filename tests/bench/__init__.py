"""`nox -s bench`: the generated services measured against raw-driver baselines.

The modules run in two places, so they import each other by plain module name (this directory
is on `sys.path` of whatever runs them):

- in the bench session's own environment (copier, psycopg, matplotlib): `run.py` (the
  orchestration), `plan.py` (what is measured), `seed.py`, `loadgen.py` (wrk), `report.py`;
- in each generated project's `.venv`: the baselines (`baseline_*.py`, served by the same
  uvicorn), `query_count.py` and `profile_get.py` (in-process, through `asgi.py`).

No file here is named `test_*`: the template's pytest run does not collect them.
"""
