"""The benchmark harness still works: a ``--quick`` run yields every section and its targets.

The benchmarks themselves are not part of ``make test`` (``make bench`` runs them); this tiny run
keeps the harness from rotting as the package changes under it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SECTIONS = {"per_call", "fleet", "waiters", "import_time", "cluster"}


def test_quick_benchmark_run_reports_every_section(tmp_path: Path) -> None:
    out = tmp_path / "quick.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    data = json.loads(out.read_text())
    assert data["mode"] == "quick"
    assert data["machine"]["cores"] >= 1
    assert set(data["sections"]) == SECTIONS
    for name, section in data["sections"].items():
        assert "error" not in section, f"{name}: {section.get('error')}"
        assert section["targets"], name
    assert {t["met"] for t in data["targets"]} <= {True, False, None}
    assert data["sections"]["per_call"]["get_server"]["64"]["rps"]["client"]["median"] > 0
    assert all(run["failed"] == 0 for run in data["sections"]["fleet"]["runs"])
    assert "## Targets" in proc.stdout
