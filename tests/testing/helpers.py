"""A thin test client over a plain ``aiohttp.ClientSession`` (the typed client is separate)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDictProxy

from vpsorg_async.testing import Simulator

__all__ = ["USE_SIM_TOKEN", "Api", "Reply"]

USE_SIM_TOKEN = "<the simulator's token>"


@attrs.frozen
class Reply:
    """One answer: status, decoded JSON (``None`` if the body is not JSON), headers, raw body."""

    status: int
    data: Any
    headers: CIMultiDictProxy[str]
    body: bytes


class Api:
    """Calls the simulator with its token, under its base URL."""

    def __init__(self, session: aiohttp.ClientSession, sim: Simulator) -> None:
        self.session = session
        self.sim = sim

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: bytes | None = None,
        token: str | None = USE_SIM_TOKEN,
        root: bool = False,
    ) -> Reply:
        """``method`` ``path`` (under the API base URL, or the root when ``root``)."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = (
                f"Bearer {self.sim.token if token is USE_SIM_TOKEN else token}"
            )
        if json_body is not None:
            data = json.dumps(json_body).encode()
        url = (self.sim.root_url if root else self.sim.url) + path
        async with self.session.request(method, url, data=data, headers=headers) as response:
            body = await response.read()
            try:
                decoded = json.loads(body) if body else None
            except ValueError:
                decoded = None
            return Reply(response.status, decoded, response.headers, body)

    async def get(self, path: str) -> Reply:
        """GET ``path``."""
        return await self.call("GET", path)

    async def post(self, path: str, json_body: Any = None) -> Reply:
        """POST ``path`` with an optional JSON body."""
        return await self.call("POST", path, json_body=json_body)

    async def create(self, **fields: Any) -> Reply:
        """Create a server from the document's example body, overridden by ``fields``."""
        from vpsorg_async.testing.examples import CREATE_REQUEST

        return await self.post("/servers/", {**CREATE_REQUEST, **fields})
