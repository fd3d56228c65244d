"""The aiohttp application: routes, Bearer auth, fault injection, the ledger, admin routes.

Each API handler is wrapped once (no middleware), so a request without faults costs an auth
string comparison, a heap peek, the handler, and a ledger increment.

Cutting a connection: ``transport.abort()`` closes the socket at once with nothing written
(with ``SO_LINGER`` 0 first for a TCP reset). The handler then returns a response anyway;
aiohttp fails to write it, sees a ``ConnectionError`` and drops it quietly.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections import Counter
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from ._faults import Faults
from ._handlers import ENDPOINT_HANDLERS, Backend, json_response, raw_json
from ._ledger import DROPPED

__all__ = ["API_PREFIX", "make_app"]

API_PREFIX = "/api/v1"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EndpointHandler = Callable[[Backend, web.Request], Awaitable[web.Response]]

_NO_CREDENTIALS = b'{"detail":"Authentication credentials were not provided."}'
_INVALID_TOKEN = b'{"detail":"Invalid token."}'
_WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="api"'}
_DJANGO_500 = (
    '<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n'
    "</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)


def _unauthorized(header: str | None) -> web.Response:
    scheme = (header or "").split(" ", 1)[0].lower()
    body = _INVALID_TOKEN if scheme == "bearer" else _NO_CREDENTIALS
    return web.Response(
        body=body, status=401, content_type="application/json", headers=_WWW_AUTHENTICATE
    )


def _authorized(backend: Backend, header: str | None) -> bool:
    if header is None:
        return False
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and token.strip() == backend.token


def _server_error(status: int, retry_after: int) -> web.Response:
    if status == 500:
        text = _DJANGO_500
    else:  # what a proxy in front of the API answers
        title = f"{status} {HTTPStatus(status).phrase}"
        text = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
    headers = {"Retry-After": str(retry_after)} if status == 503 else None
    return web.Response(text=text, status=status, content_type="text/html", headers=headers)


def _throttled(retry_after: int) -> web.Response:
    unit = "second" if retry_after == 1 else "seconds"
    return web.Response(
        body=b'{"detail":"Request was throttled. Expected available in %d %b."}'
        % (retry_after, unit.encode()),
        status=429,
        content_type="application/json",
        headers={"Retry-After": str(retry_after)},
    )


def cut_connection(request: web.Request, style: str) -> None:
    """Close the client's connection now, unanswered: FIN for ``close``, RST for ``reset``."""
    transport = request.transport
    if transport is None:  # already gone
        return
    if style == "reset":
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _faulty(
    backend: Backend, endpoint: str, handler: EndpointHandler, request: web.Request, faults: Faults
) -> web.Response:
    injector, ledger = backend.injector, backend.ledger
    retry_after = injector.rate_limited(faults, backend.token)
    if retry_after is not None:
        ledger.faults["rate_limit"] += 1
        ledger.record(endpoint, 429)
        return _throttled(retry_after)
    delay = injector.latency(faults)
    if delay > 0:
        ledger.faults["latency"] += 1
        await asyncio.sleep(delay)
    roll = injector.roll(faults)
    if roll == "drop_before":
        ledger.faults["drop_before"] += 1
        ledger.record(endpoint, DROPPED)
        cut_connection(request, faults.drop_style)
        return web.Response(status=204)  # never sent: the connection is gone
    if roll == "error":
        status = injector.error_status(faults)
        ledger.faults[f"error_{status}"] += 1
        ledger.record(endpoint, status)
        return _server_error(status, faults.retry_after)
    if roll == "throttle":
        ledger.faults["throttle"] += 1
        ledger.record(endpoint, 429)
        return _throttled(faults.retry_after)
    backend.store.tick()
    response = await handler(backend, request)
    if roll == "drop_after":
        ledger.faults["drop_after"] += 1
        ledger.record(endpoint, DROPPED)
        cut_connection(request, faults.drop_style)
        return response  # aiohttp fails to write it and drops it
    ledger.record(endpoint, response.status)
    return response


def _api(backend: Backend, endpoint: str, handler: EndpointHandler) -> Handler:
    expected = f"Bearer {backend.token}"
    store, ledger, injector = backend.store, backend.ledger, backend.injector

    async def wrapped(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization")
        if header != expected and not _authorized(backend, header):
            ledger.record(endpoint, 401)
            return _unauthorized(header)
        faults = injector.for_endpoint(endpoint)
        if faults is not None:
            return await _faulty(backend, endpoint, handler, request, faults)
        store.tick()
        response = await handler(backend, request)
        ledger.record(endpoint, response.status)
        return response

    return wrapped


def _method_not_allowed(allowed: list[str]) -> Handler:
    allow = ", ".join(allowed)

    async def handler(request: web.Request) -> web.Response:
        response = json_response(405, {"detail": f'Method "{request.method}" not allowed.'})
        response.headers["Allow"] = allow
        return response

    return handler


async def _not_found(request: web.Request) -> web.Response:
    return raw_json(404, b'{"detail":"Not found."}')


def _admin(backend: Backend, action: Callable[[web.Request], Awaitable[web.Response]]) -> Handler:
    async def wrapped(request: web.Request) -> web.Response:
        header = request.headers.get("Authorization")
        if not _authorized(backend, header):
            return _unauthorized(header)
        return await action(request)

    return wrapped


def _admin_routes(backend: Backend) -> list[web.RouteDef]:
    async def ledger(request: web.Request) -> web.Response:
        return json_response(200, backend.ledger.to_dict(times="times" in request.query))

    async def reset_ledger(request: web.Request) -> web.Response:
        backend.ledger.reset()
        return web.Response(status=204)

    async def get_faults(request: web.Request) -> web.Response:
        return json_response(200, backend.injector.faults.to_dict())

    async def set_faults(request: web.Request) -> web.Response:
        try:
            backend.injector.faults = Faults.from_dict(await request.json())
        except (TypeError, ValueError, AttributeError) as exc:
            return json_response(400, {"detail": str(exc)})
        return json_response(200, backend.injector.faults.to_dict())

    async def state(request: web.Request) -> web.Response:
        backend.store.tick()
        by_status = Counter(record.status for record in backend.store)
        return json_response(
            200,
            {
                "servers": len(backend.store),
                "by_status": dict(sorted(by_status.items())),
                "balance": backend.balance,
                "page_size": backend.page_size,
            },
        )

    return [
        web.get("/_sim/ledger", _admin(backend, ledger), allow_head=False),
        web.post("/_sim/reset-ledger", _admin(backend, reset_ledger)),
        web.get("/_sim/faults", _admin(backend, get_faults), allow_head=False),
        web.post("/_sim/faults", _admin(backend, set_faults)),
        web.get("/_sim/state", _admin(backend, state), allow_head=False),
    ]


def make_app(backend: Backend) -> web.Application:
    """Build the application serving ``backend``: the nine endpoints and the admin routes."""
    app = web.Application()
    by_path: dict[str, list[tuple[str, Handler]]] = {}
    for endpoint, (method, path, logic) in ENDPOINT_HANDLERS.items():
        by_path.setdefault(path, []).append((method, _api(backend, endpoint, logic)))
    for path, routes in by_path.items():
        resource = app.router.add_resource(API_PREFIX + path)
        for method, handler in routes:
            resource.add_route(method, handler)
        resource.add_route("*", _method_not_allowed([method for method, _ in routes]))
    app.router.add_routes(_admin_routes(backend))
    app.router.add_route("*", "/{tail:.*}", _not_found)
    return app
