"""The resources' routers: a request skips the routers of the other resources.

FastAPI (0.137 and later) keeps each router the app includes as one node, and tries a request
on every route of each in turn, without looking at the router's prefix first: a request for
the last resource is tried on all the routes of the resources before it, so each resource a
project adds makes the requests of those after it dearer. fastapi/fastapi#16159 would skip a
router whose prefix cannot match; until it is released, `ResourceRouter` does that itself.
"""

from fastapi import APIRouter
from starlette.routing import Match
from starlette.types import Scope


class ResourceRouter(APIRouter):
    """An `APIRouter` that a request whose path does not hold its prefix passes by."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        # Every route of the router lies under its prefix, whatever the app includes it under:
        # a path without the prefix in it can match none of them.
        if self.prefix not in scope["path"]:
            return Match.NONE, {}
        return super().matches(scope)
