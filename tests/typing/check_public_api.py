"""The README quick start as a typed script: ``mypy --strict tests`` checks it, pytest never runs it.

Every annotated assignment below proves that a generated ``Client`` method keeps its declared
return type; every ``# type: ignore[...]`` line is a call mypy MUST reject (``--strict`` turns on
``warn_unused_ignores``, so the check fails if the generated methods ever accept it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import aiohttp

from vpsorg_async import (
    ENDPOINTS,
    ActionResult,
    AmbiguousCreateError,
    APIError,
    Client,
    CreatedServer,
    Endpoint,
    FleetResult,
    RateLimitError,
    RawResponse,
    Server,
    ServerDetail,
    ServerList,
    ServerStatus,
    VPSOrgError,
    fleet,
    waiters,
)


async def quick_start() -> None:
    async with Client() as client:  # token from VPSORG_API_TOKEN, or Client(token=...)
        page: ServerList = await client.list_servers(status="active", location="us-west")
        names: list[str] = [s.name for s in page.results]
        count: int = page.count
        next_page: str | None = page.next
        print(count, names, next_page)
        async for server in client.iter_servers(location="us-west"):
            listed: Server = server
            status: ServerStatus | str = listed.status
            print(status)
        new: CreatedServer = await client.create_server(
            name="web-02",
            plan_id=1,
            os_id=5,
            location="us-west",
            hostname="web02.example.com",
            backups_enabled=True,
        )
        message: str | None = new.message
        detail: ServerDetail = await client.get_server(new.id)
        usage_cpu: float | None = (
            detail.resource_usage.cpu_percent if detail.resource_usage else None
        )
        print(message, usage_cpu)
        updated: ServerDetail = await client.update_server(
            new.id, name="web-03", hostname="web03.example.com", backups_enabled=False
        )
        patched: ServerDetail = await client.patch_server(new.id, name="web-04")
        print(updated, patched)
        result: ActionResult = await client.stop_server(new.id)
        transitional: ServerStatus | str = result.server.status
        print(transitional)
        started: ActionResult = await client.start_server(new.id)
        rebooted: ActionResult = await client.reboot_server(new.id, timeout=30.0)
        print(started, rebooted)
        await client.delete_server(new.id)  # returns None on 204
        found: Server | None = await client.find_server(name="web-04", location="us-west")
        print(found)


async def options_and_errors(http: aiohttp.ClientSession) -> None:
    client = Client(
        "token",
        base_url="https://admin.vps.org/api/v1",
        timeout=30.0,
        max_retries=0,
        session=http,
        rate_limit=5.0,
        max_response_bytes=1_000_000,
    )
    try:
        reconciled: CreatedServer = await client.create_server(
            name="web-05", plan_id=1, os_id=5, location="us-west", reconcile=True, timeout=120
        )
        print(reconciled)
        page: ServerList = await client.list_servers(
            page=2, page_size=50, status=ServerStatus.STOPPED
        )
        print(page)
    except AmbiguousCreateError as exc:
        cause: VPSOrgError = exc.cause
        print(cause)
    except RateLimitError as exc:
        wait: float | None = exc.retry_after
        print(wait)
    except APIError as exc:
        fields: dict[str, list[str]] = exc.field_errors
        request_id: str | None = exc.request_id
        print(exc.status, exc.detail, fields, request_id)
    finally:
        await client.aclose()
    closed: bool = client.closed
    row: Endpoint = ENDPOINTS["get_server"]
    print(closed, row.method, row.path)


def the_methods_are_coroutine_functions(client: Client) -> None:
    call: Coroutine[Any, Any, ServerDetail] = client.get_server(1)
    call.close()
    deleting: Coroutine[Any, Any, None] = client.delete_server(1)
    deleting.close()
    pages: AsyncIterator[Server] = client.iter_servers()
    print(pages)


async def options_views_and_raw_responses(client: Client) -> None:
    fast: Client = client.with_options(timeout=5.0, max_retries=0)
    detail: ServerDetail = await fast.get_server(1)
    stricter: Client = fast.with_options(max_retries=1)
    print(detail, stricter)
    raw: RawResponse[ServerDetail] = await client.with_raw_response.get_server(1)
    status: int = raw.status
    request_id: str | None = raw.request_id
    elapsed: float = raw.elapsed
    content: bytes = raw.content
    parsed: ServerDetail = raw.parse()
    print(status, request_id, elapsed, content, parsed, raw.headers.getall("set-cookie", []))
    listed: RawResponse[ServerList] = await client.with_raw_response.list_servers(page=2)
    created: RawResponse[CreatedServer] = await client.with_raw_response.create_server(
        name="a", plan_id=1, os_id=5, location="us-west"
    )
    updated: RawResponse[ServerDetail] = await client.with_raw_response.update_server(
        1, name="a", hostname="a.example.com", backups_enabled=True
    )
    patched: RawResponse[ServerDetail] = await client.with_raw_response.patch_server(1, name="b")
    deleted: RawResponse[None] = await client.with_raw_response.delete_server(1)
    nothing: None = deleted.parse()
    acted: list[RawResponse[ActionResult]] = [
        await client.with_raw_response.start_server(1),
        await client.with_raw_response.stop_server(1, timeout=3.0),
        await fast.with_raw_response.reboot_server(1),
    ]
    print(listed, created, updated, patched, nothing, acted)
    Client("t", proxy="http://user:pass@proxy.example:3128", trust_env=False)
    Client("t", trust_env=True)


async def calls_mypy_must_reject(client: Client) -> None:
    await client.get_server()  # type: ignore[call-arg]
    await client.get_server("12345")  # type: ignore[arg-type]
    await client.get_server(1, 2)  # type: ignore[call-arg]
    await client.get_server(1, timeout="soon")  # type: ignore[arg-type]
    await client.update_server(1, name="a", hostname="a.example.com")  # type: ignore[call-arg]
    await client.create_server(name="a", plan_id="1", os_id=5, location="x")  # type: ignore[arg-type]
    await client.create_server(name="a", plan_id=1, os_id=5)  # type: ignore[call-arg]
    await client.list_servers(state="active")  # type: ignore[call-arg]
    await client.patch_server(1, backups_enabled="yes")  # type: ignore[arg-type]
    await client.delete_server(1, reconcile=True)  # type: ignore[call-arg]
    wrong: ServerList = await client.get_server(1)  # type: ignore[assignment]
    nothing: ActionResult = await client.delete_server(1)  # type: ignore[assignment, func-returns-value]
    print(wrong, nothing)
    client.with_options(timeout="soon")  # type: ignore[arg-type]
    client.with_options(5.0)  # type: ignore[call-arg]
    client.with_options(retries=1)  # type: ignore[call-arg]
    await client.with_raw_response.get_server("1")  # type: ignore[arg-type]
    await client.with_raw_response.get_server(1, reconcile=True)  # type: ignore[call-arg]
    await client.with_raw_response.iter_servers()  # type: ignore[attr-defined]
    raw_wrong: RawResponse[ServerList] = await client.with_raw_response.get_server(1)  # type: ignore[assignment]
    model_wrong: ServerList = (await client.with_raw_response.get_server(1)).parse()  # type: ignore[assignment]
    not_a_model: ServerDetail = await client.with_raw_response.get_server(1)  # type: ignore[assignment]
    print(raw_wrong, model_wrong, not_a_model)
    Client("t", proxy=3128)  # type: ignore[arg-type]
    Client("t", "https://proxy")  # type: ignore[call-arg]


async def fleet_and_waiter_keywords(client: Client) -> None:
    """The shared keyword declarations check every name and type, as explicit signatures would."""
    started: FleetResult[int] = await fleet.start(client, [1], concurrency=4, timeout=60.0)
    created: FleetResult[str] = await fleet.create(
        client, [], create_lock=client.create_lock, on_progress=lambda event: print(event.key)
    )
    detail: ServerDetail = await waiters.wait_until_active(client, 1, timeout=5.0, jitter=None)
    done: dict[int, waiters.WaitResult] = await waiters.wait_many(
        client, [1], "stopped", location="us-west", failure_statuses=["error"]
    )
    print(started, created, detail, done)


async def keywords_mypy_must_reject(client: Client) -> None:
    await fleet.start(client, [1], concurency=4)  # type: ignore[call-arg]
    await fleet.stop(client, [1], wait="yes")  # type: ignore[arg-type]
    await fleet.reboot(client, [1], create_lock=client.create_lock)  # type: ignore[call-arg]
    await fleet.create(client, [], result=FleetResult[int]())  # type: ignore[arg-type]
    wrong: FleetResult[str] = await fleet.delete(client, [1])  # type: ignore[assignment]
    print(wrong)
    await waiters.wait_until_active(client, 1, failure_statuses=["error"])  # type: ignore[call-arg]
    await waiters.wait_until_stopped(client, 1, timeout="soon")  # type: ignore[arg-type]
    await waiters.wait_for_status(client, 1, "active", location="x")  # type: ignore[call-arg]
    await waiters.wait_many(client, [1], "active", concurrency=2.5)  # type: ignore[arg-type]


if __name__ == "__main__":  # pragma: no cover - a script to read and type-check, not to run
    asyncio.run(quick_start())
