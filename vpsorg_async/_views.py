"""``Client.with_options``: a light view of a client with its own call defaults.

A view is a ``Client`` (so every method, waiter and fleet takes it) whose session layer is a
:class:`SessionView`: it keeps its own ``timeout`` and ``max_retries`` and reads everything else
from the client's session at the moment it is needed, so the two share the aiohttp session (opened
once, by whichever calls first), the pacer, the connection slots, the retry log and the headers.
The client's create lock, clock and sleep are shared the same way (the view is a shallow copy).

Closing follows openai-python's rule that the client owns the connection pool: ``aclose`` on a
view (or leaving ``async with`` on it) ends the view only; the client and its other views keep
working, and closing the client ends every view made from it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp

from ._errors import ConfigurationError, ValidationError
from ._session import Session
from ._validate import check_timeout

if TYPE_CHECKING:
    from ._client import Client

__all__ = ["SessionView", "check_max_retries", "view_of"]

C = TypeVar("C", bound="Client")


def check_max_retries(value: object) -> int:
    """An integer >= 0 (``bool`` refused); returns it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError("max_retries", f"must be an integer >= 0, got {value!r}")
    return value


class SessionView(Session):
    """A session layer that sends through another one's HTTP session, with its own defaults.

    It never runs ``Session.__init__``: any attribute it does not set itself is read from the
    session it views, live (``__getattr__``), so an aiohttp session opened later, or a setting
    added to ``Session`` one day, is shared without a copy going stale.
    """

    def __init__(
        self, viewed: Session, *, timeout: float | None = None, max_retries: int | None = None
    ) -> None:
        self._viewed = viewed
        self._view_closed = False
        if timeout is not None:
            self._timeout = timeout
        if max_retries is not None:
            self._max_retries = max_retries

    def __getattr__(self, name: str) -> Any:
        if name == "_viewed":  # not set yet (a copy under construction): no endless lookup
            raise AttributeError(name)
        return getattr(self._viewed, name)

    @property
    def closed(self) -> bool:
        """True once this view or the session it views is closed."""
        return self._view_closed or self._viewed.closed

    def _http(self) -> aiohttp.ClientSession:
        if self._view_closed:
            raise ConfigurationError("this Client is closed")
        return self._viewed._http()  # opened (once) by the client's own session layer

    async def aclose(self) -> None:
        """End this view only: the HTTP session belongs to the client it was made from."""
        self._view_closed = True


def view_of(
    client: C, *, timeout: object = None, max_retries: object = None, session: type[SessionView]
) -> C:
    """A shallow copy of ``client`` whose session layer is a ``session`` view of the client's.

    ``timeout`` and ``max_retries`` are checked here (None keeps the client's); nothing is sent.
    """
    seconds = check_timeout("timeout", timeout)
    retries = None if max_retries is None else check_max_retries(max_retries)
    view = copy.copy(client)
    view._session = session(client._session, timeout=seconds, max_retries=retries)
    return view
