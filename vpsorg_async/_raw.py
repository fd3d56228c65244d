"""``client.with_raw_response``: every endpoint once more, answering the HTTP response itself.

``await client.with_raw_response.get_server(1)`` sends what ``client.get_server(1)`` sends, with
the same checks, retries, deadline and errors (an error status still raises the usual error),
and returns a frozen :class:`RawResponse` of the final attempt: status, headers, request id, the
attempt's time, the body's bytes, and ``parse()`` for the typed model, decoded from the bytes on
first use. A body the model cannot hold is thus still returned; ``parse()`` raises
``ResponseDecodeError`` for it.

One guard runs before the answer is returned: an answer about another server than the one asked
for (a stray answer on a kept-alive connection) is still refused and retried, as for the typed
methods; only the id is read for that, not the model.

The nine methods are generated from the endpoint table at import; the class body declares them
for type checkers only, each from the ``Client`` method it mirrors (same parameters; the answer
``RawResponse[...]`` of that method's return type).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar

import attrs
import msgspec
from multidict import CIMultiDict, CIMultiDictProxy

from ._answers import REQUEST_ID_HEADERS
from ._endpoints import ENDPOINTS, Endpoint
from ._errors import ValidationError
from ._views import SessionView
from ._wire import check_echo

if TYPE_CHECKING:
    from ._client import Client

__all__ = ["RawClient", "RawResponse", "RawSessionView"]

T = TypeVar("T")
P = ParamSpec("P")


@attrs.frozen(eq=False)
class RawResponse(Generic[T]):
    """The HTTP answer of a call's final attempt, with ``parse()`` for its model.

    Attributes:
        status: the HTTP status (the row's success status; a 404 for a ``delete_server`` whose
            earlier attempt deleted the server but lost its answer).
        headers: the answer's headers (case-insensitive), with the API token blanked wherever
            one echoed it, as in error messages.
        request_id: the first request id header the answer carried, or None.
        elapsed: seconds the final attempt took, from taking its turn to reading the body.
        attempts: attempts the call made; the earlier ones failed and were retried.
        method, path: the request.
        content: the body as received (its length is capped like any answer's).
    """

    status: int
    headers: CIMultiDictProxy[str] = attrs.field(repr=False)
    request_id: str | None
    elapsed: float
    attempts: int
    method: str
    path: str
    content: bytes = attrs.field(repr=False)
    _decode: Callable[[], T] = attrs.field(repr=False, alias="decode")
    _parsed: list[T] = attrs.field(init=False, factory=list, repr=False)

    def parse(self) -> T:
        """The typed model of the body (None for an empty 204 answer); decoded once, on first use.

        Raises:
            ResponseDecodeError: the body is not what the API documents.
        """
        if not self._parsed:
            self._parsed.append(self._decode())
        return self._parsed[0]


class _Id(msgspec.Struct):
    id: int | None = None


class _Action(msgspec.Struct):
    server: _Id | None = None


_ID_READERS: dict[str, Callable[[bytes], int | None]] = {
    "id": lambda body: msgspec.json.decode(body, type=_Id).id,
    "server.id": lambda body: (msgspec.json.decode(body, type=_Action).server or _Id()).id,
}


def check_raw_echo(row: Endpoint, path: str, body: bytes, expected: int) -> None:
    """``StrayAnswerError`` when the body names another server than ``expected``.

    A body whose id cannot be read is let through: ``parse()`` reports what is wrong with it.
    """
    assert row.echo_id is not None
    try:
        answered = _ID_READERS[row.echo_id](body)
    except (msgspec.DecodeError, RecursionError):  # msgspec.ValidationError is a DecodeError
        return
    if answered is not None:
        check_echo(row, path, expected, answered)


class RawSessionView(SessionView):
    """A session view whose calls answer a :class:`RawResponse` instead of the model."""

    def _outcome(
        self,
        row: Endpoint,
        path: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        attempt: int,
        echo: int | None = None,
        started: float = 0.0,
    ) -> Any:
        if status == row.success:
            self._pacer.on_success()
            if echo is not None and row.echo_id is not None:
                check_raw_echo(row, path, body, echo)
        else:  # raises the error, or returns None: a DELETE an earlier attempt did
            super()._outcome(row, path, status, headers, body, attempt, echo, started)
        shown = CIMultiDictProxy(CIMultiDict((k, self.redact(v)) for k, v in headers.items()))
        return RawResponse(
            status=status,
            headers=shown,
            request_id=next((shown[h] for h in REQUEST_ID_HEADERS if h in shown), None),
            elapsed=time.perf_counter() - started,
            attempts=attempt,
            method=row.method,
            path=path,
            content=body,
            decode=functools.partial(self._decode, row, path, status, body),
        )


if TYPE_CHECKING:

    def _raw(
        method: Callable[P, Coroutine[Any, Any, T]],
    ) -> Callable[P, Coroutine[Any, Any, RawResponse[T]]]:
        """For type checkers: ``method``'s parameters, answering ``RawResponse`` of its answer."""


async def _create(
    method: Callable[..., Coroutine[Any, Any, Any]], *args: Any, **kwargs: Any
) -> Any:
    if kwargs.get("reconcile"):
        raise ValidationError(
            "reconcile",
            "a raw response is the answer to one request, and reconcile may send several and "
            "adopt a server without one: call create_server(reconcile=True) on the client",
        )
    return await method(*args, **kwargs)


class RawClient:
    """The nine endpoints of a client, each answering a :class:`RawResponse` of its model.

    Made by ``client.with_raw_response``; it shares everything with the client (session,
    pacer, slots, timeout and retries) and closes with it.
    """

    def __init__(self, client: Client) -> None:
        self._client = client
        if TYPE_CHECKING:  # the signatures, from the methods they mirror; made below at run time
            self.list_servers = _raw(client.list_servers)
            self.create_server = _raw(client.create_server)
            self.get_server = _raw(client.get_server)
            self.update_server = _raw(client.update_server)
            self.patch_server = _raw(client.patch_server)
            self.delete_server = _raw(client.delete_server)
            self.start_server = _raw(client.start_server)
            self.stop_server = _raw(client.stop_server)
            self.reboot_server = _raw(client.reboot_server)
        for name in ENDPOINTS:
            method = getattr(client, name)
            setattr(
                self,
                name,
                functools.partial(_create, method) if name == "create_server" else method,
            )

    def __repr__(self) -> str:
        return f"<RawClient of {self._client!r}>"
