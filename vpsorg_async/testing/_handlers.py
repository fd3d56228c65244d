"""The nine endpoints' logic, behind auth and faults (see ``_app.py`` for those).

Every handler takes the :class:`Backend` and the request and returns a finished response;
state has already been advanced to "now" by the caller.
"""

from __future__ import annotations

import json
import math
from typing import Any

import attrs
from aiohttp import web

from ._catalogue import PLANS
from ._faults import FaultInjector
from ._ledger import Ledger
from ._state import TRANSITIONS, ServerRecord, ServerStore
from ._validation import BodyError, parse_body, validate_create, validate_update

__all__ = ["ENDPOINT_HANDLERS", "Backend", "json_response", "raw_json"]

JSON = "application/json"
MAX_PAGE_SIZE = 1000  # cap for ?page_size=, unless the configured page size is larger
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_NOT_FOUND = b'{"detail":"Not found."}'
_INVALID_PAGE = b'{"detail":"Invalid page."}'
_BUSY = {transitional for transitional, _ in TRANSITIONS.values()}
# action -> (status it may start from, success message)
_ACTIONS = {
    "start": ("stopped", "Server is starting"),
    "stop": ("active", "Server is stopping"),
    "reboot": ("active", "Server is rebooting"),
}


@attrs.define(eq=False)
class Backend:
    """Everything the handlers share: token, servers, ledger, faults and account settings."""

    token: str
    store: ServerStore
    ledger: Ledger
    injector: FaultInjector
    balance: float | None = None
    page_size: int | None = None


def raw_json(status: int, body: bytes) -> web.Response:
    """Answer ``status`` with an already-encoded JSON body."""
    return web.Response(body=body, status=status, content_type=JSON)


def json_response(status: int, payload: Any) -> web.Response:
    """Answer ``status`` with ``payload`` encoded as compact JSON, like DRF."""
    return web.Response(body=_DUMPS(payload).encode(), status=status, content_type=JSON)


def _server_or_404(backend: Backend, request: web.Request) -> ServerRecord | web.Response:
    record = backend.store.get(int(request.match_info["server_id"]))
    return raw_json(404, _NOT_FOUND) if record is None else record


async def _body(request: web.Request) -> object:
    return parse_body(await request.read())


async def list_servers(backend: Backend, request: web.Request) -> web.Response:
    """GET /servers/: exact-match ``status``/``location`` filters, optional pagination."""
    query = request.query
    items = backend.store.summaries(query.get("status"), query.get("location"))
    if backend.page_size is None:
        # b"".join, not bytes %-formatting, which is ten times slower on large bodies
        body = b"".join(
            (b'{"count":', b"%d" % len(items), b',"results":[', b",".join(items), b"]}")
        )
        return raw_json(200, body)
    return _paginate(request, items, backend.page_size)


def _paginate(request: web.Request, items: list[bytes], default_size: int) -> web.Response:
    query = request.query
    size = default_size
    try:
        asked = int(query.get("page_size", ""))
    except ValueError:
        pass  # DRF ignores an unusable page_size and uses the default
    else:
        if asked > 0:
            size = min(asked, max(MAX_PAGE_SIZE, default_size))
    pages = max(1, math.ceil(len(items) / size))
    raw_page = query.get("page", "1")
    try:
        page = pages if raw_page == "last" else int(raw_page)
    except ValueError:
        return raw_json(404, _INVALID_PAGE)
    if not 1 <= page <= pages:
        return raw_json(404, _INVALID_PAGE)
    url = request.url
    following = _DUMPS(str(url.update_query(page=page + 1))) if page < pages else "null"
    if page == 1:
        previous = "null"
    elif page == 2:
        previous = _DUMPS(str(url.without_query_params("page")))
    else:
        previous = _DUMPS(str(url.update_query(page=page - 1)))
    chunk = items[(page - 1) * size : page * size]
    head = f'{{"count":{len(items)},"next":{following},"previous":{previous},"results":['
    return raw_json(200, b"".join((head.encode(), b",".join(chunk), b"]}")))


async def create_server(backend: Backend, request: web.Request) -> web.Response:
    """POST /servers/: validate, charge the plan's price, start provisioning."""
    try:
        body = await _body(request)
    except BodyError as exc:
        return json_response(400, {"detail": exc.detail})
    clean, errors = validate_create(body)
    if errors:
        return json_response(400, errors)
    price = PLANS[clean["plan_id"]].price
    if backend.balance is not None:
        if backend.balance < price:
            return json_response(402, {"detail": "Insufficient balance"})
        backend.balance = round(backend.balance - price, 2)
    record = backend.store.create(**clean)
    backend.ledger.creates.append((record.id, record.name))
    backend.ledger.applied["create_server"] += 1
    return json_response(201, backend.store.created(record))


