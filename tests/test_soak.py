"""The fault soak at CI size (300 servers); ``make soak`` runs the large one."""

from __future__ import annotations

from soak import run_soak


async def test_fleet_survives_the_fault_soak() -> None:
    report = await run_soak(servers=300, seed=11)
    print(report.summary())  # pytest -s shows the fault counts it survived
    assert report.problems == []
    assert report.duplicates == {}
    assert report.unknown_servers == []
    assert report.pending_tasks == 0
    # The soak must really have been faulty, or it proves nothing.
    for kind in ("error_500", "error_502", "error_503", "throttle", "drop_before", "drop_after"):
        assert report.faults.get(kind, 0) > 0, f"no {kind} fault was injected"
    for name in ("create", "stop", "start", "reboot", "delete"):
        assert len(report.phases[name].outcomes) == 300
        assert report.phases[name].ok, report.summary()
