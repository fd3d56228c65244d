"""Models and the converter: the document's examples decode verbatim; bad bodies fail clearly."""

from __future__ import annotations

import json
import os
import re
from copy import deepcopy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

import vpsorg_async
from vpsorg_async import ResponseDecodeError, ValidationError
from vpsorg_async._convert import converter, decode, encode_body
from vpsorg_async._validate import check_timeout
from vpsorg_async.testing import examples

#: The API document, in the shared workspace; the checks that read it skip when it is absent.
SEED_PATH = "/work/shared/seed/000_5522b0e6f3700304.txt"
#: Each example response of the document, by the endpoint that answers it, in document order.
EXAMPLES: dict[str, dict[str, Any]] = {
    "list_servers": examples.LIST_RESPONSE,
    "create_server": examples.CREATE_RESPONSE,
    "get_server": examples.DETAIL_RESPONSE,
    "start_server": examples.START_RESPONSE,
    "stop_server": examples.STOP_RESPONSE,
    "reboot_server": examples.REBOOT_RESPONSE,
}


def at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2025, 1, day, hour, minute, tzinfo=UTC)


# --- the document's examples, verbatim ---------------------------------------------------------


@pytest.mark.skipif(
    not os.path.exists(SEED_PATH), reason="the API document is not in this checkout"
)
def test_examples_are_the_documents_own() -> None:
    """The shared example dicts are exactly the document's JSON blocks, so decoding them is
    decoding the document verbatim (the blocks themselves are decoded here too)."""
    with open(SEED_PATH, encoding="utf-8") as seed:
        text = seed.read()
    blocks = [json.loads(b) for b in re.findall(r"(?ms)^\{\n.*?\n\}$", text)]
    assert blocks == list(EXAMPLES.values())
    models = [
        vpsorg_async.ServerList,
        vpsorg_async.CreatedServer,
        vpsorg_async.ServerDetail,
        vpsorg_async.ActionResult,
        vpsorg_async.ActionResult,
        vpsorg_async.ActionResult,
    ]
    for block, model in zip(blocks, models, strict=True):
        assert decode(block, model) == decode(deepcopy(block), model)
    bodies = [json.loads(b) for b in re.findall(r"(?s)-d '(\{.*?\})'", text)]
    assert bodies == [examples.CREATE_REQUEST, examples.UPDATE_REQUEST, examples.PATCH_REQUEST]


def test_list_example_decodes() -> None:
    page = decode(deepcopy(examples.LIST_RESPONSE), vpsorg_async.ServerList)
    assert page.count == 2
    assert page.next is None
    assert page.previous is None
    assert [type(s) for s in page.results] == [vpsorg_async.Server, vpsorg_async.Server]
    assert page.results[0] == vpsorg_async.Server(
        id=12345,
        name="web-server-01",
        hostname="web01.example.com",
        status=vpsorg_async.ServerStatus.ACTIVE,
        ip_address="203.0.113.10",
        location="us-west",
        plan=vpsorg_async.Plan(id=1, name="Standard VPS", vcpus=2, memory=4096, storage=80),
        os=vpsorg_async.OperatingSystem(id=5, name="Ubuntu 22.04 LTS"),
        created_at=at(10, 14, 30),
        updated_at=at(15, 10, 20),
    )
    second = page.results[1]
    assert (second.id, second.name, second.location) == (12346, "db-server-01", "us-east")
    assert second.plan == vpsorg_async.Plan(
        id=2, name="Performance VPS", vcpus=4, memory=8192, storage=160
    )
    assert second.os == vpsorg_async.OperatingSystem(id=3, name="Debian 12")
    assert second.updated_at == at(16, 8, 45)


def test_create_example_decodes() -> None:
    created = decode(deepcopy(examples.CREATE_RESPONSE), vpsorg_async.CreatedServer)
    assert created.id == 12347
    assert created.name == "web-server-02"
    assert created.hostname == "web02.example.com"
    assert created.status is vpsorg_async.ServerStatus.PROVISIONING
    assert created.ip_address is None
    assert created.backups_enabled is True
    assert created.message == "Server is being provisioned. This may take 2-5 minutes."
    assert created.created_at == created.updated_at == at(16, 15, 30)
    assert isinstance(created, vpsorg_async.Server)


