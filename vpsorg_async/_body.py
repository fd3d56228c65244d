"""How much of an answer is read: each endpoint's cap, error bodies cut, compressed ones streamed.

A success body over its endpoint's cap (``Endpoint.max_body``) is refused with
``ResponseDecodeError``, unread when its ``Content-Length`` says so; an error body is read up to
``ERROR_BODY_BYTES`` and cut there (its status still says what went wrong); the client's
``max_response_bytes`` caps both.
"""

from __future__ import annotations

import aiohttp
from aiohttp import hdrs

from . import _policy as policy
from ._endpoints import Endpoint
from ._errors import ResponseDecodeError

__all__ = ["arrived", "cap", "plain_body", "read_capped"]


def cap(row: Endpoint, status: int, max_body: int) -> int:
    """How much of a body is read: the row's cap for its answer, ``ERROR_BODY_BYTES`` for
    anything else, and never more than the client's ``max_response_bytes``."""
    own = row.max_body if status == row.success else policy.ERROR_BODY_BYTES
    return min(own, max_body)


def plain_body(resp: aiohttp.ClientResponse, row: Endpoint, path: str, max_body: int) -> bool:
    """True when ``resp.read()`` is safe: a sized, uncompressed body within the cap.

    An answer over its cap is refused unread; an error body over its cap is streamed and
    cut (its status still says what went wrong).
    """
    headers = resp.headers
    sized = headers.get(hdrs.CONTENT_LENGTH)  # checked by aiohttp's parser: digits only
    if sized is None:
        return False
    length = int(sized)
    if length <= policy.ERROR_BODY_BYTES and length <= max_body:  # within every cap: most bodies
        return hdrs.CONTENT_ENCODING not in headers
    limit = cap(row, resp.status, max_body)
    if length > limit:
        if resp.status != row.success:
            return False
        raise ResponseDecodeError(
            f"body of {length} bytes exceeds the {limit}-byte cap",
            method=row.method, path=path, status=resp.status,
        )  # fmt: skip
    return hdrs.CONTENT_ENCODING not in headers


def arrived(resp: aiohttp.ClientResponse) -> bytes:
    """The whole body if it has already arrived (a small answer comes with its headers), taken
    without awaiting; empty when it is still on its way (``await resp.read()`` then).

    ``resp.read()`` makes five coroutines even for a body that is already here (its own, the
    stream's ``read``, two ``readany`` and ``_wait_released``); on every small answer that was
    more than the rest of the body handling. Only for a body ``plain_body`` let through.
    """
    content = resp.content
    return content.read_nowait() if content.is_eof() else b""


async def read_capped(
    resp: aiohttp.ClientResponse, row: Endpoint, path: str, max_body: int
) -> bytes:
    """Stream a compressed, unsized or cut body under the cap: Content-Length counts
    compressed bytes, and a small gzip body can inflate far past it. An answer over the cap
    is refused; an error body is cut one byte past it (the connection is not reused)."""
    limit = cap(row, resp.status, max_body)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            if resp.status != row.success:
                chunks.append(chunk[: len(chunk) - (size - limit) + 1])
                break
            raise ResponseDecodeError(
                f"body exceeds the {limit}-byte cap",
                method=row.method, path=path, status=resp.status,
            )  # fmt: skip
        chunks.append(chunk)
    return b"".join(chunks)
