"""vpsorg-async: the asyncio-first client for the VPS.org Servers API.

Quick start::

    async with Client() as client:          # token from $VPSORG_API_TOKEN
        page = await client.list_servers(status="active")

The public surface is this module (``__all__``) plus the ``waiters`` and ``fleet`` packages and
the ``vpsorg_async.testing`` simulator. Everything in a module whose name starts with ``_`` is
private. The layers, and which way imports go, are drawn in ARCHITECTURE.md::

    cli -> fleet -> waiters -> Client (endpoint table) -> session -> aiohttp
    models, errors and policy are leaves; testing (the simulator) stands apart

``import vpsorg_async`` is cheap: ``Client`` (aiohttp), ``waiters``, ``fleet`` (and the fleet
types re-exported here) and ``to_jsonable`` load on first use.
"""

import logging
import os
from typing import TYPE_CHECKING, Any

from ._endpoints import ENDPOINTS, Endpoint
from ._errors import (
    AmbiguousCreateError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    FleetAbortedError,
    FleetError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerError,
    StrayAnswerError,
    TLSCertificateError,
    TransportError,
    ValidationError,
    VPSOrgError,
    WaiterError,
    WaiterFailedError,
    WaiterTimeoutError,
)
from ._events import Events, RequestEvent, ResponseEvent, RetryEvent
from ._logenv import log_to_stderr
from ._models import (
    ActionResult,
    ActionServer,
    CreatedServer,
    CreateServer,
    OperatingSystem,
    PatchServer,
    Plan,
    PlanDetail,
    ResourceUsage,
    Server,
    ServerDetail,
    ServerList,
    ServerStatus,
    UpdateServer,
)
from ._policy import BASE_URL_ENV, DEFAULT_BASE_URL, LOG_ENV, TOKEN_ENV
from ._version import __version__

if TYPE_CHECKING:
    from . import fleet as fleet
    from . import waiters as waiters
    from ._client import Client
    from ._convert import to_jsonable
    from ._raw import RawResponse
    from .fleet import FleetEvent, FleetResult, Outcome

# A library leaves where its log goes to the application: without this, Python's last-resort
# handler would print every WARNING (each retry) to stderr of a program that configured nothing.
logging.getLogger(__name__).addHandler(logging.NullHandler())
# ...unless the user asks, with VPSORG_LOG=debug (info, warning, error): read once, here.
log_to_stderr(os.environ.get(LOG_ENV))


#: Names this module hands out on first use, not at import: ``Client`` pulls in aiohttp (the bulk
#: of the import time), the rest the waiters and fleets; ``import vpsorg_async`` (models, errors,
#: the endpoint table) stays cheap for scripts and for ``vpsorg --help``.
_LAZY = (
    "Client",
    "FleetEvent",
    "FleetResult",
    "Outcome",
    "RawResponse",
    "fleet",
    "to_jsonable",
    "waiters",
)


def __getattr__(name: str) -> Any:
    # ``import a.b as c``, not ``from . import b``: the latter asks this very function for ``b``
    # before importing it, and would never end
    value: Any
    if name == "Client":
        from ._client import Client as value
    elif name in ("FleetEvent", "FleetResult", "Outcome"):
        import vpsorg_async.fleet as fleet

        value = getattr(fleet, name)
    elif name == "fleet":
        import vpsorg_async.fleet as value
    elif name == "waiters":
        import vpsorg_async.waiters as value
    elif name == "to_jsonable":
        from ._convert import to_jsonable as value
    elif name == "RawResponse":
        from ._raw import RawResponse as value
    else:
        raise AttributeError(f"module 'vpsorg_async' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    # dir() and help() list the lazy names too, before anything asked for them
    return sorted({*globals(), *_LAZY})


__all__ = [
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "ENDPOINTS",
    "TOKEN_ENV",
    "APIError",
    "ActionResult",
    "ActionServer",
    "AmbiguousCreateError",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "CreateServer",
    "CreatedServer",
    "Endpoint",
    "Events",
    "FleetAbortedError",
    "FleetError",
    "FleetEvent",
    "FleetResult",
    "NotFoundError",
    "OperatingSystem",
    "Outcome",
    "PatchServer",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "Plan",
    "PlanDetail",
    "RateLimitError",
    "RawResponse",
    "RequestEvent",
    "RequestTimeoutError",
    "ResourceUsage",
    "ResponseDecodeError",
    "ResponseEvent",
    "RetryEvent",
    "Server",
    "ServerDetail",
    "ServerError",
    "ServerList",
    "ServerStatus",
    "StrayAnswerError",
    "TLSCertificateError",
    "TransportError",
    "UpdateServer",
    "VPSOrgError",
    "ValidationError",
    "WaiterError",
    "WaiterFailedError",
    "WaiterTimeoutError",
    "__version__",
    "to_jsonable",
]