def test_detail_example_decodes() -> None:
    detail = decode(deepcopy(examples.DETAIL_RESPONSE), vpsorg_async.ServerDetail)
    assert detail.ipv6_address == "2001:0db8::1"
    assert detail.plan == vpsorg_async.PlanDetail(
        id=1, name="Standard VPS", vcpus=2, memory=4096, storage=80, bandwidth=2048
    )
    assert detail.backups_enabled is True
    assert detail.resource_usage == vpsorg_async.ResourceUsage(
        cpu_percent=23.5, memory_used=2048, disk_used=35, bandwidth_used=450
    )
    assert detail.status is vpsorg_async.ServerStatus.ACTIVE
    assert detail.updated_at == at(16, 15, 45)


@pytest.mark.parametrize(
    ("text", "message", "status"),
    [
        (examples.START_RESPONSE, "Server is starting", vpsorg_async.ServerStatus.STARTING),
        (examples.STOP_RESPONSE, "Server is stopping", vpsorg_async.ServerStatus.STOPPING),
        (examples.REBOOT_RESPONSE, "Server is rebooting", vpsorg_async.ServerStatus.REBOOTING),
    ],
)
def test_action_examples_decode(text: str, message: str, status: vpsorg_async.ServerStatus) -> None:
    result = decode(deepcopy(text), vpsorg_async.ActionResult)
    assert result == vpsorg_async.ActionResult(
        status="success",
        message=message,
        server=vpsorg_async.ActionServer(id=12345, name="web-server-01", status=status),
    )
    assert result.server.status is status


def test_timestamps_are_timezone_aware_utc() -> None:
    detail = decode(deepcopy(examples.DETAIL_RESPONSE), vpsorg_async.ServerDetail)
    for stamp in (detail.created_at, detail.updated_at):
        assert stamp.tzinfo is not None
        assert stamp.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-10T14:30:00Z", datetime(2025, 1, 10, 14, 30, tzinfo=UTC)),
        ("2025-01-10T14:30:00.123456Z", datetime(2025, 1, 10, 14, 30, 0, 123456, tzinfo=UTC)),
        ("2025-01-10T14:30:00+00:00", datetime(2025, 1, 10, 14, 30, tzinfo=UTC)),
        # a naive stamp is read as UTC (the API documents UTC), never left naive
        ("2025-01-10T14:30:00", datetime(2025, 1, 10, 14, 30, tzinfo=UTC)),
        (
            "2025-01-10T16:30:00+02:00",
            datetime(2025, 1, 10, 16, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
    ],
)
def test_timestamp_forms(text: str, expected: datetime) -> None:
    data = deepcopy(examples.DETAIL_RESPONSE)
    data["created_at"] = text
    stamp = decode(data, vpsorg_async.ServerDetail).created_at
    assert stamp == expected
    assert stamp.utcoffset() == expected.utcoffset()


# --- statuses -----------------------------------------------------------------------------------


def test_status_enum_holds_the_documented_values() -> None:
    assert {s.value for s in vpsorg_async.ServerStatus} == {
        "provisioning",
        "active",
        "starting",
        "stopping",
        "stopped",
        "rebooting",
        "suspended",
    }
    plain: str = vpsorg_async.ServerStatus.ACTIVE  # a StrEnum: usable wherever a str is expected
    assert plain == "active"
    assert str(vpsorg_async.ServerStatus.STOPPED) == "stopped"


@pytest.mark.parametrize("status", list(vpsorg_async.ServerStatus))
def test_transitional_statuses(status: vpsorg_async.ServerStatus) -> None:
    expected = status.value in {"provisioning", "starting", "stopping", "rebooting"}
    assert status.is_transitional is expected


