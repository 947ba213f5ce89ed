"""What the OpenAPI document and the router do not say by themselves: operation ids, and Allow.

An operation's id is its route function's name (`list_products`, `get_product`), which client
generators turn into method names. A 405 names in `Allow` the methods of every route on the
path, as RFC 9110 asks, not only those of the route Starlette tried (see `http_errors`).
"""

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.routing import Match

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def operation_id(route: APIRoute) -> str:
    """The route function's name: unique, as every route has a function of its own."""
    return route.name


def allowed_methods(request: Request) -> list[str]:
    """The methods that some route answers on the request's path."""

    def answered(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes)

    return [method for method in METHODS if answered(method)]