async def get_server(backend: Backend, request: web.Request) -> web.Response:
    """GET /servers/{id}/: the ServerDetail shape."""
    record = _server_or_404(backend, request)
    if isinstance(record, web.Response):
        return record
    return raw_json(200, backend.store.detail_json(record))


async def _update(
    backend: Backend, request: web.Request, *, partial: bool, endpoint: str
) -> web.Response:
    record = _server_or_404(backend, request)
    if isinstance(record, web.Response):
        return record
    try:
        body = await _body(request)
    except BodyError as exc:
        return json_response(400, {"detail": exc.detail})
    changes, errors = validate_update(body, partial=partial)
    if errors:
        return json_response(400, errors)
    backend.store.update(record, changes)
    backend.ledger.applied[endpoint] += 1
    return raw_json(200, backend.store.detail_json(record))


async def update_server(backend: Backend, request: web.Request) -> web.Response:
    """PUT /servers/{id}/: name, hostname and backups_enabled, all required."""
    return await _update(backend, request, partial=False, endpoint="update_server")


async def patch_server(backend: Backend, request: web.Request) -> web.Response:
    """PATCH /servers/{id}/: any subset of name, hostname and backups_enabled."""
    return await _update(backend, request, partial=True, endpoint="patch_server")


async def delete_server(backend: Backend, request: web.Request) -> web.Response:
    """DELETE /servers/{id}/: 204 with no body, then the server is gone."""
    if not backend.store.delete(int(request.match_info["server_id"])):
        return raw_json(404, _NOT_FOUND)
    backend.ledger.applied["delete_server"] += 1
    return web.Response(status=204)


def action_refusal(action: str, status: str) -> str | None:
    """Why ``action`` may not run on a server in ``status``, or ``None`` if it may."""
    allowed_from, _ = _ACTIONS[action]
    if status == allowed_from:
        return None
    if status == "suspended":
        return "Server is suspended"
    if status in _BUSY:
        return f"Server is busy ({status})"
    if action != "start":
        return "Server is not running"
    if status == "active":
        return "Server is already running"
    return f"Server cannot be started while {status}"


async def _action(backend: Backend, request: web.Request, action: str) -> web.Response:
    record = _server_or_404(backend, request)
    if isinstance(record, web.Response):
        return record
    refusal = action_refusal(action, record.status)
    if refusal is not None:
        return json_response(400, {"detail": refusal})
    backend.store.begin(record, action)
    backend.ledger.applied[f"{action}_server"] += 1
    server = {"id": record.id, "name": record.name, "status": record.status}
    return json_response(
        200, {"status": "success", "message": _ACTIONS[action][1], "server": server}
    )


async def start_server(backend: Backend, request: web.Request) -> web.Response:
    """POST /servers/{id}/start/: stopped -> starting -> active."""
    return await _action(backend, request, "start")


async def stop_server(backend: Backend, request: web.Request) -> web.Response:
    """POST /servers/{id}/stop/: active -> stopping -> stopped."""
    return await _action(backend, request, "stop")


async def reboot_server(backend: Backend, request: web.Request) -> web.Response:
    """POST /servers/{id}/reboot/: active -> rebooting -> active."""
    return await _action(backend, request, "reboot")


# endpoint name -> (method, path under /api/v1, handler)
ENDPOINT_HANDLERS = {
    "list_servers": ("GET", "/servers/", list_servers),
    "create_server": ("POST", "/servers/", create_server),
    "get_server": ("GET", "/servers/{server_id:\\d+}/", get_server),
    "update_server": ("PUT", "/servers/{server_id:\\d+}/", update_server),
    "patch_server": ("PATCH", "/servers/{server_id:\\d+}/", patch_server),
    "delete_server": ("DELETE", "/servers/{server_id:\\d+}/", delete_server),
    "start_server": ("POST", "/servers/{server_id:\\d+}/start/", start_server),
    "stop_server": ("POST", "/servers/{server_id:\\d+}/stop/", stop_server),
    "reboot_server": ("POST", "/servers/{server_id:\\d+}/reboot/", reboot_server),
}