@pytest.mark.parametrize("status", ["migrating", "ACTIVE", ""])
def test_unknown_status_is_kept_as_a_plain_string(status: str) -> None:
    data = deepcopy(examples.DETAIL_RESPONSE)
    data["status"] = status
    detail = decode(data, vpsorg_async.ServerDetail)
    assert detail.status == status
    assert type(detail.status) is str
    action = deepcopy(examples.START_RESPONSE)
    action["server"]["status"] = status
    assert decode(action, vpsorg_async.ActionResult).server.status == status


# --- tolerance: extra fields, optional fields ---------------------------------------------------


def test_extra_fields_are_ignored_at_every_level() -> None:
    data = deepcopy(examples.DETAIL_RESPONSE)
    data["tags"] = ["x"]
    data["plan"]["price"] = {"monthly": 5}
    data["os"]["family"] = "linux"
    data["resource_usage"]["iops"] = 3
    assert decode(data, vpsorg_async.ServerDetail) == decode(
        deepcopy(examples.DETAIL_RESPONSE), vpsorg_async.ServerDetail
    )
    page = deepcopy(examples.LIST_RESPONSE)
    page["results"][0]["new_field"] = None
    page["extra"] = True
    assert decode(page, vpsorg_async.ServerList) == decode(
        deepcopy(examples.LIST_RESPONSE), vpsorg_async.ServerList
    )


def test_optional_fields_may_be_missing_or_null() -> None:
    data = deepcopy(examples.DETAIL_RESPONSE)
    for key in ("ipv6_address", "backups_enabled", "resource_usage"):
        del data[key]
    del data["plan"]["bandwidth"]
    detail = decode(data, vpsorg_async.ServerDetail)
    assert detail.ipv6_address is None
    assert detail.backups_enabled is False
    assert detail.resource_usage is None
    assert detail.plan.bandwidth is None
    data = deepcopy(examples.DETAIL_RESPONSE)
    data.update(hostname=None, ip_address=None, ipv6_address=None, resource_usage=None)
    detail = decode(data, vpsorg_async.ServerDetail)
    assert (detail.hostname, detail.ip_address, detail.resource_usage) == (None, None, None)


def test_pagination_links_are_read() -> None:
    data = deepcopy(examples.LIST_RESPONSE)
    data["next"] = "https://admin.vps.org/api/v1/servers/?page=2"
    data["previous"] = None
    page = decode(data, vpsorg_async.ServerList)
    assert page.next == "https://admin.vps.org/api/v1/servers/?page=2"
    assert page.previous is None


def test_a_whole_number_is_accepted_as_a_float() -> None:
    data = deepcopy(examples.DETAIL_RESPONSE)
    data["resource_usage"]["cpu_percent"] = 23
    usage = decode(data, vpsorg_async.ServerDetail).resource_usage
    assert usage is not None
    assert usage.cpu_percent == 23


# --- failures: missing fields, wrong types, wrong shapes ----------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        ("id",),
        ("name",),
        ("hostname",),
        ("status",),
        ("ip_address",),
        ("location",),
        ("plan",),
        ("os",),
        ("created_at",),
        ("updated_at",),
        ("plan", "vcpus"),
        ("plan", "memory"),
        ("os", "name"),
        ("resource_usage", "disk_used"),
    ],
)
def test_missing_required_field_names_the_field(path: tuple[str, ...]) -> None:
    data = deepcopy(examples.DETAIL_RESPONSE)
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    with pytest.raises(ResponseDecodeError, match=rf"\b{path[-1]}\b") as info:
        decode(data, vpsorg_async.ServerDetail, method="GET", path="/servers/12345/", status=200)
    assert "missing" in str(info.value)
    assert (info.value.method, info.value.path, info.value.status) == (
        "GET",
        "/servers/12345/",
        200,
    )
    assert str(info.value).startswith("GET /servers/12345/ (200): ")


