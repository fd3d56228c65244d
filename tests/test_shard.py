"""``fleet.shard``: stable and balanced shares of one fleet, with no coordination."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vpsorg_async import ValidationError, fleet
from vpsorg_async.fleet._shard import shard_of

IDS = list(range(1, 10_001))


@pytest.mark.parametrize("count", [2, 3, 8, 16])
def test_the_shares_cover_every_id_once_and_are_balanced(count: int) -> None:
    shares = [fleet.shard(IDS, index=i, count=count) for i in range(count)]
    assert sorted(x for share in shares for x in share) == IDS
    expected = len(IDS) / count
    # a uniform hash: each share is binomial, sd = sqrt(n p (1-p)); allow 4 sd
    sd = (len(IDS) * (1 / count) * (1 - 1 / count)) ** 0.5
    assert all(abs(len(share) - expected) < 4 * sd for share in shares), [len(s) for s in shares]
    # and the chi-squared statistic is not extreme (p > 0.001 for count - 1 degrees of freedom)
    chi2 = sum((len(share) - expected) ** 2 / expected for share in shares)
    assert chi2 < {2: 10.83, 3: 13.82, 8: 24.32, 16: 37.70}[count]


def test_a_share_keeps_the_input_order_and_accepts_names() -> None:
    mine = fleet.shard(IDS[::-1], index=1, count=4)
    assert mine == sorted(mine, reverse=True)
    names = [f"web-{i}" for i in range(100)]
    together = [name for i in range(3) for name in fleet.shard(names, index=i, count=3)]
    assert sorted(together) == sorted(names)


def test_an_id_lands_on_the_same_shard_in_every_interpreter() -> None:
    # not Python's hash(), which changes with PYTHONHASHSEED: a fresh interpreter agrees
    code = (
        "from vpsorg_async.fleet._shard import shard_of; print([shard_of(i, 8) for i in range(50)])"
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout  # fmt: skip
        assert out.strip() == str([shard_of(i, 8) for i in range(50)])
    # pinned values: a change of the hash would move every worker's share
    assert [shard_of(i, 8) for i in (1, 2, 3, 1000)] == [6, 4, 1, 2]


@pytest.mark.parametrize(
    ("index", "count", "param"),
    [(0, 0, "count"), (0, -1, "count"), (0, True, "count"), (0, 2.0, "count"),
     (-1, 2, "index"), (2, 2, "index"), (True, 2, "index"), (0.0, 2, "index")],
)  # fmt: skip
def test_bad_index_or_count_is_refused(index: object, count: object, param: str) -> None:
    with pytest.raises(ValidationError, match=param):
        fleet.shard(IDS, index=index, count=count)  # type: ignore[arg-type]
