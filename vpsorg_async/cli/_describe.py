"""One readable line for every error, and the exit code it ends the command with. Pure functions.

The library's messages are written for a developer reading a traceback (``POST /servers/7/start/
answered 400: Server is already running``); an operator at a prompt wants the server and the
reason: ``server 7 cannot start: Server is already running (400)``.
"""

from __future__ import annotations

import re

from vpsorg_async import (
    TOKEN_ENV,
    AmbiguousCreateError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    ServerError,
    TransportError,
    ValidationError,
    VPSOrgError,
    WaiterError,
)

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "describe",
    "exit_code_for",
]

#: Everything asked for was done.
EXIT_OK = 0
#: The API said no, a wait failed, or some servers of a fleet failed.
EXIT_FAILED = 1
#: The command line was wrong (click's own convention), including input refused before sending.
EXIT_USAGE = 2
#: Ctrl-C: 128 + SIGINT, as shells report it.
EXIT_INTERRUPTED = 130
#: SIGTERM (``kill``, a service manager, a CI runner's cancel): 128 + SIGTERM, as shells report it.
EXIT_TERMINATED = 143

_SERVER_PATH = re.compile(r"/servers/(?P<id>\d+)/(?:(?P<action>start|stop|reboot)/)?$")
_HTML_TITLE = re.compile(r"<title>(?P<title>.*?)</title>", re.IGNORECASE | re.DOTALL)
#: Longest message shown; a longer one (an odd body excerpt) is cut with an ellipsis.
MAX_LINE = 300
_VERBS = {"PUT": "update", "PATCH": "patch", "DELETE": "delete", "GET": "get"}


def _target(method: str, path: str) -> tuple[str | None, str]:
    """``(server id or None, what was tried)`` for a request, e.g. ``("7", "start server 7")``."""
    match = _SERVER_PATH.search(path)
    if match is None:
        return None, ("create a server" if method == "POST" else "list servers")
    server_id = match["id"]
    verb = match["action"] or _VERBS.get(method, method.lower())
    return server_id, f"{verb} server {server_id}"


def _plain(detail: str) -> str:
    """A proxy's HTML error page becomes its title; anything else loses its line breaks."""
    if detail.lstrip().startswith("<"):
        title = _HTML_TITLE.search(detail)
        detail = title["title"] if title else "an HTML error page"
    return " ".join(detail.split())


def _reason(exc: APIError) -> str:
    parts = [_plain(exc.detail)] if exc.detail else []
    parts += [f"{field}: {' '.join(msgs)}" for field, msgs in exc.field_errors.items()]
    return "; ".join(parts) or "no reason given"


def _describe_api(exc: APIError) -> str:
    line = _describe_answer(exc)
    if isinstance(exc, NotFoundError) and exc.hint:  # the URL is likely not the API's
        line += f"; {exc.hint}"
    return line


def _describe_answer(exc: APIError) -> str:
    server_id, what = _target(exc.method, exc.path)
    status = f"({exc.status})"
    if isinstance(exc, NotFoundError) and server_id is not None:
        return f"server {server_id} not found {status}"
    if isinstance(exc, AuthenticationError):
        return f"the API refused the token: {_reason(exc)} {status}; check --token or ${TOKEN_ENV}"
    if isinstance(exc, PaymentRequiredError):
        return f"cannot {what}: {_reason(exc)} {status}"
    if isinstance(exc, RateLimitError):
        return f"rate limited while trying to {what} {status}; try again later"
    if isinstance(exc, ServerError):
        tries = f" after {exc.attempts} attempts" if exc.attempts > 1 else ""
        return f"the API failed to {what}{tries}: {_reason(exc)} {status}"
    return f"cannot {what}: {_reason(exc)} {status}"


def describe(exc: BaseException) -> str:
    """One line saying what went wrong, without the ``error:`` prefix. Never includes the token."""
    line = " ".join(_describe(exc).split())
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def _describe(exc: BaseException) -> str:
    if isinstance(exc, APIError):
        return _describe_api(exc)
    if isinstance(exc, TransportError):
        _, what = _target(exc.method, exc.path)
        tries = f" after {exc.attempts} attempts" if exc.attempts > 1 else ""
        reason = str(exc).removeprefix(f"{exc.method} {exc.path}: ")
        return f"could not {what}{tries}: {reason}"
    if isinstance(exc, ValidationError | ConfigurationError | WaiterError | AmbiguousCreateError):
        return str(exc)
    if isinstance(exc, VPSOrgError):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"unexpected {type(exc).__name__}: {exc}"


def exit_code_for(exc: BaseException) -> int:
    """2 for input refused before anything was sent, 1 for everything else that went wrong."""
    if isinstance(exc, ValidationError | ConfigurationError):
        return EXIT_USAGE
    return EXIT_FAILED
