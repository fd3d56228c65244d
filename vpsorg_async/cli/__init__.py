"""The ``vpsorg`` command line: every endpoint, fleet operations with live progress, a simulator.

It is the optional ``cli`` extra (click and rich); nothing outside this package imports it, so the
core library never depends on click or rich. The command tree::

    vpsorg [--token T] [--base-url URL] [--verbose] [--debug] [--quiet]
      servers list | get | create | update | patch | delete | start | stop | reboot
      fleet   start | stop | reboot | delete
      simulate                      run the simulator until Ctrl-C
      demo                          a fleet's whole life against an in-process simulator

Conventions every command follows:

* stdout carries the result only: a table, or JSON with ``--output json``. Colour codes only ever
  go to a terminal. Progress and errors go to stderr: a live bar when stderr is a terminal, a
  plain line about once a second otherwise. ``--quiet`` leaves only the result and errors: no
  progress and none of the library's retry warnings.
* Exit codes: 0 all done; 1 the API said no, a wait failed, or some servers of a fleet failed;
  2 usage errors (click's own, a missing token, input the client refuses before sending);
  130 Ctrl-C, 143 SIGTERM: either one cancels in-flight work, then prints what had been done.
* Errors are one line on stderr (``error: server 12345 not found (404)``); ``--debug`` shows the
  traceback instead. The API token is never printed.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``vpsorg`` with ``argv`` (default: ``sys.argv[1:]``); exits with the command's code."""
    from ._app import cli

    cli.main(args=list(argv) if argv is not None else None, prog_name="vpsorg")
