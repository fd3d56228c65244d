"""Run the unit suite against the oldest and the newest releases the runtime dependencies allow.

``make test-deps`` runs ``test oldest`` and ``test newest``; ``make test-pythons`` runs the newest set
on the other CPython versions that pyenv has. The sets are read from ``[project] dependencies`` in
``pyproject.toml``, so a dependency added there (``msgspec>=0.18.6``, say) joins both sets by itself:

- **oldest**: every runtime dependency at the lowest release its specifier allows (``aiohttp>=3.10``
  gives 3.10.0), the way a user who pins the floor gets it; everything else resolves as usual.
- **newest**: every runtime dependency at its newest release, what a fresh ``pip install`` picks.

Each set gets its own venv (``.venv-oldest``, ``.venv-newest``, ``.venv-newest-py3.13``, ...), built
from scratch and rebuilt only when ``pyproject.toml`` or the pins change. The suite runs with the
project's pytest settings (warnings are errors) but without coverage.

usage::

    python tools/depsets.py show oldest|newest
    python tools/depsets.py test oldest|newest [--python 3.13] [-- PYTEST_ARGS...]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = "test,bench"  # what the unit suite imports (bench: httpx for the benchmark smoke test)
SETS = ("oldest", "newest")


def runtime_requirements() -> list[Requirement]:
    """The ``[project] dependencies`` of pyproject.toml whose markers hold here."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(line) for line in project["dependencies"]]
    return [r for r in reqs if r.marker is None or r.marker.evaluate()]


def released_versions(name: str) -> list[Version]:
    """Every final release of ``name`` on the package index, as ``pip index versions`` lists it."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"^Available versions: (.*)$", out, flags=re.M)
    if match is None:
        raise SystemExit(f"pip index versions {name}: no versions in {out!r}")
    versions = [Version(v.strip()) for v in match.group(1).split(",")]
    return [v for v in versions if not v.is_prerelease and not v.is_devrelease]


def pins(which: str) -> list[str]:
    """``name==version`` for each runtime dependency: its lowest or newest allowed release."""
    chosen = min if which == "oldest" else max
    lines = []
    for req in runtime_requirements():
        allowed = [v for v in released_versions(req.name) if v in req.specifier]
        if not allowed:
            raise SystemExit(f"no release of {req.name} satisfies {req.specifier}")
        lines.append(f"{req.name}=={chosen(allowed)}")
    return lines


def find_python(version: str | None) -> str:
    """This interpreter, or pyenv's CPython ``version`` (``3.13`` picks the newest 3.13.x)."""
    if version is None:
        return sys.executable
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        raise SystemExit(f"--python {version}: pyenv is not installed")
    bare = subprocess.run(
        [pyenv, "versions", "--bare"], capture_output=True, text=True, check=True
    ).stdout.split()
    found = sorted(
        (v for v in bare if v == version or v.startswith(version + ".")),
        key=lambda v: Version(v) if re.fullmatch(r"[\d.]+", v) else Version("0"),
    )
    if not found:
        raise SystemExit(f"--python {version}: pyenv has only {', '.join(bare)}")
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=True).stdout
    return str(Path(root.strip()) / "versions" / found[-1] / "bin" / "python")


def ensure_venv(venv: Path, python: str, constraints: list[str]) -> Path:
    """A venv at ``venv`` with the project, its test extras and ``constraints``; reused if current."""
    key = hashlib.sha256(
        "\n".join([python, (ROOT / "pyproject.toml").read_text(), *constraints]).encode()
    ).hexdigest()
    stamp = venv / ".installed"
    bin_python = venv / "bin" / "python"
    if stamp.exists() and stamp.read_text() == key and bin_python.exists():
        return bin_python
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    pip = [str(bin_python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    (venv / "constraints.txt").write_text("\n".join(constraints) + "\n")
    subprocess.run(
        [*pip, "-c", str(venv / "constraints.txt"), "-e", f"{ROOT}[{EXTRAS}]"], check=True
    )
    stamp.write_text(key)
    return bin_python


def test(which: str, version: str | None, pytest_args: list[str]) -> int:
    constraints = pins(which)
    name = f".venv-{which}" + (f"-py{version}" if version else "")
    python = ensure_venv(ROOT / name, find_python(version), constraints)
    facts = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"== {name}: Python {facts}, {', '.join(constraints)}", flush=True)
    return subprocess.run([str(python), "-m", "pytest", "-q", *pytest_args], cwd=ROOT).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("command", choices=("show", "test"))
    parser.add_argument("which", choices=SETS)
    parser.add_argument("--python", help="a pyenv CPython version such as 3.13 (default: this one)")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to pytest")
    args = parser.parse_args(argv)
    if args.command == "show":
        print("\n".join(pins(args.which)))
        return 0
    return test(args.which, args.python, args.pytest_args)


if __name__ == "__main__":
    sys.exit(main())
