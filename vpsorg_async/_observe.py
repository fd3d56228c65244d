"""Who listens to a client: its hooks, and OpenTelemetry when the application traces.

``observe`` turns the ``Client`` arguments into the session's :class:`~._events.Hooks`, or None
when nothing listens (then a call pays nothing for hooks). Tracing is on when ``tracing=True``,
off when ``tracing=False``, and by default on when the application has already imported
``opentelemetry`` and set a tracer provider before making the client: the check looks at
``sys.modules`` first, so a program that does not use OpenTelemetry never imports it, installed
or not.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._errors import ConfigurationError, ValidationError
from ._events import Events, Hooks, RequestHook, ResponseHook, RetryHook, Sink

if TYPE_CHECKING:
    from ._otel import Tracing

__all__ = ["observe", "tracing_of"]


def observe(
    events: Events | None,
    *,
    on_request: RequestHook | None,
    on_response: ResponseHook | None,
    on_retry: RetryHook | None,
    tracing: bool | None,
    base_url: str,
    clock: Callable[[], float],
) -> Hooks | None:
    """The session's hooks for these arguments, or None when nothing listens.

    Raises:
        ValidationError: ``events`` is not an ``Events``, or a hook is not callable.
        ConfigurationError: ``tracing=True`` without ``opentelemetry-api`` installed.
    """
    if events is not None and not isinstance(events, Events):
        raise ValidationError("events", f"must be an Events value, got {type(events).__name__}")
    given = {"on_request": on_request, "on_response": on_response, "on_retry": on_retry}
    for name, hook in given.items():
        if hook is not None and not callable(hook):
            raise ValidationError(name, "must be callable or None")
    if tracing is not None and not isinstance(tracing, bool):
        raise ValidationError("tracing", "must be True, False or None (automatic)")
    sinks: list[Sink] = [events] if events is not None else []
    if any(hook is not None for hook in given.values()):
        sinks.append(Events(on_request=on_request, on_response=on_response, on_retry=on_retry))
    tracer = _tracing(tracing, base_url)
    if tracer is not None:
        sinks.append(tracer.sink)
    return Hooks(sinks, clock, tracing=tracer) if sinks else None


def _tracing(wanted: bool | None, base_url: str) -> Tracing | None:
    if wanted is False or (wanted is None and "opentelemetry.trace" not in sys.modules):
        return None
    try:
        from ._otel import Tracing, provider_is_set
    except ImportError as exc:  # only tracing=True gets here without the package
        raise ConfigurationError(
            "tracing=True needs opentelemetry-api: pip install 'vpsorg-async[otel]'"
        ) from exc
    if wanted is None and not provider_is_set():
        return None
    return Tracing(base_url)


def tracing_of(client: object) -> Tracing | None:
    """The spans of ``client``'s waits and fleets, when it traces."""
    hooks = getattr(client, "_hooks", None)
    return hooks.tracing if isinstance(hooks, Hooks) else None