def test_missing_field_in_a_list_item_is_named() -> None:
    data = deepcopy(examples.LIST_RESPONSE)
    del data["results"][1]["location"]
    with pytest.raises(ResponseDecodeError, match="location"):
        decode(data, vpsorg_async.ServerList)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("id", "12345"),
        ("id", True),
        ("id", 12345.0),
        ("id", None),
        ("name", 5),
        ("name", None),
        ("status", 1),
        ("status", None),
        ("status", ["active"]),
        ("created_at", 1736519400),
        ("created_at", "yesterday"),
        ("created_at", None),
        ("backups_enabled", "true"),
        ("backups_enabled", 1),
        ("plan", "Standard VPS"),
        ("plan", [1]),
        ("os", None),
        ("resource_usage", "23%"),
        ("location", {"code": "us-west"}),
    ],
)
def test_wrong_types_raise_decode_errors(key: str, value: Any) -> None:
    data = deepcopy(examples.DETAIL_RESPONSE)
    data[key] = value
    with pytest.raises(ResponseDecodeError, match=key):
        decode(data, vpsorg_async.ServerDetail)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("plan", "memory"), "4096"),
        (("plan", "memory"), 4096.5),
        (("plan", "bandwidth"), "2048"),
        (("resource_usage", "cpu_percent"), "23.5"),
        (("resource_usage", "cpu_percent"), True),
        (("os", "id"), False),
    ],
)
def test_wrong_nested_types_raise_decode_errors(path: tuple[str, str], value: Any) -> None:
    data = deepcopy(examples.DETAIL_RESPONSE)
    data[path[0]][path[1]] = value
    with pytest.raises(ResponseDecodeError, match=path[1]):
        decode(data, vpsorg_async.ServerDetail)


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ([], vpsorg_async.ServerDetail),
        ("not an object", vpsorg_async.ServerDetail),
        (None, vpsorg_async.ServerList),
        (42, vpsorg_async.ActionResult),
        ([deepcopy(examples.DETAIL_RESPONSE)], vpsorg_async.ServerDetail),
    ],
)
def test_a_body_that_is_not_an_object(data: Any, cls: type[Any]) -> None:
    with pytest.raises(ResponseDecodeError, match=f"expected a JSON object for {cls.__name__}"):
        decode(data, cls)


@pytest.mark.parametrize("results", [None, "servers", [1, 2], [None], {"a": {}}, 5])
def test_results_of_the_wrong_shape(results: Any) -> None:
    data = deepcopy(examples.LIST_RESPONSE)
    data["results"] = results
    with pytest.raises(ResponseDecodeError, match="results"):
        decode(data, vpsorg_async.ServerList)


@pytest.mark.parametrize("results", [{}, ""])
def test_an_empty_object_or_string_is_not_an_empty_list(results: Any) -> None:
    data = deepcopy(examples.LIST_RESPONSE)
    data["results"] = results
    with pytest.raises(ResponseDecodeError, match="results"):
        decode(data, vpsorg_async.ServerList)


def test_decode_error_chains_nothing_and_hides_cattrs() -> None:
    data = deepcopy(examples.DETAIL_RESPONSE)
    data["id"] = "x-value-received"
    with pytest.raises(ResponseDecodeError) as info:
        decode(data, vpsorg_async.ServerDetail)
    # cattrs' exceptions quote the value received: neither chained nor left as the context
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert "ServerDetail.id" in str(info.value)
    assert "expected int, got str" in str(info.value)
    assert "x-value-received" not in str(info.value)
    assert str(info.value).startswith("unexpected body: ")  # no method given: no prefix


# --- round trip and request bodies ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("list_servers", vpsorg_async.ServerList),
        ("create_server", vpsorg_async.CreatedServer),
        ("get_server", vpsorg_async.ServerDetail),
        ("start_server", vpsorg_async.ActionResult),
    ],
)
def test_round_trip(name: str, cls: type[Any]) -> None:
    model = decode(deepcopy(EXAMPLES[name]), cls)
    data = converter.unstructure(model)
    assert decode(data, cls) == model


