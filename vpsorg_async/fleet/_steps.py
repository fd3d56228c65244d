"""The contract between the fleet runner and an operation: what each gives the other.

An operation (:class:`Op`) is handed one thing by the runner, a :class:`Request`: "make this
request for my input, through a request slot, retrying transient errors until the fleet's
deadline". It answers each input with a :class:`Step`: done, failed, wait for the goal, or wait
until the server settles and act again. The runner owns the queue, the slots, the shared
watcher and the outcomes; an operation sees none of them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import attrs

from .._errors import VPSOrgError

if TYPE_CHECKING:
    from .._models import Server
    from ..waiters import WaitRule

__all__ = ["Done", "Fail", "Op", "Request", "Settle", "Step", "Wait"]

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class Request(Protocol):
    """Make one request for an input (for ``Op.prepare``: for the whole run).

    ``call`` receives the timeout its request may take (never past the fleet's deadline). The
    runner holds a request slot while it runs and retries transient errors (and those of
    ``also_retry``) until the deadline; the error it finally raises counts every attempt.
    """

    async def __call__(
        self,
        call: Callable[[float], Awaitable[T]],
        *,
        also_retry: tuple[type[VPSOrgError], ...] = (),
    ) -> T: ...


@attrs.frozen
class Done:
    """The input reached its goal with no wait (``wait=False``, or nothing to wait for)."""

    server: Server | None = None
    already: bool = False


@attrs.frozen
class Fail:
    """The input failed for good."""

    error: Exception
    server: Server | None = None


@attrs.frozen
class Wait:
    """Wait for ``server_id`` to reach the operation's target."""

    server_id: int
    already: bool = False
    location: str | None = None


@attrs.frozen
class Settle:
    """Wait until ``server_id`` settles in ``status``, then act on the input again."""

    server_id: int
    status: str


Step = Done | Fail | Wait | Settle


@attrs.frozen
class Op(Generic[K]):
    """One fleet operation: its name, what it waits for, and how it acts on one input.

    Attributes:
        act: the step for one input, making its requests through the given :class:`Request`.
        prepare: entered before the first input is acted on and left when the run ends, with
            a :class:`Request` for the whole run and the fleet's deadline (a time on the client's
            clock); ``create`` takes its names' locks and lists what already exists there.
    """

    name: str
    rule: WaitRule
    act: Callable[[K, Request], Awaitable[Step]]
    prepare: Callable[[Request, float], contextlib.AbstractAsyncContextManager[None]] | None = None
