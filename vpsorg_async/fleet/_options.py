"""``FleetOptions``: the settings of one fleet call, checked once by the public function.

The five fleet functions keep their explicit keyword signatures (users and mypy rely on them);
each builds one :class:`FleetOptions` and hands it to the runner, which reads it from there.
"""

from __future__ import annotations

import attrs

from .. import _policy as policy
from .._errors import ValidationError
from .._seams import CreateLock, StatusSource
from .._validate import check_id
from ..waiters._schedule import Polling

__all__ = ["FleetOptions"]


def _flag(instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(attribute.name, f"must be True or False, got {value!r}")


def _concurrency(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    check_id(attribute.name, value)


def _coalesce(instance: object, attribute: attrs.Attribute[bool | None], value: object) -> None:
    if value is not None and not isinstance(value, bool):
        raise ValidationError(attribute.name, f"must be True, False or None, got {value!r}")


@attrs.frozen(kw_only=True)
class FleetOptions:
    """How one fleet call runs.

    Attributes:
        polling: the deadline of the whole call (``timeout``, waits included) and the waiting
            schedule (``poll_interval``, ``max_poll_interval``).
        concurrency: requests in flight at once, actions and polls together.
        wait: also wait until each server reaches the goal.
        coalesce: how the shared watcher polls (None: by cost each tick).
        fail_fast: stop at the first failure.
        status_source: where the watcher's statuses come from (None: the API, by the watcher).
        create_lock: excludes other creators of a name while ``create`` decides on it (None:
            the client's, which its reconciling creates hold too).
    """

    polling: Polling = attrs.field(factory=lambda: Polling(policy.DEFAULT_FLEET_TIMEOUT))
    concurrency: int = attrs.field(default=policy.DEFAULT_CONCURRENCY, validator=_concurrency)
    wait: bool = attrs.field(default=True, validator=_flag)
    coalesce: bool | None = attrs.field(default=None, validator=_coalesce)
    fail_fast: bool = attrs.field(default=False, validator=_flag)
    status_source: StatusSource | None = None
    create_lock: CreateLock | None = None