def test_timestamps_unstructure_with_z() -> None:
    detail = decode(deepcopy(examples.DETAIL_RESPONSE), vpsorg_async.ServerDetail)
    assert converter.unstructure(detail)["created_at"] == "2025-01-10T14:30:00Z"


def test_documented_request_bodies_encode_exactly() -> None:
    assert (
        encode_body(vpsorg_async.CreateServer(**examples.CREATE_REQUEST)) == examples.CREATE_REQUEST
    )
    assert (
        encode_body(vpsorg_async.UpdateServer(**examples.UPDATE_REQUEST)) == examples.UPDATE_REQUEST
    )
    assert encode_body(vpsorg_async.PatchServer(**examples.PATCH_REQUEST)) == examples.PATCH_REQUEST


def test_fields_not_given_are_left_out_but_false_is_sent() -> None:
    body = vpsorg_async.CreateServer(name="web-1", plan_id=1, os_id=5, location="us-west")
    assert encode_body(body) == {"name": "web-1", "plan_id": 1, "os_id": 5, "location": "us-west"}
    assert encode_body(vpsorg_async.PatchServer(backups_enabled=False)) == {
        "backups_enabled": False
    }
    assert encode_body(vpsorg_async.PatchServer(hostname="a.example.com", name=None)) == {
        "hostname": "a.example.com"
    }


@pytest.mark.parametrize(
    "model",
    [
        decode(deepcopy(examples.DETAIL_RESPONSE), vpsorg_async.ServerDetail),
        decode(deepcopy(examples.START_RESPONSE), vpsorg_async.ActionResult),
        vpsorg_async.CreateServer(**examples.CREATE_REQUEST),
        vpsorg_async.PatchServer(name="x"),
    ],
)
def test_models_are_frozen_and_slotted(model: Any) -> None:
    field = attrs.fields(type(model))[0].name
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(model, field, None)
    assert not hasattr(model, "__dict__")


# --- request validation --------------------------------------------------------------------------


VALID_CREATE: dict[str, Any] = {"name": "web-1", "plan_id": 1, "os_id": 5, "location": "us-west"}


@pytest.mark.parametrize("name", ["a", "A1", "web-server-01", "x" * 64, "0-0"])
def test_valid_names(name: str) -> None:
    assert vpsorg_async.CreateServer(**{**VALID_CREATE, "name": name}).name == name


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "1-64 letters, digits and hyphens"),
        ("web_server", "letters, digits and hyphens"),
        ("-web", "not starting or ending with a hyphen"),
        ("web-", "not starting or ending with a hyphen"),
        ("x" * 65, "1-64"),
        ("web server", "letters"),
        ("wéb", "letters"),
        ("web\n", "letters"),
        ("web.example", "letters"),
        (5, "must be a string, got int"),
        (None, "must be a string, got NoneType"),
    ],
)
def test_invalid_names(name: Any, rule: str) -> None:
    with pytest.raises(ValidationError) as info:
        vpsorg_async.CreateServer(**{**VALID_CREATE, "name": name})
    assert info.value.param == "name"
    assert rule in info.value.rule
    assert str(info.value).startswith("invalid name: ")
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    "hostname",
    ["web01.example.com", "web01.example.com.", "a.b", "xn--bcher-kva.example", "A-1.B-2.io"],
)
def test_valid_hostnames(hostname: str) -> None:
    assert vpsorg_async.CreateServer(**VALID_CREATE, hostname=hostname).hostname == hostname


@pytest.mark.parametrize(
    "hostname",
    [
        "",
        "localhost",
        "web01",
        "-a.example.com",
        "a-.example.com",
        "a..example.com",
        ".example.com",
        "web_01.example.com",
        "1.2.3.4",
        "x" * 64 + ".com",
        "a." * 126 + "com",
        "web01.example.com/path",
        "exa mple.com",
        5,
        ["web01.example.com"],
    ],
)
def test_invalid_hostnames(hostname: Any) -> None:
    with pytest.raises(ValidationError) as info:
        vpsorg_async.CreateServer(**VALID_CREATE, hostname=hostname)
    assert info.value.param == "hostname"
    assert "fully qualified domain name" in info.value.rule or "string" in info.value.rule


