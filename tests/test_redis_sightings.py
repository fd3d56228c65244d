"""What crosses processes on the board: sightings and registrations as JSON, and back."""

from __future__ import annotations

import attrs
import pytest

from vpsorg_async._errors import (
    AuthenticationError,
    NotFoundError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerError,
    TLSCertificateError,
    VPSOrgError,
)
from vpsorg_async._seams import Ask, Unseen
from vpsorg_async.redis._sightings import (
    BoardStaleError,
    Registered,
    dump_ask,
    dump_sighting,
    load_ask,
    load_sighting,
    merge,
)
from vpsorg_async.testing.examples import DETAIL_RESPONSE

from vpsorg_async import Server, ServerDetail  # isort: skip
from vpsorg_async._convert import decode  # isort: skip

LISTED = {f.name for f in attrs.fields(Server)}


def round_trip(sighting: object) -> object:
    at, back = load_sighting(dump_sighting(sighting, at=12.5))  # type: ignore[arg-type]
    assert at == 12.5
    return back


def test_a_server_and_an_absence_round_trip() -> None:
    detail = decode(DETAIL_RESPONSE, ServerDetail)
    assert round_trip(detail) == detail
    assert type(round_trip(detail)) is ServerDetail
    listed = decode({k: v for k, v in DETAIL_RESPONSE.items() if k in LISTED}, Server)
    assert type(round_trip(listed)) is Server
    assert round_trip(listed) == listed
    assert round_trip(None) is None


@pytest.mark.parametrize(
    "error",
    [
        NotFoundError(status=404, method="GET", path="/servers/1/", detail="Not found."),
        AuthenticationError(status=401, method="GET", path="/servers/", detail="bad token"),
        TLSCertificateError("certificate expired", method="GET", path="/servers/", sent=False),
        RequestTimeoutError("no answer within 2 s", method="GET", path="/servers/"),
    ],
)
def test_an_error_comes_back_as_the_same_class_and_message(error: Exception) -> None:
    back = round_trip(error)
    assert type(back) is type(error)
    assert str(back) == str(error)


def test_an_unseen_keeps_its_cause() -> None:
    cause = ServerError(status=503, method="GET", path="/servers/", detail="busy")
    back = round_trip(Unseen(cause))
    assert isinstance(back, Unseen)
    assert isinstance(back.cause, ServerError)
    assert back.cause.status == 503
    stale = round_trip(Unseen(BoardStaleError("no sweep")))
    assert isinstance(stale, Unseen)
    assert isinstance(stale.cause, BoardStaleError)
    decoded = round_trip(Unseen(ResponseDecodeError("not JSON", method="GET", path="/x/")))
    assert isinstance(decoded, Unseen)
    assert type(decoded.cause) is ResponseDecodeError


def test_an_unknown_error_becomes_a_library_error_with_its_message() -> None:
    back = round_trip(ValueError("odd"))
    assert type(back) is VPSOrgError
    assert str(back) == "odd"


def test_a_long_message_is_bounded() -> None:
    back = round_trip(NotFoundError(status=404, method="GET", path="/s/", detail="x" * 10_000))
    assert isinstance(back, NotFoundError)
    assert len(str(back)) < 2_100


@pytest.mark.parametrize(
    "text", ["{", "[]", '{"at": 1}', '{"at": 1, "kind": "martian"}', '{"at": 1, "kind": "server"}']
)
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a board sighting"):
        load_sighting(text)


def test_registrations_round_trip_and_merge_per_server() -> None:
    one = load_ask(b"host:1:abc:7", dump_ask(Ask(7, 5.0, "eu", True), deadline=100.0))
    assert one == Registered(7, 100.0, "eu", True)
    other = load_ask("host:2:def:7", dump_ask(Ask(7, 9.0, None, False), deadline=200.0))
    third = load_ask("host:2:def:8", dump_ask(Ask(8, 9.0), deadline=50.0))
    assert sorted(merge([one, other, third]), key=lambda r: r.server_id) == [
        Registered(7, 200.0, "eu", False),
        Registered(8, 50.0, None, False),
    ]
    for field, text in [("x:1", "{"), ("x:y", '{"d": 1, "l": null, "g": true}'),
                        ("x:1", '{"d": 1, "l": 5, "g": true}')]:  # fmt: skip
        with pytest.raises(ValueError, match="not a board registration"):
            load_ask(field, text)
