"""``python -m vpsorg_async.testing``: run the simulator as its own process.

The first line printed is ``url=<base URL> token=<token>``, flushed, for a parent process.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import attrs

from ._faults import Faults
from ._serve import run_forever


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(
        prog="python -m vpsorg_async.testing",
        description="Run the VPS.org Servers API simulator (loopback only by default).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind; 0 for any free one")
    parser.add_argument("--token", default=None, help="Bearer token to accept (default: random)")
    parser.add_argument("--servers", type=int, default=20, help="servers to pre-populate")
    parser.add_argument("--seed", type=int, default=0, help="seed for jitter and faults")
    parser.add_argument("--page-size", type=int, default=None, help="paginate the list")
    parser.add_argument("--balance", type=float, default=None, help="account balance for creates")
    parser.add_argument(
        "--delay-scale", type=float, default=1.0, help="multiply transition delays (0 = instant)"
    )
    faults = parser.add_argument_group("faults (all rates are probabilities per request)")
    faults.add_argument("--error-rate", type=float, default=0.0, help="500/502/503 answers")
    faults.add_argument("--throttle-rate", type=float, default=0.0, help="random 429 answers")
    faults.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds")
    faults.add_argument("--rate-limit", type=float, default=None, help="requests/s per token")
    faults.add_argument("--drop-before-rate", type=float, default=0.0, help="cut, not applied")
    faults.add_argument("--drop-after-rate", type=float, default=0.0, help="applied, then cut")
    faults.add_argument(
        "--latency", type=float, nargs=2, default=(0.0, 0.0), metavar=("MIN", "MAX")
    )
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Parse ``argv`` and serve until Ctrl+C or SIGTERM."""
    parser = build_parser()
    options = vars(parser.parse_args(argv))
    if options["page_size"] is not None and options["page_size"] < 1:
        parser.error("--page-size must be >= 1")
    # The fault flags are named after the fields of Faults; the others after run_forever's.
    faults = {name: options.pop(name) for name in attrs.fields_dict(Faults) if name in options}
    try:
        run_forever(**options, faults=faults)
    except ValueError as exc:  # bad faults or delay scale, found before anything is bound
        parser.error(str(exc))
    except OSError as exc:
        host, port = options["host"], options["port"]
        parser.exit(1, f"error: cannot serve on {host}:{port}: {exc.strerror or exc}\n")


if __name__ == "__main__":
    main()