BAD_IDS: list[tuple[Any, str]] = [
    (0, "positive integer, got 0"),
    (-1, "positive integer, got -1"),
    (True, "positive integer, got bool"),
    ("1", "positive integer, got str"),
    (1.0, "positive integer, got float"),
    (None, "positive integer, got NoneType"),
]


@pytest.mark.parametrize(
    ("param", "value", "rule"),
    [
        (param, value, rule)
        for param in ("plan_id", "os_id", "ssh_key_id")
        for value, rule in BAD_IDS
        if not (param == "ssh_key_id" and value is None)  # None: not given, allowed
    ],
)
def test_invalid_ids(param: str, value: Any, rule: str) -> None:
    with pytest.raises(ValidationError) as info:
        vpsorg_async.CreateServer(**{**VALID_CREATE, param: value})
    assert info.value.param == param
    assert rule in info.value.rule


def test_optional_create_fields_accept_none() -> None:
    body = vpsorg_async.CreateServer(
        **VALID_CREATE, hostname=None, ssh_key_id=None, backups_enabled=None
    )
    assert (body.hostname, body.ssh_key_id, body.backups_enabled) == (None, None, None)
    assert vpsorg_async.CreateServer(**VALID_CREATE, ssh_key_id=7).ssh_key_id == 7


@pytest.mark.parametrize("location", ["US-West", "", "us west", "us_west", "-us", "x" * 33, 5])
def test_invalid_locations(location: Any) -> None:
    with pytest.raises(ValidationError) as info:
        vpsorg_async.CreateServer(**{**VALID_CREATE, "location": location})
    assert info.value.param == "location"


@pytest.mark.parametrize("value", ["true", 1, 0, "yes"])
def test_backups_enabled_must_be_a_real_bool(value: Any) -> None:
    with pytest.raises(ValidationError, match="must be True or False") as info:
        vpsorg_async.CreateServer(**VALID_CREATE, backups_enabled=value)
    assert info.value.param == "backups_enabled"
    with pytest.raises(ValidationError):
        vpsorg_async.UpdateServer(name="a", hostname="a.example.com", backups_enabled=value)
    with pytest.raises(ValidationError):
        vpsorg_async.PatchServer(backups_enabled=value)


def test_update_needs_every_field() -> None:
    with pytest.raises(TypeError, match="backups_enabled"):
        vpsorg_async.UpdateServer(name="a", hostname="a.example.com")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="hostname"):
        vpsorg_async.UpdateServer(name="a", hostname=None, backups_enabled=True)  # type: ignore[arg-type]


def test_patch_needs_at_least_one_field() -> None:
    with pytest.raises(ValidationError) as info:
        vpsorg_async.PatchServer()
    assert info.value.param == "name/hostname/backups_enabled"
    assert "at least one field" in info.value.rule
    with pytest.raises(ValidationError, match="name"):
        vpsorg_async.PatchServer(name="bad_name")


def test_request_models_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        vpsorg_async.CreateServer("web-1", 1, 5, "us-west")  # type: ignore[call-arg]


def test_a_non_attrs_target_is_described_too() -> None:
    with pytest.raises(ResponseDecodeError, match=r"expected int, got object @ int"):
        decode({"id": 1}, int)


@pytest.mark.parametrize("value", [None, 0.001, 1, 60.0, float("inf")])
def test_timeouts_accept(value: float | None) -> None:
    check_timeout("timeout", value)


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("-inf"), True, "5", [5]])
def test_timeouts_refuse(value: Any) -> None:
    with pytest.raises(ValidationError, match="positive number of seconds"):
        check_timeout("timeout", value)


def test_only_answer_models_are_decoded() -> None:
    # Each answer model has its finishing pass; anything else is a mistake of the caller's.
    with pytest.raises(TypeError, match="not an answer model: int"):
        decode(5, int)
