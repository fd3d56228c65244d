"""The endpoint table: the nine Servers API endpoints as data. No I/O.

Each row is the single source of truth for one endpoint: HTTP method, path template, path and query
parameters, request body model, response model, success status, and whether a retry is safe once the
request may have reached the server. ``Client``'s nine coroutine methods are generated from these
rows by ``_client.endpoint`` and a test holds the two together.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import attrs

from . import _policy as policy
from ._models import (
    ActionResult,
    CreatedServer,
    CreateServer,
    PatchServer,
    ServerDetail,
    ServerList,
    UpdateServer,
)

__all__ = ["ENDPOINTS", "Endpoint"]


@attrs.frozen
class Endpoint:
    """One row of the table.

    Attributes:
        name: the Client method's name, e.g. ``"get_server"``.
        method: the HTTP method.
        path: the path template below the base URL, with its trailing slash.
        path_params: names formatted into ``path``.
        query_params: names sent as query parameters when not None.
        body: the request body model, or None.
        response: the response model, or None for an empty (204) answer.
        success: the status the API answers on success.
        idempotent: True when repeating the request cannot do harm, so it may be retried even after
            it may have reached the server. False (create) is retried only where the server
            provably did not act on it: a 429, or a connection that never opened.
        echo_id: where the answer repeats the requested server's id (a dotted attribute path
            of the response model, e.g. ``"server.id"``), or None. An answer whose id differs
            belongs to another request: a stray answer was waiting on a kept-alive connection.
        max_body: the largest success body read, in bytes: ``ANSWER_BYTES`` for one server's
            answer, ``MAX_RESPONSE_BYTES`` for a list page. Error bodies have their own cap
            (``ERROR_BODY_BYTES``), and the client's ``max_response_bytes`` caps both.
    """

    name: str
    method: str
    path: str
    path_params: tuple[str, ...]
    query_params: tuple[str, ...]
    body: type[Any] | None
    response: type[Any] | None
    success: int
    idempotent: bool
    echo_id: str | None = None
    max_body: int = policy.ANSWER_BYTES
    #: Reads ``echo_id`` from a decoded answer (None where it is None): made once per row, as
    #: it is read on every answer.
    echo: Callable[[Any], Any] | None = attrs.field(init=False, eq=False, repr=False)

    @echo.default
    def _echo_reader(self) -> Callable[[Any], Any] | None:
        return None if self.echo_id is None else operator.attrgetter(self.echo_id)

    @property
    def body_fields(self) -> tuple[str, ...]:
        """The body model's field names, in order (empty without a body)."""
        return tuple(a.name for a in attrs.fields(self.body)) if self.body is not None else ()


_ITEM = "/servers/{server_id}/"


def _action(verb: str) -> Endpoint:
    return Endpoint(
        name=f"{verb}_server",
        method="POST",
        path=f"/servers/{{server_id}}/{verb}/",
        path_params=("server_id",),
        query_params=(),
        body=None,
        response=ActionResult,
        success=200,
        # Repeating start/stop/reboot converges: the API answers 400 for a server already in (or
        # on its way to) the asked state, and callers such as the fleet treat that as done.
        idempotent=True,
        echo_id="server.id",
    )


ENDPOINTS: MappingProxyType[str, Endpoint] = MappingProxyType(
    {
        row.name: row
        for row in (
            Endpoint(
                "list_servers",
                "GET",
                "/servers/",
                (),
                ("status", "location", "page", "page_size"),
                None,
                ServerList,
                200,
                True,
                max_body=policy.MAX_RESPONSE_BYTES,
            ),
            Endpoint(
                "create_server",
                "POST",
                "/servers/",
                (),
                (),
                CreateServer,
                CreatedServer,
                201,
                False,
            ),
            Endpoint(
                "get_server",
                "GET",
                _ITEM,
                ("server_id",),
                (),
                None,
                ServerDetail,
                200,
                True,
                echo_id="id",
            ),
            Endpoint(
                "update_server",
                "PUT",
                _ITEM,
                ("server_id",),
                (),
                UpdateServer,
                ServerDetail,
                200,
                True,
                echo_id="id",
            ),
            Endpoint(
                "patch_server",
                "PATCH",
                _ITEM,
                ("server_id",),
                (),
                PatchServer,
                ServerDetail,
                200,
                True,
                echo_id="id",
            ),
            Endpoint("delete_server", "DELETE", _ITEM, ("server_id",), (), None, None, 204, True),
            _action("start"),
            _action("stop"),
            _action("reboot"),
        )
    }
)
