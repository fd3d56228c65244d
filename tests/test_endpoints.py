"""The endpoint table is the API document's nine endpoints, and each Client method matches its row."""

from __future__ import annotations

import inspect
import typing
from typing import Any

import attrs
import pytest

from vpsorg_async import (
    ENDPOINTS,
    ActionResult,
    Client,
    CreatedServer,
    CreateServer,
    Endpoint,
    PatchServer,
    ServerDetail,
    ServerList,
    UpdateServer,
)

# The document's nine endpoints: (method, path below /api/v1, success status), in its order.
DOCUMENT = {
    "list_servers": ("GET", "/servers/", 200),
    "create_server": ("POST", "/servers/", 201),
    "get_server": ("GET", "/servers/{server_id}/", 200),
    "update_server": ("PUT", "/servers/{server_id}/", 200),
    "patch_server": ("PATCH", "/servers/{server_id}/", 200),
    "delete_server": ("DELETE", "/servers/{server_id}/", 204),
    "start_server": ("POST", "/servers/{server_id}/start/", 200),
    "stop_server": ("POST", "/servers/{server_id}/stop/", 200),
    "reboot_server": ("POST", "/servers/{server_id}/reboot/", 200),
}

BODIES = {"create_server": CreateServer, "update_server": UpdateServer, "patch_server": PatchServer}
RESPONSES: dict[str, type[Any] | None] = {
    "list_servers": ServerList,
    "create_server": CreatedServer,
    "get_server": ServerDetail,
    "update_server": ServerDetail,
    "patch_server": ServerDetail,
    "delete_server": None,
    "start_server": ActionResult,
    "stop_server": ActionResult,
    "reboot_server": ActionResult,
}


def test_the_table_is_exactly_the_documents_nine_endpoints() -> None:
    assert list(ENDPOINTS) == list(DOCUMENT)
    for name, (method, path, success) in DOCUMENT.items():
        row = ENDPOINTS[name]
        assert (row.name, row.method, row.path, row.success) == (name, method, path, success)
        assert row.path.endswith("/")


def test_path_and_query_parameters() -> None:
    for row in ENDPOINTS.values():
        expected = ("server_id",) if "{server_id}" in row.path else ()
        assert row.path_params == expected
    # the document's filters, plus DRF's page/page_size for pagination
    assert ENDPOINTS["list_servers"].query_params == ("status", "location", "page", "page_size")
    assert all(row.query_params == () for name, row in ENDPOINTS.items() if name != "list_servers")


def test_bodies_and_responses() -> None:
    for name, row in ENDPOINTS.items():
        assert row.body is BODIES.get(name)
        assert row.response is RESPONSES[name]


def test_body_fields_are_the_documents() -> None:
    assert ENDPOINTS["create_server"].body_fields == (
        "name",
        "plan_id",
        "os_id",
        "location",
        "hostname",
        "ssh_key_id",
        "backups_enabled",
    )
    assert ENDPOINTS["update_server"].body_fields == ("name", "hostname", "backups_enabled")
    assert ENDPOINTS["patch_server"].body_fields == ("name", "hostname", "backups_enabled")
    assert ENDPOINTS["get_server"].body_fields == ()


def test_only_create_is_not_idempotent() -> None:
    assert [name for name, row in ENDPOINTS.items() if not row.idempotent] == ["create_server"]


def test_the_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        ENDPOINTS["extra"] = ENDPOINTS["get_server"]  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        ENDPOINTS["get_server"].method = "POST"  # type: ignore[misc]


# --- each Client method against its row ----------------------------------------------------------


def _options(name: str) -> tuple[str, ...]:
    return ("reconcile", "timeout") if name == "create_server" else ("timeout",)


@pytest.mark.parametrize("name", list(DOCUMENT))
def test_method_signature_matches_its_row(name: str) -> None:
    row = ENDPOINTS[name]
    method = getattr(Client, name)
    assert method.endpoint is row
    assert inspect.iscoroutinefunction(method)
    params = list(inspect.signature(method).parameters.values())
    assert params[0].name == "self"
    params = params[1:]
    names = [p.name for p in params]
    assert sorted(names) == sorted(
        row.path_params + row.query_params + row.body_fields + _options(name)
    )
    assert len(set(names)) == len(names)
    for p in params:
        # path parameters may be positional; everything else is keyword-only
        expected_kind = p.POSITIONAL_OR_KEYWORD if p.name in row.path_params else p.KEYWORD_ONLY
        assert p.kind is expected_kind, p.name


@pytest.mark.parametrize("name", list(DOCUMENT))
def test_method_types_match_its_row(name: str) -> None:
    row = ENDPOINTS[name]
    method = getattr(Client, name)
    hints = typing.get_type_hints(method)
    assert hints["return"] is (row.response or type(None))
    for param in row.path_params:
        assert hints[param] is int
    assert hints["timeout"] == float | None
    if row.body is not None:
        fields = attrs.fields_dict(row.body)
        body_hints = typing.get_type_hints(row.body)
        signature = inspect.signature(method).parameters
        for field in row.body_fields:
            assert hints[field] == body_hints[field], field
            # required in the body model <=> required in the method
            body_required = fields[field].default is attrs.NOTHING
            assert (signature[field].default is inspect.Parameter.empty) is body_required, field
    if name == "create_server":
        assert hints["reconcile"] is bool
        assert inspect.signature(method).parameters["reconcile"].default is False


def test_every_endpoint_method_is_in_the_table() -> None:
    generated = {
        name
        for name, value in vars(Client).items()
        if callable(value) and getattr(value, "endpoint", None) is not None
    }
    assert generated == set(ENDPOINTS)


@pytest.mark.parametrize("name", [*DOCUMENT, "iter_servers", "find_server", "aclose"])
def test_public_methods_have_docstrings(name: str) -> None:
    doc = getattr(Client, name).__doc__
    assert doc
    assert doc.strip()
    assert "NotImplementedError" not in doc


def test_endpoint_is_exported_and_typed() -> None:
    row = ENDPOINTS["get_server"]
    assert isinstance(row, Endpoint)
    assert attrs.has(Endpoint)


def test_every_answer_cap_is_at_least_the_error_cap() -> None:
    # _body.plain_body reads a sized body no larger than ERROR_BODY_BYTES (and the client's cap)
    # without asking its row: that holds only while no row allows less.
    from vpsorg_async import _policy as policy

    assert all(row.max_body >= policy.ERROR_BODY_BYTES for row in ENDPOINTS.values())
