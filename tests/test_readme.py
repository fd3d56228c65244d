"""Every ```python block of README.md runs, as written, against the simulator.

The blocks are complete scripts. They get the simulator's URL and token through the documented
environment variables, so ``Client()`` with no arguments works exactly as the quick start says.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from vpsorg_async.testing import Delays, Simulator

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
async def test_readme_example_runs(index: int, tmp_path: Path) -> None:
    script = tmp_path / f"example_{index}.py"
    script.write_text(BLOCKS[index])
    async with Simulator(servers=6, delays=Delays.fast(), seed=index) as sim:
        sim.add_server(name="web-01", status="active", location="us-west")
        env = {**os.environ, "VPSORG_API_TOKEN": sim.token, "VPSORG_BASE_URL": sim.url}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, f"README example {index} failed:\n{err.decode()}"
    assert sim.token not in (out + err).decode(), "an example printed the token"
