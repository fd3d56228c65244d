"""The fleet runner: a fixed pool of workers, one shared watcher, an outcome for every input.

``concurrency`` workers pull inputs from a queue and make each input's request (holding one of
``concurrency`` request slots only while a request is in flight). A server that must then be
waited for is handed to the shared :class:`~vpsorg_async.waiters.StatusWatcher` (which polls
through the same slots) and the worker moves on, so waiting never holds a slot and 10,000
servers cost 10,000 small records, not 10,000 tasks. What an input's request is, the operation
(:class:`~._steps.Op`) decides; it gets a :class:`~._steps.Request` and nothing else.

Every request and poll of the run reports to one :class:`~._reach.Reachability`: when the API
has answered nothing but connect failures for ``UNREACHABLE_AFTER`` seconds, the run stops and
every unfinished input fails with ``FleetAbortedError(reason="unreachable")``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

from .. import _policy as policy
from .._errors import AmbiguousCreateError, RateLimitError, VPSOrgError
from .._logonce import LogThrottle, error_kind
from ..waiters import StatusWatcher, WaitResult, WaitRule, rule_for
from ..waiters._judge import is_transient
from ..waiters._schedule import PollSchedule, half_jitter, request_timeout
from ._options import FleetOptions
from ._outcome import AbortReason, FleetAbortedError, FleetEvent, FleetResult, Outcome, Phase
from ._reach import Reachability
from ._steps import Done, Fail, Op, Settle, Step, Wait

if TYPE_CHECKING:
    from .._client import Client

__all__ = ["Run"]

logger = logging.getLogger("vpsorg_async.fleet")

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

_TINY = 1e-9  # a deadline already passed still allows the one last poll


class Run(Generic[K]):
    """One fleet call: the queue, the workers, the watcher, the outcomes."""

    def __init__(
        self,
        client: Client,
        op: Op[K],
        keys: list[K],
        options: FleetOptions,
        on_progress: Callable[[FleetEvent[K]], None] | None,
        result: FleetResult[K] | None,
    ) -> None:
        self.client = client
        self.op = op
        self.keys = keys
        self.options = options
        self.deadline = client.clock() + options.polling.timeout
        self.slots = asyncio.Semaphore(options.concurrency)
        self.result: FleetResult[K] = result if result is not None else FleetResult()
        self.result.operation, self.result.total = op.name, len(keys)
        self._on_progress = on_progress
        self._queue: asyncio.Queue[K] = asyncio.Queue()
        self._stage: dict[K, str] = {}  # inputs started and not finished -> stage
        self._rounds: dict[K, int] = {}
        self._finished = asyncio.Event()
        self._stopped_by: Exception | None = None
        self._stop_reason: AbortReason = "fail_fast"  # why inputs may be left without outcome
        self._reach = Reachability(client.clock)
        self._log = LogThrottle(client.clock)
        self._attempts: dict[K, int] = {}  # input -> attempts its requests made, retries included
        self._watcher: StatusWatcher | None = None
        self._done = self._failed = 0

    async def run(self) -> FleetResult[K]:
        """Act on every input; return when each has an outcome (or fail_fast stopped the rest)."""
        if not self.keys:
            return self.result
        for key in self.keys:
            self._queue.put_nowait(key)
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self.op.prepare is not None:
                    prepared = self.op.prepare(_Requests(self, None), self.deadline)
                    try:
                        await stack.enter_async_context(prepared)
                    except FleetAbortedError as exc:  # the deadline or a dead API, before any input
                        self._stopped_by = exc.cause
                        self._abort_unfinished(exc.reason)
                        return self.result
                self._watcher = await stack.enter_async_context(self._new_watcher())
                async with asyncio.TaskGroup() as group:
                    workers = [
                        group.create_task(self._worker(), name=f"vpsorg-fleet-{self.op.name}-{i}")
                        for i in range(min(self.options.concurrency, len(self.keys)))
                    ]
                    await self._finished.wait()
                    for worker in workers:
                        worker.cancel()
        except asyncio.CancelledError:
            self._abort_unfinished("cancelled")
            raise
        except BaseException:
            self._abort_unfinished("error")
            raise
        # only fail_fast and an unreachable API leave inputs without an outcome
        self._abort_unfinished(self._stop_reason)
        return self.result

    def _new_watcher(self) -> StatusWatcher:
        options = self.options
        return StatusWatcher(
            self.client,
            poll_interval=options.polling.poll_interval,
            max_poll_interval=options.polling.max_poll_interval,
            coalesce=options.coalesce,
            concurrency=options.concurrency,
            slots=self.slots,
            on_poll=self._observe,
            status_source=options.status_source,
        )

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            await self._handle(key)

    async def _handle(self, key: K) -> None:
        if self._stopped_by is not None or key in self.result.outcomes:
            return
        if self.client.clock() >= self.deadline:
            self._record(
                key, Outcome(key, False, error=FleetAbortedError(reason="timeout", stage="queued"))
            )
            return
        self._stage[key] = "requesting"
        try:
            step = await self.op.act(key, _Requests(self, key))
        except VPSOrgError as exc:
            step = Fail(exc)
        if not isinstance(step, Fail):
            self._emit(key, "requested")
        self._apply(key, step)

    def _apply(self, key: K, step: Step) -> None:
        if isinstance(step, Done):
            self._record(key, Outcome(key, True, server=step.server, already=step.already))
        elif isinstance(step, Fail):
            self._record(key, Outcome(key, False, server=step.server, error=step.error))
        elif isinstance(step, Wait):
            self._stage[key] = "waiting"
            self._emit(key, "waiting")

            already = step.already

            def waited(done: WaitResult) -> None:
                self._record(
                    key, Outcome(key, done.ok, done.server, done.error, already and done.ok)
                )

            self._watch(step.server_id, self.op.rule, waited, step.location)
        else:
            self._settle(key, step)

    def _settle(self, key: K, step: Settle) -> None:
        rounds = self._rounds[key] = self._rounds.get(key, 0) + 1
        if rounds > policy.MAX_SETTLE_ROUNDS:
            error = VPSOrgError(
                f"server {step.server_id} kept changing state; gave up after {rounds - 1} rounds"
            )
            self._record(key, Outcome(key, False, error=error))
            return
        self._stage[key] = "waiting"

        def settled(done: WaitResult) -> None:
            if done.ok:
                self._stage[key] = "requesting"
                self._queue.put_nowait(key)  # act again now that it stands still
            else:
                self._record(key, Outcome(key, False, done.server, done.error))

        self._watch(step.server_id, rule_for(step.status), settled, None)

    def _watch(
        self,
        server_id: int,
        rule: WaitRule,
        on_done: Callable[[WaitResult], None],
        location: str | None,
    ) -> None:
        """Hand a server to the watcher; its first poll comes ``poll_interval`` from now (or
        at the next tick), since the server was just asked to change or seen on its way."""
        assert self._watcher is not None
        left = max(self.deadline - self.client.clock(), _TINY)
        self._watcher.watch(
            server_id,
            rule,
            on_done=on_done,
            timeout=left,
            location=location,
            immediately=False,
        )

    async def request(
        self,
        key: K | None,
        call: Callable[[float], Awaitable[T]],
        *,
        also_retry: tuple[type[VPSOrgError], ...] = (),
    ) -> T:
        """Make one request for input ``key`` (None: for the whole run) through a slot,
        retrying transient errors until the deadline.

        The client already retries each call a few times; this outer loop rides out longer
        storms (429s, 5xx bursts) with the client's own backoff numbers, never past the deadline,
        and stops when the API turned out unreachable. The error it finally raises carries the
        input's attempts in all (``attempts``, and a note), every call's retries included.
        """
        schedule = PollSchedule(
            first=policy.BACKOFF_FIRST, cap=policy.BACKOFF_MAX, jitter=half_jitter
        )
        started, calls = self.client.clock(), 0
        while True:
            self._check_reachable()
            try:
                async with self.slots:
                    left = self.deadline - self.client.clock()
                    if left <= 0:
                        raise FleetAbortedError(reason="timeout", stage="requesting")
                    calls += 1
                    answer = await call(request_timeout(left, self.client.timeout))
            except FleetAbortedError:
                raise
            except VPSOrgError as exc:
                self._count_attempts(key, exc)
                self._observe(exc)
                retry_also = isinstance(exc, also_retry) and not _undecidable(exc)
                if not (is_transient(exc) or retry_also):
                    self._tell_attempts(key, exc, calls, started)
                    raise
                delay = schedule.next_delay()
                if isinstance(exc, RateLimitError) and exc.retry_after:
                    delay = max(delay, exc.retry_after)
                if self.client.clock() + delay >= self.deadline:
                    exc.add_note("not retried: the fleet's deadline would pass")
                    self._tell_attempts(key, exc, calls, started)
                    raise
                self._check_reachable()
                self._log.log(
                    logger,
                    logging.INFO,
                    ("retry", self.op.name, error_kind(exc)),
                    "fleet %s: %s; trying again in %.2f s",
                    self.op.name,
                    exc,
                    delay,
                )
                await self.client.sleep(delay)
            else:
                self._count_attempts(key, None)
                self._observe(None)
                return answer

    def _observe(self, error: VPSOrgError | None) -> None:
        """Report one request's outcome; stop the run once the API counts as unreachable."""
        if self._reach.observe(error) and self._stopped_by is None:
            self._stopped_by, self._stop_reason = self._reach.last, "unreachable"
            self._finished.set()

    def _check_reachable(self) -> None:
        if self._stop_reason == "unreachable":
            raise FleetAbortedError(
                reason="unreachable", stage="requesting", cause=self._stopped_by
            )

    def _count_attempts(self, key: K | None, error: VPSOrgError | None) -> None:
        if key is not None:
            self._attempts[key] = self._attempts.get(key, 0) + getattr(error, "attempts", 1)

    def _tell_attempts(self, key: K | None, exc: VPSOrgError, calls: int, started: float) -> None:
        """Make the final error count every attempt made for the input, not only its last call's."""
        if key is None or calls < 2:
            return
        total = self._attempts.get(key, 0)
        if hasattr(exc, "attempts"):
            exc.attempts = total
        elapsed = self.client.clock() - started
        exc.add_note(f"{total} attempts in {calls} requests over {elapsed:.1f} s")

    def _record(self, key: K, outcome: Outcome[K]) -> None:
        if key in self.result.outcomes:
            return
        if outcome.error is not None:
            attempts = self._attempts.get(key)
            if attempts and isinstance(outcome.error, FleetAbortedError):
                outcome.error.add_note(f"{attempts} request attempts were made for it")
            outcome.error.add_note(f"fleet {self.op.name}: server {key!r}")
        self.result.outcomes[key] = outcome
        self._stage.pop(key, None)
        if outcome.ok:
            self._done += 1
        else:
            self._failed += 1
        self._emit(key, "done" if outcome.ok else "failed", outcome)
        if self._done + self._failed == len(self.keys):
            self._finished.set()
        elif not outcome.ok and self.options.fail_fast and self._stopped_by is None:
            self._stopped_by = outcome.error
            self._finished.set()

    def _emit(self, key: K, phase: Phase, outcome: Outcome[K] | None = None) -> None:
        if self._on_progress is not None:
            self._on_progress(
                FleetEvent(
                    key, phase, outcome, self._done, self._failed, len(self._stage), len(self.keys)
                )
            )

    def _abort_unfinished(self, reason: AbortReason) -> None:
        """Give every input without an outcome one: it failed with ``FleetAbortedError``."""
        if self._done + self._failed == len(self.keys):
            return
        quiet = reason != "fail_fast"  # no calls into user code while cancelled or failing
        on_progress, self._on_progress = self._on_progress, None if quiet else self._on_progress
        try:
            for key in self.keys:
                if key not in self.result.outcomes:
                    stage = self._stage.get(key, "queued")
                    error = FleetAbortedError(reason=reason, stage=stage, cause=self._stopped_by)
                    self._record(key, Outcome(key, False, error=error))
        finally:
            self._on_progress = on_progress


@attrs.frozen
class _Requests(Generic[K]):
    """The :class:`~._steps.Request` an operation gets for one input (None: the whole run)."""

    _run: Run[K]
    _key: K | None

    async def __call__(
        self,
        call: Callable[[float], Awaitable[T]],
        *,
        also_retry: tuple[type[VPSOrgError], ...] = (),
    ) -> T:
        return await self._run.request(self._key, call, also_retry=also_retry)


def _undecidable(exc: VPSOrgError) -> bool:
    """A create that several new servers may have come from: looking again cannot tell."""
    return isinstance(exc, AmbiguousCreateError) and bool(exc.candidates)
