"""Request-body validation with Django REST Framework's error shapes.

Each validator returns the cleaned values and a ``{field: [message, ...]}`` dict that is empty
when the body is valid, exactly what DRF answers with a 400.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._catalogue import LOCATIONS, OS_IMAGES, PLANS

__all__ = ["Errors", "parse_body", "validate_create", "validate_update"]

Errors = dict[str, list[str]]

REQUIRED = "This field is required."
NAME_MAX = 64
_NAME = re.compile(r"[A-Za-z0-9-]+")
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_FQDN = re.compile(rf"(?:{_LABEL}\.)+[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]")
_UPDATABLE = ("name", "hostname", "backups_enabled")


class BodyError(Exception):
    """The body is not JSON; ``detail`` is DRF's parse-error text."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def parse_body(raw: bytes) -> object:
    """Decode a JSON body; an empty body is ``{}`` as in DRF. Raises :class:`BodyError`."""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(f"JSON parse error - {exc}") from exc


def _not_a_dict(body: object) -> Errors:
    kind = {list: "list", str: "str", int: "int", float: "float", bool: "bool"}.get(
        type(body), type(body).__name__
    )
    return {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}


def _name(value: object) -> str | list[str]:
    if not isinstance(value, str):
        return ["Not a valid string."]
    if not value:
        return ["This field may not be blank."]
    if len(value) > NAME_MAX:
        return [f"Ensure this field has no more than {NAME_MAX} characters."]
    if not _NAME.fullmatch(value):
        return ["Enter a valid name consisting of letters, numbers or hyphens."]
    return value


def _hostname(value: object) -> str | list[str]:
    if not isinstance(value, str):
        return ["Not a valid string."]
    if not value:
        return ["This field may not be blank."]
    if len(value) > 253 or not _FQDN.fullmatch(value):
        return ["Enter a valid hostname (FQDN)."]
    return value


def _boolean(value: object) -> bool | list[str]:
    if not isinstance(value, bool):
        return ["Must be a valid boolean."]
    return value


def _integer(value: object) -> int | list[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return ["A valid integer is required."]
    return value


def validate_create(body: object) -> tuple[dict[str, Any], Errors]:
    """Validate a create body; unknown plan, OS or location are field errors too."""
    if not isinstance(body, dict):
        return {}, _not_a_dict(body)
    clean: dict[str, Any] = {"hostname": None, "backups_enabled": False}
    errors: Errors = {}

    def check(field: str, result: object) -> None:
        if isinstance(result, list):
            errors[field] = result
        else:
            clean[field] = result

    for field in ("name", "plan_id", "os_id", "location"):
        if field not in body:
            errors[field] = [REQUIRED]
        elif body[field] is None:
            errors[field] = ["This field may not be null."]
    if body.get("name") is not None:
        check("name", _name(body["name"]))
    for field, catalogue, message in (
        ("plan_id", PLANS, "Invalid plan."),
        ("os_id", OS_IMAGES, "Invalid OS."),
    ):
        if body.get(field) is not None:
            number = _integer(body[field])
            check(field, number if isinstance(number, list) or number in catalogue else [message])
    if body.get("location") is not None:
        location = body["location"]
        if not isinstance(location, str):
            errors["location"] = ["Not a valid string."]
        else:
            check("location", location if location in LOCATIONS else ["Invalid location."])
    if body.get("hostname") is not None:
        check("hostname", _hostname(body["hostname"]))
    if body.get("ssh_key_id") is not None:
        ssh_key_id = _integer(body["ssh_key_id"])
        if isinstance(ssh_key_id, list):
            errors["ssh_key_id"] = ssh_key_id
    if "backups_enabled" in body:
        check("backups_enabled", _boolean(body["backups_enabled"]))
    return clean, errors


def validate_update(body: object, *, partial: bool) -> tuple[dict[str, Any], Errors]:
    """Validate a PUT (all of name, hostname, backups_enabled) or PATCH (any subset) body."""
    if not isinstance(body, dict):
        return {}, _not_a_dict(body)
    clean: dict[str, Any] = {}
    errors: Errors = {}
    checks = {"name": _name, "hostname": _hostname, "backups_enabled": _boolean}
    for field in _UPDATABLE:
        if field not in body:
            if not partial:
                errors[field] = [REQUIRED]
            continue
        if body[field] is None:
            errors[field] = ["This field may not be null."]
            continue
        result = checks[field](body[field])
        if isinstance(result, list):
            errors[field] = result
        else:
            clean[field] = result
    return clean, errors
