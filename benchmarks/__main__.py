"""``python -m benchmarks``: run every benchmark, print a markdown report, write the JSON.

::

    python -m benchmarks                 # the full run (what `make bench` does), a few minutes
    python -m benchmarks --quick         # tiny sizes, ~20 s: checks the harness still works
    python -m benchmarks --only per_call --only import_time

The figures go to ``benchmarks/results/latest.json`` (``quick.json`` with ``--quick``) unless
``--out`` says otherwise. The exit status is 1 when a benchmark could not run (a missed target
is a finding, not a failure: it is printed and recorded as ``"met": false``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from . import cluster, fleet_cost, import_time, per_call, waiters_scale
from ._harness import machine_facts, markdown_table

#: Section name -> (module with run() and markdown(), title).
SECTIONS: dict[str, tuple[ModuleType, str]] = {
    "per_call": (per_call, "1. Per-call cost: Client vs bare aiohttp vs httpx"),
    "fleet": (fleet_cost, "2. Fleet cost: fleet.start(..., wait=True)"),
    "waiters": (waiters_scale, "3. Waiters at scale"),
    "import_time": (import_time, "4. Import time"),
    "cluster": (cluster, "5. Many processes: 1, 2 and 4 sharing one fleet through Redis"),
}
RESULTS = Path(__file__).resolve().parent / "results"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[met]


def report(results: dict[str, Any]) -> str:
    """The whole markdown report of ``results`` (the JSON document)."""
    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        f"# vpsorg-async benchmarks ({results['mode']} run)",
        "",
        f"{m['date']}; {m['cores']} cores ({m['cpu']}); {m['implementation']} {m['python']}; "
        f"{m['platform']}; load average at start {m['load_average_at_start']}.",
        f"Versions: {versions}.",
        "",
    ]
    for name, (module, title) in SECTIONS.items():
        if name not in results["sections"]:
            continue
        section = results["sections"][name]
        lines += [f"## {title}", ""]
        if "error" in section:
            lines += ["Could not run:", "", "```", section["error"].rstrip(), "```", ""]
        else:
            lines += [module.markdown(section), ""]
    rows = [
        [t["name"], t["goal"], t["value"], _verdict(t["met"]), t["note"]]
        for t in results["targets"]
    ]
    lines += [
        "## Targets",
        "",
        markdown_table(["target", "goal", "measured", "verdict", "note"], rows),
        "",
        f"Total benchmark time: {results['runtime_s']:.0f} s (`{results['command']}`).",
    ]
    return "\n".join(lines)


def run(names: Sequence[str], *, quick: bool, log: Callable[[str], None] = _log) -> dict[str, Any]:
    """Run the sections ``names``; return the JSON document (a failed section holds its error)."""
    started = time.perf_counter()
    results: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "command": "python -m benchmarks" + (" --quick" if quick else ""),
        "machine": machine_facts(),
        "sections": {},
        "targets": [],
    }
    for name in names:
        module, title = SECTIONS[name]
        log(f"running {title} ...")
        t0 = time.perf_counter()
        try:
            section = module.run(quick=quick)
        except Exception:
            section = {"error": traceback.format_exc()}
            log(f"  failed:\n{section['error']}")
        section["runtime_s"] = time.perf_counter() - t0
        log(f"  done in {section['runtime_s']:.0f} s")
        results["sections"][name] = section
        results["targets"] += section.get("targets", [])
    results["runtime_s"] = time.perf_counter() - started
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run, print the report, write the JSON; 1 if a section failed."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of ~20 s")
    parser.add_argument(
        "--only", action="append", choices=list(SECTIONS), help="run only this section (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON")
    args = parser.parse_args(argv)
    results = run(args.only or list(SECTIONS), quick=args.quick)
    out: Path = args.out or RESULTS / ("quick.json" if args.quick else "latest.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(report(results))
    _log(f"figures written to {out}")
    return 1 if any("error" in s for s in results["sections"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
