"""Schemathesis hooks of tests/reliability.py, loaded through SCHEMATHESIS_HOOKS.

`positive_data_acceptance_of_rows` is schemathesis's `positive_data_acceptance` (a request the
schema admits must not be refused), run in its place, with one difference: a 422 whose every
error is `invalid_reference` counts, like a 404, as an answer about the database's rows, not about
the request's form. A body may name a category or tags by id; the schema says what an id looks
like, and cannot say which ids exist, so a generated id names no row and the service says so.
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance


def names_no_row(response: Any) -> bool:
    if response.status_code != 422:
        return False
    try:
        errors = json.loads(response.text)["detail"]
    except (ValueError, KeyError, TypeError):
        return False
    return bool(errors) and all(error.get("type") == "invalid_reference" for error in errors)


@schemathesis.check
def positive_data_acceptance_of_rows(ctx: Any, response: Any, case: Any) -> bool | None:
    if names_no_row(response):
        return None
    return positive_data_acceptance(ctx, response, case)
