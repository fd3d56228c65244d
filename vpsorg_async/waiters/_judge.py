"""The one judge of a wait: what a sighting of a server means, and when its time is up.

A single waiter and the shared :class:`~vpsorg_async.waiters.StatusWatcher` poll differently
(one GET per pause; one sweep or a pool of GETs per tick), but both hand every sighting of a
server to its :class:`Watch`, which answers with the wait's :class:`WaitResult` once the wait
is over: reached, failed, gone, refused by the API, or past its deadline. A single waiter raises
the result's error (:meth:`WaitResult.unwrap`); the watcher hands the result to a callback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from .._errors import (
    NotFoundError,
    RateLimitError,
    ResponseDecodeError,
    ServerError,
    TLSCertificateError,
    TransportError,
    VPSOrgError,
    WaiterFailedError,
    WaiterTimeoutError,
)
from .._seams import Sighting, Unseen
from ._rules import Verdict, WaitRule

if TYPE_CHECKING:
    from .._client import Client
    from .._models import Server


__all__ = ["TRANSIENT_ERRORS", "WaitResult", "Watch", "is_transient", "look"]

#: Errors that do not end a wait or a fleet: throttling, 5xx, connections cut or timed out (a
#: single request's timeout included), and garbled answers (a proxy's HTML page with a 200 is
#: a hiccup, not a verdict about the server). They are retried until the deadline, and the last
#: one becomes the ``__cause__`` of the ``WaiterTimeoutError``. One ``TransportError`` is the
#: exception: a ``TLSCertificateError`` ends the wait (see :func:`is_transient`).
TRANSIENT_ERRORS: tuple[type[VPSOrgError], ...] = (
    RateLimitError,
    ServerError,
    TransportError,
    ResponseDecodeError,
)


def is_transient(exc: BaseException) -> bool:
    """True for an error worth polling (or acting) again after a pause.

    A :class:`TLSCertificateError` is a ``TransportError`` but not transient: a certificate
    that failed verification does not fix itself by waiting.
    """
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(exc, TLSCertificateError)


@attrs.frozen
class WaitResult:
    """How the wait for one server ended.

    Attributes:
        server_id: the server.
        server: the server as last seen; None when it was deleted (or never seen).
        error: None on success, else ``WaiterTimeoutError``, ``WaiterFailedError`` or the API's
            error (e.g. ``NotFoundError``, ``AuthenticationError``).
    """

    server_id: int
    server: Server | None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the server reached the target."""
        return self.error is None

    def unwrap(self) -> Server | None:
        """The server as last seen (None once deleted); raise the error if the wait failed."""
        if self.error is not None:
            raise self.error
        return self.server


@attrs.define(eq=False)
class Watch:
    """One server's wait: its rule and deadline, and what was seen of it so far.

    Attributes:
        polls: how many times the server was looked for (the caller counts them).
        location: the server's datacenter, once known (a sweep may filter the list by it).
    """

    server_id: int
    rule: WaitRule
    started: float
    deadline: float
    location: str | None = None
    last: Server | None = None
    last_error: Exception | None = None
    polls: int = 0

    def see(self, sighting: Sighting) -> WaitResult | None:
        """Judge one sighting; the result when it ends the wait, None while it goes on."""
        if isinstance(sighting, Unseen):
            self.last_error = sighting.cause
            return None
        if sighting is None or isinstance(sighting, NotFoundError):
            if self.rule.gone is Verdict.SUCCESS:
                return WaitResult(self.server_id, None)
            return WaitResult(self.server_id, self.last, sighting or self._not_found())
        if isinstance(sighting, Exception):
            return WaitResult(self.server_id, self.last, sighting)
        self.last, self.last_error, self.location = sighting, None, sighting.location
        verdict = self.rule.judge(sighting)
        if verdict is Verdict.SUCCESS:
            return WaitResult(self.server_id, sighting)
        if verdict is Verdict.FAILURE:
            error = WaiterFailedError(server=sighting, target=self.rule.target)
            return WaitResult(self.server_id, sighting, error)
        return None

    def expire(self, now: float) -> WaitResult | None:
        """The timeout result once ``now`` has reached the deadline, else None."""
        if now < self.deadline:
            return None
        error = WaiterTimeoutError(
            server_id=self.server_id,
            target=self.rule.target,
            last_server=self.last,
            elapsed=now - self.started,
            polls=self.polls,
        )
        error.__cause__ = self.last_error
        return WaitResult(self.server_id, self.last, error)

    def _not_found(self) -> NotFoundError:
        # Only a source that cannot ask the API itself reports a server that must exist as
        # absent (the in-process source confirms with a GET and passes on the API's own 404).
        return NotFoundError(
            status=404,
            method="GET",
            path=f"/servers/{self.server_id}/",
            detail="the status source reports no such server",
        )


async def look(client: Client, server_id: int, *, timeout: float) -> Sighting:
    """GET one server: the server, or what asking for it ended with (never raises an API error).

    A transient error (:func:`is_transient`) comes back as :class:`Unseen`; any other error of
    the library, a 404 included, as itself, for the server's :class:`Watch` to judge.
    """
    try:
        return await client.get_server(server_id, timeout=timeout)
    except VPSOrgError as exc:
        return Unseen(exc) if is_transient(exc) else exc
