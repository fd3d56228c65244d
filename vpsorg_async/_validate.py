"""Argument checks run before anything is sent. Each raises ValidationError naming param and rule."""

from __future__ import annotations

import math
import re
from typing import Any

from ._errors import ValidationError
from ._status import ServerStatus

#: A server name: letters, digits and hyphens (the API document's rule), 1-64 characters.
NAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?")
#: One DNS label (RFC 1123): letters, digits, inner hyphens, 1-63 characters.
LABEL_RE = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
#: A datacenter code such as ``us-west``.
LOCATION_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
MAX_HOSTNAME = 253


def _check_matches(param: str, value: Any, pattern: re.Pattern[str], rule: str) -> None:
    """A string that ``pattern`` matches in full; ``rule`` says what it must be."""
    if not isinstance(value, str):
        raise ValidationError(param, f"must be a string, got {type(value).__name__}")
    if not pattern.fullmatch(value):
        raise ValidationError(param, f"must be {rule} (got {value!r})")


def check_name(param: str, value: Any) -> None:
    """A server name: a non-empty string of letters, digits and hyphens (at most 64)."""
    rule = "1-64 letters, digits and hyphens, not starting or ending with a hyphen"
    _check_matches(param, value, NAME_RE, rule)


def check_hostname(param: str, value: Any) -> None:
    """A fully qualified domain name: dot-separated RFC 1123 labels, at least two, 253 at most."""
    if not isinstance(value, str):
        raise ValidationError(param, f"must be a string, got {type(value).__name__}")
    name = value[:-1] if value.endswith(".") else value
    labels = name.split(".")
    if (
        len(name) > MAX_HOSTNAME
        or len(labels) < 2
        or not all(LABEL_RE.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ValidationError(
            param,
            f"must be a fully qualified domain name such as web01.example.com (got {value!r})",
        )


def check_id(param: str, value: Any) -> int:
    """A positive integer id (``bool`` is refused although it is an ``int``); returns a plain int.

    An ``int`` subclass is reduced to its value with ``int.__int__``: its own ``__int__``,
    ``__format__`` or comparisons never reach a path or a query.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(param, f"must be a positive integer, got {type(value).__name__}")
    number = int.__int__(value)
    if number <= 0:
        raise ValidationError(param, f"must be a positive integer, got {number}")
    return number


def check_bool(param: str, value: Any) -> None:
    """A real ``bool``, not a truthy value."""
    if not isinstance(value, bool):
        raise ValidationError(param, f"must be True or False, got {type(value).__name__}")


def check_location(param: str, value: Any) -> None:
    """A datacenter code: lower-case letters, digits and hyphens, e.g. ``us-west``."""
    rule = "a datacenter code of lower-case letters, digits and hyphens"
    _check_matches(param, value, LOCATION_RE, rule)


def check_timeout(param: str, value: Any) -> float | None:
    """None, or a positive number of seconds (NaN refused); returns it.

    ``math.inf`` means no deadline; an int too large for a float is returned as ``math.inf``.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(param, f"must be a positive number of seconds or None, got {value!r}")
    try:
        seconds = float(value)
    except OverflowError:  # an int beyond float range: longer than any deadline
        return math.inf
    if not seconds > 0:  # also refuses NaN
        raise ValidationError(param, f"must be a positive number of seconds or None, got {value!r}")
    return value  # as given: an int stays an int in messages


def check_status(param: str, value: Any) -> str:
    """One of the statuses the API documents (``ServerStatus``), exactly; returns its value.

    A near miss such as ``"ACTIVE"`` or a typo would match no server and silently list nothing,
    or wait forever, so it is refused. (Answers from the API still keep statuses unknown here.)
    """
    if isinstance(value, str) and value in ServerStatus._value2member_map_:
        return str(ServerStatus(value).value)
    known = ", ".join(repr(s.value) for s in ServerStatus)
    raise ValidationError(param, f"must be one of {known} (got {value!r})")


def check_user_agent(param: str, value: Any) -> None:
    """A non-empty header value of printable ASCII: no CR, LF or other control characters."""
    if not isinstance(value, str) or not value:
        raise ValidationError(param, "must be a non-empty string")
    if not (value.isascii() and value.isprintable()):
        raise ValidationError(
            param, "must be printable ASCII: no CR, LF or other control characters"
        )
