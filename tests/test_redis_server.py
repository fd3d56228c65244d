"""The test Redis: a real server the tests start and stop themselves."""

from __future__ import annotations

import socket

import pytest
from redis_server import RedisServer, redis_binary

pytestmark = pytest.mark.skipif(redis_binary() is None, reason="no redis-server")


def _ping(port: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), 2) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64)


def test_it_starts_answers_and_stops_by_pid() -> None:
    with RedisServer() as server:
        assert _ping(server.port) == b"+PONG\r\n"
        pid = server.pid
        assert pid is not None
    with pytest.raises(ConnectionRefusedError):
        _ping(server.port)


def test_a_restart_keeps_the_port_and_forgets_the_data() -> None:
    with RedisServer() as server, socket.create_connection(("127.0.0.1", server.port), 2) as s:
        s.sendall(b"SET k v\r\n")
        assert s.recv(64) == b"+OK\r\n"
        server.restart()
        with socket.create_connection(("127.0.0.1", server.port), 2) as again:
            again.sendall(b"GET k\r\n")
            assert again.recv(64) == b"$-1\r\n"
