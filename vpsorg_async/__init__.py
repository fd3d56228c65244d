"""vpsorg-async: the asyncio-first client for the VPS.org Servers API.

Quick start::

    async with Client() as client:          # token from $VPSORG_API_TOKEN
        page = await client.list_servers(status="active")

The public surface is this module (``__all__``) plus the ``waiters`` and ``fleet`` modules and the
``vpsorg_async.testing`` simulator. Everything in a module whose name starts with ``_`` is private.
"""

import logging
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
from ._outcome import FleetEvent, FleetResult, Outcome
from ._version import __version__

if TYPE_CHECKING:
    from ._client import Client

# A library leaves where its log goes to the application: without this, Python's last-resort
# handler would print every WARNING (each retry) to stderr of a program that configured nothing.
logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    # ``Client`` pulls in aiohttp, the bulk of the import time; load it on first use so that
    # ``import vpsorg_async`` (models, errors, the endpoint table) stays cheap for scripts.
    if name == "Client":
        from ._client import Client

        globals()["Client"] = Client
        return Client
    raise AttributeError(f"module 'vpsorg_async' has no attribute {name!r}")


__all__ = [
    "ENDPOINTS",
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
    "RequestTimeoutError",
    "ResourceUsage",
    "ResponseDecodeError",
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
]
