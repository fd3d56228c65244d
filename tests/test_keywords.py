"""Keywords declared once: the fleet functions and the waits show, take and refuse them as before.

Their keyword arguments are a TypedDict each (``**keywords: Unpack[...]``); mypy's side is checked
in ``tests/typing/check_public_api.py``. Here: the signatures ``help()`` and ``inspect`` show are
the explicit ones of the previous release, names, order-free; defaults exact; an unknown keyword
is a ``TypeError`` before any request.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

import pytest

from vpsorg_async import _policy as policy
from vpsorg_async import fleet, waiters
from vpsorg_async._keywords import given, spelled_out
from vpsorg_async.fleet._calls import ACTION_DEFAULTS, CREATE_DEFAULTS
from vpsorg_async.waiters import half_jitter
from vpsorg_async.waiters._wait import MANY_DEFAULTS, POLL_DEFAULTS, STATUS_DEFAULTS

#: Each function, its positional parameters, and the keywords it took when they were spelled out
#: in its ``def`` (the previous release): the signature shown must name exactly these.
FLEET = {"concurrency", "wait", "timeout", "poll_interval", "max_poll_interval", "coalesce"}
FLEET |= {"fail_fast", "on_progress", "result", "status_source"}
POLL = {"timeout", "poll_interval", "max_poll_interval", "jitter"}
MANY = POLL | {"failure_statuses", "coalesce", "location", "concurrency", "status_source"}
CASES: list[tuple[Callable[..., Any], list[str], set[str], Mapping[str, object]]] = [
    (fleet.start, ["client", "server_ids"], FLEET, ACTION_DEFAULTS),
    (fleet.stop, ["client", "server_ids"], FLEET, ACTION_DEFAULTS),
    (fleet.reboot, ["client", "server_ids"], FLEET, ACTION_DEFAULTS),
    (fleet.delete, ["client", "server_ids"], FLEET, ACTION_DEFAULTS),
    (fleet.create, ["client", "servers"], FLEET | {"create_lock"}, CREATE_DEFAULTS),
    (waiters.wait_until_active, ["client", "server_id"], POLL, POLL_DEFAULTS),
    (waiters.wait_until_stopped, ["client", "server_id"], POLL, POLL_DEFAULTS),
    (waiters.wait_until_deleted, ["client", "server_id"], POLL, POLL_DEFAULTS),
    (
        waiters.wait_for_status,
        ["client", "server_id", "status"],
        POLL | {"failure_statuses"},
        STATUS_DEFAULTS,
    ),
    (waiters.wait_many, ["client", "server_ids", "status"], MANY, MANY_DEFAULTS),
]


def test_the_defaults_are_the_policy_numbers() -> None:
    assert ACTION_DEFAULTS["timeout"] == policy.DEFAULT_FLEET_TIMEOUT
    assert (
        ACTION_DEFAULTS["concurrency"] == MANY_DEFAULTS["concurrency"] == policy.DEFAULT_CONCURRENCY
    )
    assert POLL_DEFAULTS["timeout"] == policy.DEFAULT_WAIT_TIMEOUT
    assert POLL_DEFAULTS["jitter"] is half_jitter
    assert STATUS_DEFAULTS["failure_statuses"] == ()
    assert (ACTION_DEFAULTS["wait"], ACTION_DEFAULTS["fail_fast"]) == (True, False)


@pytest.mark.parametrize(("function", "positional", "names", "defaults"), CASES)
def test_the_signature_shown_spells_out_every_keyword_with_its_default(
    function: Callable[..., Any],
    positional: list[str],
    names: set[str],
    defaults: Mapping[str, object],
) -> None:
    params = inspect.signature(function).parameters.values()
    assert [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD] == positional
    shown = {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY}
    assert shown == defaults
    assert shown.keys() == names
    assert not [p for p in params if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    assert all(p.annotation is not p.empty for p in params)


@pytest.mark.parametrize(("function", "positional", "names", "defaults"), CASES)
async def test_an_unknown_keyword_is_refused_before_any_request(
    function: Callable[..., Any], positional: list[str], names: set[str], defaults: object
) -> None:
    class NoCalls:  # any request would fail the test with AttributeError, not TypeError
        pass

    args: list[Any] = [NoCalls(), [1] if positional[1].endswith("s") else 1, "active"]
    with pytest.raises(
        TypeError, match=rf"^{function.__name__}\(\) got an unexpected keyword argument 'timout'$"
    ):
        await function(*args[: len(positional)], timout=5)


def test_given_fills_the_defaults_and_keeps_what_was_passed() -> None:
    assert given("f", {"b": 3}, {"a": 1, "b": 2}) == {"a": 1, "b": 3}


def test_a_declaration_and_its_defaults_must_name_the_same_keywords() -> None:
    class Two(TypedDict, total=False):
        a: int
        b: str

    with pytest.raises(TypeError, match=r"Two declares \['a', 'b'\], defaults name \['a'\]"):
        spelled_out(Two, {"a": 1})

    @spelled_out(Two, {"a": 1, "b": "x"})
    def f(first: int, **keywords: Any) -> None: ...

    assert str(inspect.signature(f)) == "(first: 'int', *, a: 'int' = 1, b: 'str' = 'x') -> 'None'"
