"""The README's ``curl`` lines for the simulator's admin routes, run for real against a simulator."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest

from vpsorg_async.testing import Simulator

README = Path(__file__).resolve().parent.parent / "README.md"
SHELL_BLOCK = re.compile(r"^```sh\n(.*?)^```", flags=re.S | re.M)
#: What the README's example runs the simulator with.
DOCUMENTED_ROOT, DOCUMENTED_TOKEN = "http://127.0.0.1:8080", "secret"

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")


def admin_curl_lines() -> list[str]:
    """The ``curl`` commands of the README's shell block about ``/_sim/``, continuations joined."""
    (block,) = [b for b in SHELL_BLOCK.findall(README.read_text()) if "/_sim/" in b]
    lines = block.replace("\\\n", " ").splitlines()
    return [line for line in lines if line.startswith("curl ")]


async def curl(command: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_the_readme_admin_curl_lines_work_and_plain_curl_gets_401() -> None:
    ledger, faults = admin_curl_lines()
    async with Simulator(token=DOCUMENTED_TOKEN) as sim:
        code, out = await curl(ledger.replace(DOCUMENTED_ROOT, sim.root_url))
        assert code == 0
        assert json.loads(out)["total"] == 0
        code, out = await curl(faults.replace(DOCUMENTED_ROOT, sim.root_url))
        assert code == 0, out
        assert (sim.faults.error_rate, sim.faults.throttle_rate) == (0.2, 0.1)
        bare = f"curl -s -o /dev/null -w '%{{http_code}}' {sim.root_url}/_sim/ledger"
        assert await curl(bare) == (0, "401")
