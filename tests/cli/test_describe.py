"""The one-line error messages and the exit codes they map to (pure functions)."""

from __future__ import annotations

import pytest

from vpsorg_async import (
    AmbiguousCreateError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    CreateServer,
    NotFoundError,
    PaymentRequiredError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
    ValidationError,
    VPSOrgError,
    WaiterTimeoutError,
)
from vpsorg_async.cli._describe import EXIT_FAILED, EXIT_USAGE, describe, exit_code_for


def api(cls: type[APIError], status: int, method: str, path: str, **kw: object) -> APIError:
    return cls(status=status, method=method, path=path, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (
            api(NotFoundError, 404, "GET", "/servers/12345/", detail="Not found."),
            "server 12345 not found (404)",
        ),
        (
            api(
                BadRequestError,
                400,
                "POST",
                "/servers/7/start/",
                detail="Server is already running",
            ),
            "cannot start server 7: Server is already running (400)",
        ),
        (
            api(BadRequestError, 400, "POST", "/servers/", field_errors={"name": ["Too long."]}),
            "cannot create a server: name: Too long. (400)",
        ),
        (
            api(BadRequestError, 400, "PATCH", "/servers/7/"),
            "cannot patch server 7: no reason given (400)",
        ),
        (
            api(AuthenticationError, 401, "GET", "/servers/", detail="Invalid token."),
            "the API refused the token: Invalid token. (401); check --token or $VPSORG_API_TOKEN",
        ),
        (
            api(PaymentRequiredError, 402, "POST", "/servers/", detail="Insufficient balance"),
            "cannot create a server: Insufficient balance (402)",
        ),
        (
            api(RateLimitError, 429, "DELETE", "/servers/9/"),
            "rate limited while trying to delete server 9 (429); try again later",
        ),
        (
            api(ServerError, 503, "GET", "/servers/", detail="busy", attempts=3),
            "the API failed to list servers after 3 attempts: busy (503)",
        ),
        (
            api(
                ServerError,
                502,
                "GET",
                "/servers/1/",
                detail="<html>\n<title>502 Bad\n Gateway</title>",
            ),
            "the API failed to get server 1: 502 Bad Gateway (502)",
        ),
        (
            api(ServerError, 500, "DELETE", "/servers/1/", detail="<p>oops</p>"),
            "the API failed to delete server 1: an HTML error page (500)",
        ),
        (
            api(BadRequestError, 400, "PUT", "/servers/1/", detail="x" * 400),
            "cannot update server 1: " + "x" * 273 + "...",
        ),
        (
            api(NotFoundError, 404, "GET", "/servers/"),
            "cannot list servers: no reason given (404)",
        ),
        (
            TransportError("cannot connect: refused", method="GET", path="/servers/", attempts=3),
            "could not list servers after 3 attempts: cannot connect: refused",
        ),
        (
            RequestTimeoutError("no answer", method="PUT", path="/servers/4/"),
            "could not update server 4: no answer",
        ),
        (ValidationError("name", "too long"), "invalid name: too long"),
        (VPSOrgError("something"), "something"),
        (TimeoutError(), "timed out"),
        (RuntimeError("boom"), "unexpected RuntimeError: boom"),
    ],
)
def test_describe(exc: BaseException, line: str) -> None:
    assert describe(exc) == line


def test_describe_keeps_waiter_and_ambiguous_messages() -> None:
    timeout = WaiterTimeoutError(server_id=3, target="active", last_server=None, elapsed=2, polls=4)
    assert describe(timeout) == str(timeout)
    cause = TransportError("cut", method="POST", path="/servers/")
    body = CreateServer(name="web-1", plan_id=1, os_id=5, location="us-west")
    ambiguous = AmbiguousCreateError(request=body, cause=cause)
    assert "web-1" in describe(ambiguous)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ValidationError("x", "y"), EXIT_USAGE),
        (ConfigurationError("no token"), EXIT_USAGE),
        (api(NotFoundError, 404, "GET", "/servers/1/"), EXIT_FAILED),
        (RuntimeError("boom"), EXIT_FAILED),
    ],
)
def test_exit_codes(exc: BaseException, code: int) -> None:
    assert exit_code_for(exc) == code
