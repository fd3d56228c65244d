"""List filters and optional DRF pagination."""

from __future__ import annotations

import aiohttp
import pytest

from vpsorg_async.testing import ManualClock, Simulator

from .conftest import ACTION
from .helpers import Api


@pytest.fixture
def fleet(sim: Simulator) -> Simulator:
    """Seven servers: the document's two (active), plus known statuses and locations."""
    sim.add_server(name="s1", status="stopped", location="us-east")
    sim.add_server(name="s2", status="suspended", location="eu-central")
    sim.add_server(name="s3", status="stopped", location="us-west")
    sim.add_server(name="s4", status="active", location="eu-central")
    sim.add_server(name="s5", status="active", location="ap-southeast")
    return sim


def names(data: dict[str, object]) -> list[str]:
    results = data["results"]
    assert isinstance(results, list)
    return [item["name"] for item in results]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=stopped", ["s1", "s3"]),
        ("status=suspended", ["s2"]),
        ("location=eu-central", ["s2", "s4"]),
        ("status=active&location=us-east", ["db-server-01"]),
        ("status=activ", []),
        ("status=Active", []),
        (
            "ordering=-id&search=web",
            ["web-server-01", "db-server-01", "s1", "s2", "s3", "s4", "s5"],
        ),
    ],
)
async def test_filters_match_exactly(
    fleet: Simulator, api: Api, query: str, expected: list[str]
) -> None:
    reply = await api.get(f"/servers/?{query}")
    assert reply.status == 200
    assert names(reply.data) == expected
    assert reply.data["count"] == len(expected)
    assert set(reply.data) == {"count", "results"}


async def test_pages_link_to_each_other(fleet: Simulator, api: Api) -> None:
    fleet.page_size = 3
    first = (await api.get("/servers/")).data
    assert (first["count"], first["previous"], len(first["results"])) == (7, None, 3)
    assert first["next"] == f"{fleet.url}/servers/?page=2"
    second = (await api.get("/servers/?page=2")).data
    assert second["previous"] == f"{fleet.url}/servers/"
    assert second["next"] == f"{fleet.url}/servers/?page=3"
    third = (await api.get("/servers/?page=3")).data
    assert (third["next"], third["previous"]) == (None, f"{fleet.url}/servers/?page=2")
    assert names(first) + names(second) + names(third) == names(
        (await api.get("/servers/?page_size=100")).data
    )


async def test_following_next_keeps_the_filters(
    fleet: Simulator, api: Api, session: aiohttp.ClientSession
) -> None:
    fleet.page_size = 1
    url: str | None = f"{fleet.url}/servers/?location=eu-central"
    seen = []
    headers = {"Authorization": f"Bearer {fleet.token}"}
    while url is not None:
        async with session.get(url, headers=headers) as response:
            page = await response.json()
        seen.extend(names(page))
        url = page["next"]
    assert seen == ["s2", "s4"]


async def test_page_size_is_capped_and_bad_values_ignored(fleet: Simulator, api: Api) -> None:
    fleet.page_size = 2
    assert len((await api.get("/servers/?page_size=5")).data["results"]) == 5
    assert len((await api.get("/servers/?page_size=x")).data["results"]) == 2
    assert len((await api.get("/servers/?page_size=0")).data["results"]) == 2
    assert len((await api.get("/servers/?page_size=100000")).data["results"]) == 7


async def test_the_last_page(fleet: Simulator, api: Api) -> None:
    fleet.page_size = 3
    assert names((await api.get("/servers/?page=last")).data) == ["s5"]


@pytest.mark.parametrize("page", ["0", "4", "-1", "two"])
async def test_an_invalid_page_is_404(fleet: Simulator, api: Api, page: str) -> None:
    fleet.page_size = 3
    reply = await api.get(f"/servers/?page={page}")
    assert (reply.status, reply.data) == (404, {"detail": "Invalid page."})


async def test_an_empty_list_has_one_empty_page(api: Api, sim: Simulator) -> None:
    sim.page_size = 10
    reply = await api.get("/servers/?status=stopped")
    assert reply.data == {"count": 0, "next": None, "previous": None, "results": []}


def test_page_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="page_size"):
        Simulator(page_size=0)
    simulator = Simulator(page_size=5)
    with pytest.raises(ValueError, match="page_size"):
        simulator.page_size = -1
    simulator.page_size = None
    assert simulator.page_size is None


async def test_the_list_is_never_stale(clock: ManualClock, fleet: Simulator, api: Api) -> None:
    async def listed(query: str = "") -> dict[str, str]:
        results = (await api.get(f"/servers/?{query}")).data["results"]
        return {item["name"]: item["status"] for item in results}

    assert "renamed" not in await listed()
    assert set(await listed("status=stopped")) == {"s1", "s3"}
    await api.call("PATCH", "/servers/12345/", json_body={"name": "renamed"})
    assert (await listed())["renamed"] == "active"
    await api.post("/servers/12346/stop/")
    assert (await listed())["db-server-01"] == "stopping"
    clock.advance(ACTION)
    assert set(await listed("status=stopped")) == {"s1", "s3", "db-server-01"}
    fleet.add_server(name="late", status="stopped")
    assert "late" in await listed("status=stopped")
    await api.call("DELETE", "/servers/12346/")
    assert "db-server-01" not in await listed()
