"""Fault injection: what can go wrong, how often, and the seeded dice that decide it.

One uniform draw per request picks at most one of: drop before acting, a 5xx answer, a random
429, or drop after acting (the rates are stacked, so they must sum to at most 1). The per-token
rate limit and the added latency are independent of that draw.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

from ._timing import Clock

__all__ = ["ENDPOINTS", "FaultInjector", "Faults", "Roll"]

ENDPOINTS: tuple[str, ...] = (
    "list_servers",
    "create_server",
    "get_server",
    "update_server",
    "patch_server",
    "delete_server",
    "start_server",
    "stop_server",
    "reboot_server",
)

DropStyle = Literal["close", "reset"]
# What the one draw per request decided.
Roll = Literal["none", "drop_before", "error", "throttle", "drop_after"]


def _rate(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be within [0, 1], got {value}")


def _latency(value: Iterable[float]) -> tuple[float, float]:
    low, high = (float(v) for v in value)
    if not 0.0 <= low <= high:
        raise ValueError(f"latency must be (min, max) with 0 <= min <= max, got {value!r}")
    return (low, high)


def _endpoints(value: Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    names = frozenset([value] if isinstance(value, str) else value)
    unknown = names - set(ENDPOINTS)
    if unknown:
        raise ValueError(f"unknown endpoint names {sorted(unknown)}; known: {list(ENDPOINTS)}")
    return names


def _statuses(value: Iterable[int]) -> tuple[int, ...]:
    statuses = tuple(int(v) for v in value)
    if not statuses or any(not 500 <= s <= 599 for s in statuses):
        raise ValueError(f"error_statuses must be 5xx codes, got {statuses!r}")
    return statuses


@attrs.frozen(kw_only=True)
class Faults:
    """What goes wrong, and how often. All rates are probabilities per request.

    Attributes:
        error_rate: chance of a 5xx answer, its status drawn from ``error_statuses``.
            500 answers Django's HTML error page, 502/503 an nginx-style HTML page;
            503 carries ``Retry-After: retry_after``.
        error_statuses: the 5xx statuses to draw from.
        throttle_rate: chance of a 429 with ``Retry-After: retry_after``.
        retry_after: seconds sent in ``Retry-After`` by random 429 and 503 answers.
        rate_limit: requests per second allowed per token (token bucket, refilled on the
            simulator's clock), ``None`` for no limit; past it the answer is 429 with
            ``Retry-After`` (whole seconds, >= 1).
        burst: bucket size for ``rate_limit``; defaults to ``max(1, ceil(rate_limit))``.
        latency: ``(min, max)`` seconds of real delay added before answering.
        drop_before_rate: chance the connection is cut and the request NOT applied.
        drop_after_rate: chance the request IS applied and the connection then cut.
        drop_style: ``"close"`` (FIN: aiohttp raises ``ServerDisconnectedError``) or
            ``"reset"`` (RST: ``ClientOSError``, connection reset by peer).
        endpoints: names of the endpoints these faults apply to; ``None`` for all nine.
    """

    error_rate: float = attrs.field(default=0.0, validator=_rate)
    error_statuses: tuple[int, ...] = attrs.field(default=(500, 502, 503), converter=_statuses)
    throttle_rate: float = attrs.field(default=0.0, validator=_rate)
    retry_after: int = attrs.field(default=1, validator=attrs.validators.ge(0))
    rate_limit: float | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.gt(0))
    )
    burst: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.ge(1))
    )
    latency: tuple[float, float] = attrs.field(default=(0.0, 0.0), converter=_latency)
    drop_before_rate: float = attrs.field(default=0.0, validator=_rate)
    drop_after_rate: float = attrs.field(default=0.0, validator=_rate)
    drop_style: DropStyle = attrs.field(
        default="close", validator=attrs.validators.in_(("close", "reset"))
    )
    endpoints: frozenset[str] | None = attrs.field(default=None, converter=_endpoints)

    def __attrs_post_init__(self) -> None:
        if self.drop_before_rate + self.error_rate + self.throttle_rate + self.drop_after_rate > 1:
            raise ValueError("drop_before, error, throttle and drop_after rates must sum to <= 1")

    @property
    def active(self) -> bool:
        """Whether these faults can change anything at all."""
        return bool(
            self.drop_before_rate
            or self.error_rate
            or self.throttle_rate
            or self.drop_after_rate
            or self.rate_limit is not None
            or self.latency[1] > 0
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict that :meth:`from_dict` reads back."""
        data = attrs.asdict(self)
        data["error_statuses"] = list(self.error_statuses)
        data["latency"] = list(self.latency)
        data["endpoints"] = None if self.endpoints is None else sorted(self.endpoints)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Faults:
        """Build faults from JSON; raises ``TypeError``/``ValueError`` on bad input."""
        known = {a.name for a in attrs.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        return cls(**data)


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float, stamp: float) -> None:
        self.tokens = tokens
        self.stamp = stamp


class FaultInjector:
    """Holds the current :class:`Faults` and the seeded dice and token buckets behind them."""

    def __init__(self, faults: Faults, *, seed: int, clock: Clock) -> None:
        """Start with ``faults``; ``seed`` makes every decision reproducible."""
        self._rng = random.Random(f"faults-{seed}")
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self.faults = faults

    @property
    def faults(self) -> Faults:
        """The faults in force; assigning new ones also refills the rate-limit buckets."""
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._faults = faults
        self._buckets.clear()
        self._by_endpoint = {
            name: faults
            if faults.active and (faults.endpoints is None or name in faults.endpoints)
            else None
            for name in ENDPOINTS
        }

    def for_endpoint(self, endpoint: str) -> Faults | None:
        """The faults that apply to ``endpoint``, or ``None`` when nothing can go wrong."""
        return self._by_endpoint[endpoint]

    def rate_limited(self, faults: Faults, token: str) -> int | None:
        """Take a token from ``token``'s bucket; return Retry-After seconds if it is empty."""
        rate = faults.rate_limit
        if rate is None:
            return None
        capacity = faults.burst or max(1, math.ceil(rate))
        now = self._clock()
        bucket = self._buckets.get(token)
        if bucket is None:
            bucket = self._buckets[token] = _Bucket(float(capacity), now)
        bucket.tokens = min(float(capacity), bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / rate))

    def latency(self, faults: Faults) -> float:
        """Seconds of delay to add to this answer."""
        low, high = faults.latency
        return self._rng.uniform(low, high) if high > low else low

    def roll(self, faults: Faults) -> Roll:
        """Draw what happens to this request."""
        x = self._rng.random()
        stacked: tuple[tuple[Roll, float], ...] = (
            ("drop_before", faults.drop_before_rate),
            ("error", faults.error_rate),
            ("throttle", faults.throttle_rate),
            ("drop_after", faults.drop_after_rate),
        )
        for kind, rate in stacked:
            if x < rate:
                return kind
            x -= rate
        return "none"

    def error_status(self, faults: Faults) -> int:
        """Draw the status of a 5xx answer."""
        statuses = faults.error_statuses
        return statuses[0] if len(statuses) == 1 else self._rng.choice(statuses)
