"""OpenTelemetry spans for calls, waits and fleets; imported only when tracing is on.

Calls are traced through the same hooks as everyone's (:class:`Tracing.sink`), so there is one
instrumentation seam. Following OpenTelemetry's HTTP semantic conventions:

- each call is one span of kind CLIENT, named ``GET /servers/{server_id}/``, with
  ``http.request.method``, ``url.template``, ``server.address``, ``server.port``,
  ``vpsorg.server_id``, and at its end ``http.response.status_code``, ``error.type`` (the status
  for an error answer, else the error's type name) and ``http.request.resend_count`` (retries);
- each attempt is a child span of kind INTERNAL (the call span stays the one CLIENT span, so a
  backend's service map counts one outgoing call per call) with the same attributes for that
  attempt, ``http.request.resend_count`` on the retries; each planned retry is a ``retry`` event
  on the call span, with its delay;
- a wait is an INTERNAL span ``vpsorg.wait`` (its polls are its child call spans, and ``poll``
  events name the status each saw); ``wait_many`` is one span for all its servers; a fleet
  operation is an INTERNAL span ``vpsorg.fleet <operation>`` with the counts of ok, already and
  failed inputs.

The call's span is kept in a ``ContextVar``: every hook of one call runs in the task that makes
the call, and concurrent calls run in tasks of their own, so each finds its own.
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import attrs
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from ._events import Events, RequestEvent, ResponseEvent, RetryEvent
from ._models import Server
from ._seams import Unseen
from ._version import __version__

__all__ = ["FleetSpan", "Tracing", "WaitSpan", "provider_is_set"]


def provider_is_set() -> bool:
    """True once the application has set a tracer provider (not the API's proxy or no-op)."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)


@attrs.define
class _Call:
    span: Span
    attempt: Span | None = None


_CALL: ContextVar[_Call | None] = ContextVar("vpsorg_async_traced_call", default=None)


def _name(event: RequestEvent | ResponseEvent | RetryEvent) -> str:
    return f"{event.method} {event.path_template}"


def _ended(span: Span, event: ResponseEvent) -> None:
    """Set what the end of an attempt (or of a call) says, and end the span."""
    if event.status is not None:
        span.set_attribute("http.response.status_code", event.status)
    if event.error_type is not None:
        failed = event.status is not None and event.status >= 400
        kind = str(event.status) if failed else event.error_type
        span.set_attribute("error.type", kind)
        span.set_status(StatusCode.ERROR, event.error_type)
    span.end()


class Tracing:
    """The spans of one client: calls (through :attr:`sink`), waits and fleets."""

    def __init__(self, base_url: str) -> None:
        self._tracer = trace.get_tracer("vpsorg_async", __version__)
        url = urllib.parse.urlsplit(base_url)
        port = url.port or (443 if url.scheme == "https" else 80)
        self._server: dict[str, Any] = {"server.address": url.hostname or "", "server.port": port}
        #: The hooks that turn the client's calls into spans.
        self.sink = Events(
            on_request=self._request, on_response=self._response, on_retry=self._retry
        )

    def _attributes(self, event: RequestEvent | ResponseEvent) -> dict[str, Any]:
        found = {
            "http.request.method": event.method,
            "url.template": event.path_template,
            **self._server,
        }
        if event.server_id is not None:
            found["vpsorg.server_id"] = event.server_id
        return found

    def _request(self, event: RequestEvent) -> None:
        call = _CALL.get()
        if call is None or event.attempt == 1:
            span = self._tracer.start_span(
                _name(event), kind=SpanKind.CLIENT, attributes=self._attributes(event)
            )
            call = _Call(span)
            _CALL.set(call)
        attributes = self._attributes(event)
        if event.attempt > 1:
            attributes["http.request.resend_count"] = event.attempt - 1
        call.attempt = self._tracer.start_span(
            f"{_name(event)} attempt",
            kind=SpanKind.INTERNAL,
            context=trace.set_span_in_context(call.span),
            attributes=attributes,
        )

    def _response(self, event: ResponseEvent) -> None:
        call = _CALL.get()
        if call is None:  # refused before anything was sent: a span for the call all the same
            started = time.time_ns() - int(event.call_elapsed * 1e9)
            span = self._tracer.start_span(
                _name(event),
                kind=SpanKind.CLIENT,
                attributes=self._attributes(event),
                start_time=started,
            )
            call = _Call(span)
        if call.attempt is not None:
            _ended(call.attempt, event)
            call.attempt = None
        if event.final:
            _CALL.set(None)
            if event.attempt > 1:
                call.span.set_attribute("http.request.resend_count", event.attempt - 1)
            _ended(call.span, event)

    def _retry(self, event: RetryEvent) -> None:
        call = _CALL.get()
        if call is not None:
            attributes: dict[str, Any] = {
                "vpsorg.retry.attempt": event.attempt,
                "vpsorg.retry.delay": event.delay,
                "error.type": event.error_type,
            }
            call.span.add_event("retry", attributes)

    @contextlib.contextmanager
    def wait(self, target: str, server_ids: list[int]) -> Iterator[WaitSpan]:
        """A span around a wait for ``server_ids`` to reach ``target`` (current while it runs)."""
        attributes: dict[str, Any] = {"vpsorg.wait.target": target, **self._server}
        if len(server_ids) == 1:
            attributes["vpsorg.server_id"] = server_ids[0]
        attributes["vpsorg.wait.servers"] = len(server_ids)
        with self._tracer.start_as_current_span(
            "vpsorg.wait", kind=SpanKind.INTERNAL, attributes=attributes
        ) as span:
            yield WaitSpan(span)

    @contextlib.contextmanager
    def fleet(self, operation: str, total: int) -> Iterator[FleetSpan]:
        """A span around a fleet operation over ``total`` inputs (current while it runs)."""
        attributes: dict[str, Any] = {
            "vpsorg.fleet.operation": operation,
            "vpsorg.fleet.total": total,
        }
        with self._tracer.start_as_current_span(
            f"vpsorg.fleet {operation}",
            kind=SpanKind.INTERNAL,
            attributes={**attributes, **self._server},
        ) as span:
            yield FleetSpan(span)


@attrs.frozen
class WaitSpan:
    """A wait's span: one ``poll`` event per poll, and how the wait ended."""

    span: Span

    def poll(self, number: int, sighting: object) -> None:
        """Record poll ``number`` and what it saw (a status, gone, or an error's type)."""
        attributes: dict[str, Any] = {"vpsorg.wait.poll": number}
        if isinstance(sighting, Server):
            attributes["vpsorg.server.status"] = str(sighting.status)
        elif sighting is None:
            attributes["vpsorg.server.status"] = "deleted"
        else:
            cause = sighting.cause if isinstance(sighting, Unseen) else sighting
            attributes["error.type"] = type(cause).__name__
        self.span.add_event("poll", attributes)

    def end(self, server: Server | None, error: Exception | None, polls: int) -> None:
        """Record the end of a single wait: the polls made, the last status, the error if any."""
        self.span.set_attribute("vpsorg.wait.polls", polls)
        if server is not None:
            self.span.set_attribute("vpsorg.server.status", str(server.status))
        elif error is None:
            self.span.set_attribute("vpsorg.server.status", "deleted")
        if error is not None:
            self.span.set_attribute("error.type", type(error).__name__)

    def end_many(self, reached: int, failed: int) -> None:
        """Record the end of a wait for many servers: how many reached the target, how many not."""
        self.span.set_attribute("vpsorg.wait.reached", reached)
        self.span.set_attribute("vpsorg.wait.failed", failed)
        if failed:
            self.span.set_status(StatusCode.ERROR, f"{failed} servers did not reach the target")


@attrs.frozen
class FleetSpan:
    """A fleet operation's span: the counts of its outcomes."""

    span: Span

    def end(self, ok: int, already: int, failed: int, unfinished: int) -> None:
        """Record the counts (``ok`` counts the inputs changed; ``already`` those left alone)."""
        self.span.set_attribute("vpsorg.fleet.ok", ok)
        self.span.set_attribute("vpsorg.fleet.already", already)
        self.span.set_attribute("vpsorg.fleet.failed", failed)
        self.span.set_attribute("vpsorg.fleet.unfinished", unfinished)
        if failed or unfinished:
            self.span.set_status(StatusCode.ERROR, f"{failed + unfinished} inputs failed")
