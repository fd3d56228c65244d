"""Every ```python block of README.md and of the docs pages (docs/**/*.md) runs against the simulator.

The blocks are complete scripts. They get the simulator's URL and token through the documented
environment variables, so ``Client()`` with no arguments works exactly as the quick start says.
A block that reads ``VPSORG_REDIS_URL`` gets a real redis-server the test starts (and is skipped
where there is none, or no redis package), and runs twice at once as two workers of one job.
A block that defines ``test_`` functions is a pytest module (the pytest plugin's examples) and runs
under pytest instead, outside this repository's pytest configuration, as a user's would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from pathlib import Path

import pytest
from redis_server import RedisServer, redis_binary

from vpsorg_async.testing import Delays, Simulator

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", flags=re.S | re.M)


def blocks(page: Path) -> list[str]:
    """The ```python blocks of one markdown page, in order."""
    return FENCE.findall(page.read_text())


EXAMPLES = [(page, index, code) for page in PAGES for index, code in enumerate(blocks(page))]


def example_id(example: tuple[Path, int, str]) -> str:
    page, index, _ = example
    return f"{page.relative_to(ROOT)}:{index}"


def test_every_page_with_code_has_examples() -> None:
    assert len(blocks(ROOT / "README.md")) >= 3
    for page in ("quickstart", "errors", "waiters", "fleets", "simulator", "processes"):
        assert blocks(ROOT / "docs" / f"{page}.md"), f"docs/{page}.md lost its examples"


def test_the_block_finder_sees_only_python_fences(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```sh\nmake\n```\n\n```python\nprint(1)\n```\n\n```text\nx\n```\n")
    assert blocks(page) == ["print(1)\n"]


@pytest.mark.parametrize("example", EXAMPLES, ids=[example_id(e) for e in EXAMPLES])
async def test_example_runs(example: tuple[Path, int, str], tmp_path: Path) -> None:
    _, index, code = example
    script = tmp_path / f"test_example_{index}.py"
    script.write_text(code)
    is_test_module = re.search(r"^(async )?def test_", code, flags=re.M) is not None
    command = (
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", str(script)] if is_test_module else []
    )
    workers = 1
    with contextlib.ExitStack() as stack:
        extra: dict[str, str] = {}
        if "VPSORG_REDIS_URL" in code:
            pytest.importorskip("redis")
            if redis_binary() is None:
                pytest.skip("no redis-server")
            extra["VPSORG_REDIS_URL"] = stack.enter_context(RedisServer()).url
            workers = 2
        async with Simulator(servers=6, delays=Delays.fast(), seed=index) as sim:
            sim.add_server(name="web-01", status="active", location="us-west")
            env = {**os.environ, "VPSORG_API_TOKEN": sim.token, "VPSORG_BASE_URL": sim.url}
            procs = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    *(command or [str(script)]),
                    cwd=tmp_path,
                    env={**env, **extra, "WORKERS": str(workers), "JOB_COMPLETION_INDEX": str(i)},
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                for i in range(workers)
            ]
            outputs = [await asyncio.wait_for(p.communicate(), timeout=60) for p in procs]
            duplicates = sim.ledger.duplicate_creates()
    where = example_id(example)
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, f"{where} failed:\n{out.decode()[-3000:]}\n{err.decode()}"
        assert sim.token not in (out + err).decode(), f"{where} printed the token"
    assert duplicates == {}, f"{where} created a name twice"
