"""The proxy a client sends through: ``Client(proxy=...)`` or, with ``trust_env=True``, the
environment's (``HTTPS_PROXY``/``HTTP_PROXY``, minus ``NO_PROXY``). Pure checks, no I/O.

The token must never travel in clear text to a proxy:

* For an ``https`` API, aiohttp opens a ``CONNECT`` tunnel through the proxy and speaks TLS to the
  API inside it; the ``CONNECT`` request carries only ``Host`` (and ``Proxy-Authorization``), so
  even a plain-``http`` proxy sees the token encrypted (``tests/test_proxy.py`` proves it with a
  recording proxy).
* For a plain-``http`` API (allowed for loopback simulators only), the request itself goes to the
  proxy in clear, ``Authorization`` header and all: so the proxy must be on loopback too.

The environment is read once, when the client is made, with the rules aiohttp's ``trust_env``
uses (``urllib.request.getproxies`` and ``proxy_bypass``). One lookup is exact: every request of a
client goes to the one origin of its base URL (``next`` links elsewhere are refused). aiohttp's own
``trust_env`` is not switched on: it would look the proxy up again on every request, in a thread,
and read ``~/.netrc`` for the API's host, whose password would replace the Bearer token.

A proxy URL may carry ``user:password@``; aiohttp sends it as ``Proxy-Authorization``, and no
message of this module shows the password.
"""

from __future__ import annotations

import urllib.request

import yarl

from ._config import is_loopback, masked
from ._errors import ConfigurationError
from ._validate import check_bool

__all__ = ["resolve_proxy"]


def resolve_proxy(
    proxy: object, *, trust_env: object, base_url: str, borrowed: bool
) -> yarl.URL | None:
    """The proxy for every request to ``base_url``, or None; refuses an unsafe setup.

    An explicit ``proxy`` wins over the environment. ``borrowed``: the caller passes its own
    aiohttp session, whose proxy settings stay its own.

    Raises:
        ConfigurationError: a proxy URL that is not ``http(s)://host[:port]``, a proxy for a
            borrowed session, or a plain-http API behind a non-loopback proxy.
        ValidationError: ``trust_env`` is not a bool.
    """
    check_bool("trust_env", trust_env)
    if proxy is None and not trust_env:
        return None
    if borrowed:
        raise ConfigurationError(
            "proxy and trust_env configure the session the client opens; a borrowed session "
            "keeps its own: pass them to aiohttp.ClientSession(proxy=..., trust_env=...) instead"
        )
    target = yarl.URL(base_url)
    if proxy is None:
        found = _from_env(target)
        if found is None:
            return None
        url, source = found, "the environment's proxy"
    else:
        url, source = _parse(proxy), "proxy"
    if target.scheme == "http" and not is_loopback(url.host or ""):
        raise ConfigurationError(
            f"{source} {masked(str(url))!r} is not on loopback, and the plain-http base URL would "
            "send the token to it in clear text; use an https base URL (tunnelled through the "
            "proxy) or a loopback proxy"
        )
    return url


def _parse(proxy: object) -> yarl.URL:
    if not isinstance(proxy, str | yarl.URL):
        raise ConfigurationError(f"proxy must be a URL string, got {type(proxy).__name__}")
    shown = masked(str(proxy))
    try:
        url = yarl.URL(proxy)
    except (ValueError, TypeError):
        raise ConfigurationError(f"proxy {shown!r} is not a URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"proxy must be an http:// or https:// URL with a host, got {shown!r}"
        )
    if url.path not in ("", "/") or url.query_string or url.fragment:
        raise ConfigurationError(f"proxy must be scheme://host[:port] only, got {shown!r}")
    return url


def _from_env(target: yarl.URL) -> yarl.URL | None:
    """The environment's proxy for ``target``'s scheme, unless ``NO_PROXY`` exempts its host."""
    if target.host is not None and urllib.request.proxy_bypass(target.host):
        return None
    value = urllib.request.getproxies().get(target.scheme)
    if not value:
        return None
    if "://" not in value:  # "proxy:3128" is common in the environment; curl reads it as http
        value = f"http://{value}"
    return _parse(value)
