"""Checks of a Client's configuration: the token and the base URL. No I/O.

A message never echoes the token, and never shows the password of a URL with userinfo.
"""

from __future__ import annotations

import ipaddress
import re

import yarl

from ._errors import ConfigurationError, ValidationError
from ._policy import TOKEN_ENV
from ._validate import check_id, check_timeout, check_user_agent

__all__ = [
    "USERINFO",
    "check_base_url",
    "check_settings",
    "check_token",
    "is_loopback",
    "masked",
]

_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
#: The userinfo part of a URL (``user:password@``), masked wherever a URL is quoted.
USERINFO = re.compile(r"(?<=//)[^/?#]*@")


def check_token(token: object) -> str:
    """``token`` if it can be sent as a Bearer token; a ConfigurationError that never echoes it."""
    if not token or not isinstance(token, str):
        raise ConfigurationError(f"no API token: pass Client(token=...) or set {TOKEN_ENV}")
    if not token.isprintable() or not token.isascii() or token != token.strip():
        # Never echo it: the message says what is wrong, not what the token is.
        raise ConfigurationError(
            "the API token contains whitespace, control or non-ASCII characters; "
            "it cannot be sent in an HTTP header"
        )
    return token


def masked(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``."""
    return USERINFO.sub("***@", url)


def check_base_url(url: str) -> None:
    """Refuse a base URL the client cannot use safely; a message never shows a password."""
    if not isinstance(url, str):
        raise ConfigurationError(f"base_url must be a string, got {type(url).__name__}")
    shown = masked(url)
    if USERINFO.search(url):
        raise ConfigurationError(
            f"base_url {shown!r} has a user or password in it; the API authenticates with the "
            "token alone: drop the 'user:password@' part"
        )
    try:
        parsed = yarl.URL(url)
    except (ValueError, TypeError):
        raise ConfigurationError(f"base_url {shown!r} is not a URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {shown!r}")
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise ConfigurationError(
            f"base_url {shown!r} uses plain http to a non-loopback host; the token would travel "
            "in clear text. Use https (plain http is allowed only for loopback simulators)."
        )


def is_loopback(host: str) -> bool:
    """True for a loopback host name or address (a local simulator may use plain http)."""
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_settings(
    *,
    timeout: object,
    max_retries: object,
    rate_limit: object,
    max_connections: object,
    max_response_bytes: object,
    user_agent: object,
    paced: bool,
    coordinated: bool,
) -> tuple[float, float | None]:
    """Check a Client's numbers and how it is paced; return its timeout and its rate limit.

    Raises:
        ValidationError: naming the parameter and the rule it breaks.
    """
    seconds = check_timeout("timeout", timeout)
    if seconds is None:
        raise ValidationError("timeout", "must be a positive number of seconds, not None")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValidationError("max_retries", "must be an integer >= 0")
    rate = check_timeout("rate_limit", rate_limit)  # same rule: a positive number
    if paced and rate is not None:
        raise ValidationError("rate_limit", "give either rate_limit or pacer, not both")
    if paced and coordinated:
        raise ValidationError("pacer", "give either a pacer or a coordinator, not both")
    check_id("max_connections", max_connections)
    check_id("max_response_bytes", max_response_bytes)
    if user_agent is not None:
        check_user_agent("user_agent", user_agent)
    return float(seconds), rate
