"""The error tree, the pure mapping of answers to errors, and every error status end to end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from aioresponses import aioresponses
from multidict import CIMultiDict
from yarl import URL

import vpsorg_async
from vpsorg_async import Client, CreateServer
from vpsorg_async._answers import error_from_response
from vpsorg_async._redact import BODY_EXCERPT
from vpsorg_async.testing import Simulator

if TYPE_CHECKING:
    from conftest import MakeClient

BASE = "https://admin.vps.org/api/v1"


def make(status: int, body: bytes = b"", **headers: str) -> vpsorg_async.APIError:
    return error_from_response(
        status=status, method="GET", path="/servers/1/", headers=CIMultiDict(headers), body=body
    )


# --- the tree ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "parent"),
    [
        (vpsorg_async.ValidationError, vpsorg_async.VPSOrgError),
        (vpsorg_async.ValidationError, ValueError),
        (vpsorg_async.ConfigurationError, vpsorg_async.VPSOrgError),
        (vpsorg_async.ConfigurationError, ValueError),
        (vpsorg_async.APIError, vpsorg_async.VPSOrgError),
        (vpsorg_async.BadRequestError, vpsorg_async.APIError),
        (vpsorg_async.AuthenticationError, vpsorg_async.APIError),
        (vpsorg_async.PaymentRequiredError, vpsorg_async.APIError),
        (vpsorg_async.PermissionDeniedError, vpsorg_async.APIError),
        (vpsorg_async.NotFoundError, vpsorg_async.APIError),
        (vpsorg_async.ConflictError, vpsorg_async.APIError),
        (vpsorg_async.RateLimitError, vpsorg_async.APIError),
        (vpsorg_async.ServerError, vpsorg_async.APIError),
        (vpsorg_async.TransportError, vpsorg_async.VPSOrgError),
        (vpsorg_async.RequestTimeoutError, vpsorg_async.TransportError),
        (vpsorg_async.ResponseDecodeError, vpsorg_async.VPSOrgError),
        (vpsorg_async.AmbiguousCreateError, vpsorg_async.VPSOrgError),
        (vpsorg_async.WaiterTimeoutError, vpsorg_async.WaiterError),
        (vpsorg_async.WaiterFailedError, vpsorg_async.WaiterError),
        (vpsorg_async.WaiterError, vpsorg_async.VPSOrgError),
        (vpsorg_async.FleetError, vpsorg_async.VPSOrgError),
        (vpsorg_async.FleetAbortedError, vpsorg_async.VPSOrgError),
        (vpsorg_async.FleetError, ExceptionGroup),
    ],
)
def test_hierarchy(cls: type[BaseException], parent: type[BaseException]) -> None:
    assert issubclass(cls, parent)
    assert getattr(vpsorg_async, cls.__name__) is cls
    assert cls.__name__ in vpsorg_async.__all__


def test_error_classes_are_not_retryable_by_accident() -> None:
    # API errors are not transport errors and vice versa: the retry rule depends on it
    assert not issubclass(vpsorg_async.APIError, vpsorg_async.TransportError)
    assert not issubclass(vpsorg_async.TransportError, vpsorg_async.APIError)
    assert not issubclass(
        vpsorg_async.ResponseDecodeError, vpsorg_async.APIError | vpsorg_async.TransportError
    )


# --- status to class -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, vpsorg_async.BadRequestError),
        (401, vpsorg_async.AuthenticationError),
        (402, vpsorg_async.PaymentRequiredError),
        (403, vpsorg_async.PermissionDeniedError),
        (404, vpsorg_async.NotFoundError),
        (409, vpsorg_async.ConflictError),
        (429, vpsorg_async.RateLimitError),
        (500, vpsorg_async.ServerError),
        (501, vpsorg_async.ServerError),
        (502, vpsorg_async.ServerError),
        (503, vpsorg_async.ServerError),
        (504, vpsorg_async.ServerError),
        (599, vpsorg_async.ServerError),
        (405, vpsorg_async.APIError),
        (410, vpsorg_async.APIError),
        (418, vpsorg_async.APIError),
        (422, vpsorg_async.APIError),
        (301, vpsorg_async.APIError),
        (302, vpsorg_async.APIError),
        (200, vpsorg_async.APIError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[vpsorg_async.APIError]) -> None:
    error = make(status)
    assert type(error) is cls
    assert error.status == status
    assert (error.method, error.path) == ("GET", "/servers/1/")
    assert error.attempts == 1


# --- reading DRF bodies --------------------------------------------------------------------------


def test_detail_is_read() -> None:
    error = make(404, b'{"detail": "Not found."}')
    assert error.detail == "Not found."
    assert error.field_errors == {}
    assert str(error) == "GET /servers/1/ answered 404: Not found."


def test_field_errors_are_read() -> None:
    body = b'{"name": ["This field is required."], "plan_id": ["A valid integer is required."]}'
    error = make(400, body)
    assert isinstance(error, vpsorg_async.BadRequestError)
    assert error.detail is None
    assert error.field_errors == {
        "name": ["This field is required."],
        "plan_id": ["A valid integer is required."],
    }
    assert str(error) == (
        "GET /servers/1/ answered 400 (name: This field is required.; "
        "plan_id: A valid integer is required.)"
    )


def test_detail_and_fields_together_and_odd_values() -> None:
    body = b'{"detail": "Invalid input.", "name": "too long", "codes": [1, 2], "nested": {"a": 1}}'
    error = make(400, body)
    assert error.detail == "Invalid input."
    assert error.field_errors == {"name": ["too long"], "codes": ["1", "2"]}


def test_non_field_errors_become_the_detail() -> None:
    error = make(400, b'{"non_field_errors": ["Server is already running"]}')
    assert error.detail == "Server is already running"
    assert error.field_errors == {}
    error = make(400, b'{"detail": "x", "non_field_errors": ["y"]}')
    assert (error.detail, error.field_errors) == ("x", {"non_field_errors": ["y"]})


def test_a_non_string_detail_is_stringified() -> None:
    assert make(400, b'{"detail": {"code": 7}}').detail == "{'code': 7}"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", None),
        (b"   ", None),
        (b"<html><body>502 Bad Gateway</body></html>", "<html><body>502 Bad Gateway</body></html>"),
        (b'["not", "an", "object"]', '["not", "an", "object"]'),
        (b"null", "null"),
        (b'{"detail": "cut', '{"detail": "cut'),
        (b"\xff\xfe bad utf-8", "\ufffd\ufffd bad utf-8"),
    ],
)
def test_bodies_that_are_not_drf(body: bytes, detail: str | None) -> None:
    error = make(502, body)
    assert error.detail == detail
    assert error.field_errors == {}


def test_a_long_body_is_quoted_as_an_excerpt() -> None:
    error = make(500, b"x" * (BODY_EXCERPT * 5))
    assert error.detail == "x" * BODY_EXCERPT + "..."


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Request-ID": "req-1"}, "req-1"),
        ({"x-request-id": "req-2"}, "req-2"),
        ({"X-Correlation-ID": "corr-3"}, "corr-3"),
        ({"Request-Id": "r-4"}, "r-4"),
        ({"X-Request-ID": "first", "X-Correlation-ID": "second"}, "first"),
        ({}, None),
    ],
)
def test_request_id_from_headers(headers: dict[str, str], expected: str | None) -> None:
    error = make(500, b'{"detail": "boom"}', **headers)
    assert error.request_id == expected
    if expected:
        assert str(error).endswith(f"[request id {expected}]")


def test_rate_limit_carries_retry_after_and_attempts() -> None:
    error = error_from_response(
        status=429,
        method="POST",
        path="/servers/",
        headers=CIMultiDict(),
        body=b'{"detail": "Request was throttled."}',
        retry_after=7.0,
        attempts=3,
    )
    assert isinstance(error, vpsorg_async.RateLimitError)
    assert error.retry_after == 7.0
    assert error.attempts == 3
    assert error.detail == "Request was throttled."
    assert make(429).retry_after is None


def test_error_from_response_carries_retry_after_for_503_and_none_by_default() -> None:
    error = error_from_response(
        status=503, method="GET", path="/p/", headers={}, body=b"", retry_after=5.0
    )
    assert isinstance(error, vpsorg_async.ServerError)
    assert error.retry_after == 5.0
    plain = error_from_response(status=500, method="GET", path="/p/", headers={}, body=b"")
    assert plain.retry_after is None


def test_a_deeply_nested_error_body_does_not_escape() -> None:
    error = make(500, b"[" * 100_000)
    assert isinstance(error, vpsorg_async.ServerError)


# --- messages of the other errors ----------------------------------------------------------------


def test_validation_error_names_param_and_rule() -> None:
    error = vpsorg_async.ValidationError("server_id", "must be a positive integer, got 0")
    assert (error.param, error.rule) == ("server_id", "must be a positive integer, got 0")
    assert str(error) == "invalid server_id: must be a positive integer, got 0"


def test_transport_error() -> None:
    error = vpsorg_async.TransportError(
        "cannot connect: refused", method="GET", path="/servers/", sent=False
    )
    assert str(error) == "GET /servers/: cannot connect: refused"
    assert error.sent is False
    assert error.attempts == 1
    timeout = vpsorg_async.RequestTimeoutError("late", method="GET", path="/servers/", attempts=3)
    assert timeout.sent is True
    assert timeout.attempts == 3


def test_ambiguous_create_error_carries_request_and_cause() -> None:
    body = CreateServer(name="web-1", plan_id=1, os_id=5, location="us-west")
    cause = make(503)
    error = vpsorg_async.AmbiguousCreateError(request=body, cause=cause)
    assert error.request is body
    assert error.cause is cause
    assert "'web-1'" in str(error)
    assert "reconcile=True" in str(error)
    assert "answered 503" in str(error)
    assert "'?'" in str(vpsorg_async.AmbiguousCreateError(request=None, cause=cause))


def test_response_decode_error_message() -> None:
    error = vpsorg_async.ResponseDecodeError("bad", method="GET", path="/servers/", status=200)
    assert str(error) == "GET /servers/ (200): bad"
    assert str(vpsorg_async.ResponseDecodeError("bad")) == "bad"


class _Seen:
    id = 7
    status = "stopped"


def test_waiter_errors() -> None:
    timeout = vpsorg_async.WaiterTimeoutError(
        server_id=7, target="active", last_server=_Seen(), elapsed=12.34, polls=5
    )
    assert (timeout.server_id, timeout.target, timeout.polls) == (7, "active", 5)
    assert str(timeout) == (
        "server 7 did not reach 'active' within 12.3 s (5 polls; last status stopped)"
    )
    unknown = vpsorg_async.WaiterTimeoutError(
        server_id=7, target="active", last_server=None, elapsed=1, polls=0
    )
    assert "last status unknown" in str(unknown)
    failed = vpsorg_async.WaiterFailedError(server=_Seen(), target="active")
    assert str(failed) == "server 7 entered 'stopped' while waiting for 'active'"
    assert failed.server.id == 7


@pytest.mark.parametrize(
    ("reason", "why"),
    [
        ("cancelled", "the fleet operation was cancelled"),
        ("fail_fast", "fail_fast stopped the fleet after another failure (GET /servers/1/ answ"),
        ("timeout", "the fleet's deadline passed"),
        ("error", "the fleet operation ended with an error"),
    ],
)
def test_fleet_aborted_error(reason: Any, why: str) -> None:
    cause = make(500) if reason == "fail_fast" else None
    error = vpsorg_async.FleetAbortedError(reason=reason, stage="queued", cause=cause)
    assert (error.reason, error.stage, error.cause) == (reason, "queued", cause)
    assert str(error).startswith(f"not finished (queued): {why}")


def test_fleet_error_is_an_exception_group() -> None:
    group = vpsorg_async.FleetError("2 servers failed", [make(404), make(500)])
    with pytest.raises(vpsorg_async.FleetError) as info:
        raise group
    assert len(info.value.exceptions) == 2
    split: dict[str, int] = {}
    try:
        raise group
    except* vpsorg_async.NotFoundError as found:
        split["found"] = len(found.exceptions)
    except* vpsorg_async.ServerError as failed:
        split["failed"] = len(failed.exceptions)
    assert split == {"found": 1, "failed": 1}


# --- every documented status end to end ----------------------------------------------------------

# Each endpoint as the documented errors reach it: (HTTP method, path, the call's arguments).
CALLS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "list_servers": ("GET", "/servers/", {}),
    "create_server": (
        "POST",
        "/servers/",
        {"name": "web-1", "plan_id": 1, "os_id": 5, "location": "us-west"},
    ),
    "get_server": ("GET", "/servers/9/", {"server_id": 9}),
    "update_server": (
        "PUT",
        "/servers/9/",
        {"server_id": 9, "name": "web-1", "hostname": "web1.example.com", "backups_enabled": False},
    ),
    "patch_server": ("PATCH", "/servers/9/", {"server_id": 9, "name": "web-1"}),
    "delete_server": ("DELETE", "/servers/9/", {"server_id": 9}),
    "start_server": ("POST", "/servers/9/start/", {"server_id": 9}),
    "stop_server": ("POST", "/servers/9/stop/", {"server_id": 9}),
    "reboot_server": ("POST", "/servers/9/reboot/", {"server_id": 9}),
}

# (method name, status, body, class): each documented error of the table.
DOCUMENTED: list[tuple[str, int, str, type[vpsorg_async.APIError]]] = [
    ("list_servers", 401, '{"detail": "Invalid token."}', vpsorg_async.AuthenticationError),
    ("create_server", 400, '{"name": ["Bad name."]}', vpsorg_async.BadRequestError),
    ("create_server", 401, '{"detail": "No token."}', vpsorg_async.AuthenticationError),
    ("create_server", 402, '{"detail": "Insufficient balance"}', vpsorg_async.PaymentRequiredError),
    ("get_server", 401, '{"detail": "x"}', vpsorg_async.AuthenticationError),
    ("get_server", 404, '{"detail": "Not found."}', vpsorg_async.NotFoundError),
    ("update_server", 400, '{"hostname": ["Bad."]}', vpsorg_async.BadRequestError),
    ("update_server", 404, '{"detail": "Not found."}', vpsorg_async.NotFoundError),
    ("patch_server", 400, '{"name": ["Bad."]}', vpsorg_async.BadRequestError),
    ("patch_server", 404, '{"detail": "Not found."}', vpsorg_async.NotFoundError),
    ("delete_server", 404, '{"detail": "Not found."}', vpsorg_async.NotFoundError),
    ("start_server", 400, '{"detail": "Server is already running"}', vpsorg_async.BadRequestError),
    ("start_server", 404, '{"detail": "x"}', vpsorg_async.NotFoundError),
    ("stop_server", 400, '{"detail": "not running"}', vpsorg_async.BadRequestError),
    ("stop_server", 404, '{"detail": "x"}', vpsorg_async.NotFoundError),
    ("reboot_server", 400, '{"detail": "Server is not running"}', vpsorg_async.BadRequestError),
    ("reboot_server", 404, '{"detail": "x"}', vpsorg_async.NotFoundError),
    ("get_server", 403, '{"detail": "Forbidden."}', vpsorg_async.PermissionDeniedError),
    ("patch_server", 409, '{"detail": "Busy."}', vpsorg_async.ConflictError),
    ("get_server", 418, "I'm a teapot", vpsorg_async.APIError),
    ("get_server", 501, '{"detail": "Not implemented"}', vpsorg_async.ServerError),
]


@pytest.mark.parametrize(
    ("name", "status", "body", "cls"),
    DOCUMENTED,
    ids=[f"{d[0]}-{d[1]}" for d in DOCUMENTED],
)
async def test_documented_error_statuses(
    mocked: aioresponses,
    client: Client,
    name: str,
    status: int,
    body: str,
    cls: type[vpsorg_async.APIError],
) -> None:
    method, path, args = CALLS[name]
    mocked.add(
        BASE + path, method, status=status, body=body, headers={"X-Request-ID": f"rid-{status}"}
    )
    with pytest.raises(cls) as info:
        await getattr(client, name)(**args)
    error = info.value
    assert type(error) is cls
    assert (error.status, error.method, error.path) == (status, method, path)
    assert error.request_id == f"rid-{status}"
    assert error.attempts == 1
    assert sum(len(calls) for calls in mocked.requests.values()) == 1  # none of these is retried
    if body.startswith('{"detail"'):
        assert error.detail
        assert error.detail in body
        assert error.field_errors == {}
    elif body.startswith("{"):
        assert error.detail is None
        field = body.split('"')[1]
        assert error.field_errors == {field: [body.split('"')[3]]}


async def test_rate_limit_error_after_retries_carries_retry_after(
    mocked: aioresponses, make_client: MakeClient
) -> None:
    client = make_client(max_retries=1)
    for _ in range(2):
        mocked.get(BASE + "/servers/9/", status=429, headers={"Retry-After": "3"})
    with pytest.raises(vpsorg_async.RateLimitError) as info:
        await client.get_server(9)
    assert info.value.retry_after == 3.0
    assert info.value.attempts == 2


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirects_are_not_followed(
    mocked: aioresponses, client: Client, token: str, status: int
) -> None:
    mocked.get(
        BASE + "/servers/9/", status=status, headers={"Location": "https://evil.example/steal/"}
    )
    mocked.get("https://evil.example/steal/", status=200, body="{}")
    with pytest.raises(vpsorg_async.APIError) as info:
        await client.get_server(9)
    assert info.value.status == status
    assert list(mocked.requests) == [("GET", URL(BASE + "/servers/9/"))]  # evil.example: never
    (call,) = mocked.requests[("GET", URL(BASE + "/servers/9/"))]
    assert call.kwargs["allow_redirects"] is False


# --- a 404 that is not the API's -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "hinted"),
    [
        ("GET", "/servers/1/", b'{"detail": "Not found."}', False),  # the API: no such server
        ("POST", "/servers/1/stop/", b'{"detail": "Not found."}', False),
        ("GET", "/servers/1/", b"<html><title>404 Not Found</title></html>", True),
        ("GET", "/servers/1/", b"404: Not Found", True),
        ("DELETE", "/servers/1/", b"", True),
        ("GET", "/servers/1/", b'["not", "drf"]', True),
        ("GET", "/servers/", b'{"detail": "Not found."}', True),  # the list always exists
        ("POST", "/servers/", b"", True),
    ],
)
def test_a_404_that_is_not_the_apis_hints_at_the_base_url(
    method: str, path: str, body: bytes, hinted: bool
) -> None:
    error = error_from_response(status=404, method=method, path=path, headers={}, body=body)
    assert isinstance(error, vpsorg_async.NotFoundError)
    assert (error.hint is not None) is hinted
    assert ("does the base URL end in /api/v1" in str(error)) is hinted


async def test_a_base_url_without_api_v1_gets_the_hint(token: str) -> None:
    async with Simulator(token=token) as sim, Client(token, base_url=sim.root_url) as client:
        with pytest.raises(
            vpsorg_async.NotFoundError, match=r"does the base URL end in /api/v1"
        ) as caught:
            await client.list_servers()
        assert caught.value.path == "/servers/"
    async with Simulator(token=token) as sim, Client(token, base_url=sim.url) as client:
        with pytest.raises(vpsorg_async.NotFoundError) as caught:
            await client.get_server(999_999)  # the API's own 404: no hint
        assert caught.value.hint is None
        assert "base URL" not in str(caught.value)
