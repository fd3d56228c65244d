"""The public faces introduce themselves: what ``dir`` and ``help`` show, what loads lazily, and
what ``waiters`` and ``fleet`` export."""

from __future__ import annotations

import json
import pydoc
import re
import subprocess
import sys
import types
from datetime import UTC, datetime

import vpsorg_async
from vpsorg_async import FleetResult, Outcome, fleet, to_jsonable, waiters


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return result.stdout.strip()


def test_dir_and_help_list_the_lazy_names_before_first_use() -> None:
    shown = _run(
        "import sys, vpsorg_async\n"
        "names = dir(vpsorg_async)\n"
        "print(all(n in names for n in ('Client', 'fleet', 'waiters', 'to_jsonable', 'Outcome')),"
        " 'vpsorg_async._client' in sys.modules, 'vpsorg_async.fleet' in sys.modules)"
    )
    assert shown == "True False False"  # listed, and still not imported
    text = re.sub(".\b", "", pydoc.render_doc(vpsorg_async))  # as help() shows it, unbolded
    assert "class Client" in text
    assert "FleetResult" in text


def test_fleet_and_waiters_resolve_as_attributes_on_first_use() -> None:
    shown = _run(
        "import sys, vpsorg_async\n"
        "before = 'vpsorg_async.fleet' in sys.modules, 'vpsorg_async.waiters' in sys.modules\n"
        "print(before, vpsorg_async.fleet.start.__name__, vpsorg_async.waiters.wait_many.__name__)"
    )
    assert shown == "(False, False) start wait_many"


def test_the_fleet_types_of_the_package_are_the_fleets() -> None:
    assert vpsorg_async.FleetResult is fleet.FleetResult is FleetResult
    assert vpsorg_async.Outcome is fleet.Outcome is Outcome
    assert vpsorg_async.FleetEvent is fleet.FleetEvent


#: What the waiters' face keeps importable but leaves out of ``__all__``: machinery, not calls.
WAITER_MACHINERY = {"half_jitter", "Verdict", "WatcherStats", "SWEEP_PAGE_SIZE"}


def test_waiters_export_what_users_call_and_keep_the_machinery_importable() -> None:
    public = {
        name
        for name, value in vars(waiters).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"  # the __future__ import's feature object
    }
    assert set(waiters.__all__) == public - WAITER_MACHINERY
    assert public > WAITER_MACHINERY  # importable, and not in __all__ (above)
    calls = {"wait_for_status", "wait_many", "wait_until_active", "wait_until_deleted"}
    assert calls | {"wait_until_stopped", "StatusWatcher", "WaitResult", "WAITERS"} <= public
    for face in (waiters, fleet):
        for name in face.__all__:
            assert hasattr(face, name), name


def test_to_jsonable_gives_data_json_takes() -> None:
    result: FleetResult[int] = FleetResult("start", {}, 1)
    result.outcomes[7] = Outcome(7, False, error=None)
    data = to_jsonable(result)
    assert json.loads(json.dumps(data))["outcomes"]["7"]["key"] == 7
    assert to_jsonable(datetime(2024, 1, 2, tzinfo=UTC)) == "2024-01-02T00:00:00Z"
