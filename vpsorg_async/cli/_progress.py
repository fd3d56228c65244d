"""Fleet progress on stderr, driven by the fleet's ``on_progress`` events.

Three modes, chosen by :func:`progress_mode`:

* ``live``: stderr is a terminal: a rich progress bar (finished/total, ok, failed, in flight,
  rate, elapsed), redrawn in place and left on screen when the step ends.
* ``lines``: stderr is a file or a pipe (CI logs, ``2> log``): a plain line at the start, then at
  most one a second while counts change, and a last one at the end. No escape codes.
* ``off``: ``--quiet``.

The callback runs on the event loop for every event, so it only updates counters; drawing
happens on rich's refresh thread (``live``) or is throttled (``lines``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from vpsorg_async.fleet import FleetEvent

from ._words import count

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, ProgressColumn, Task, TaskID

__all__ = ["FleetProgress", "Mode", "progress_mode"]

Mode = Literal["live", "lines", "off"]
#: Seconds between two plain progress lines.
LINE_INTERVAL = 1.0


def progress_mode(*, quiet: bool, console: Console) -> Mode:
    """``off`` with ``--quiet``, ``live`` on a terminal, ``lines`` otherwise."""
    if quiet:
        return "off"
    return "live" if console.is_terminal else "lines"


class FleetProgress:
    """Counts a fleet step's events and shows them; use as ``with FleetProgress(...) as bar:``.

    Pass the instance itself as ``on_progress``. The counts stay readable afterwards (also
    after Ctrl-C), for summaries.

    Args:
        label: what the step does, e.g. ``"stop"``.
        total: how many servers it touches.
        mode: see :func:`progress_mode`.
        console: the stderr console to draw on.
        clock: the time source of the elapsed time and the line throttle.
    """

    def __init__(
        self,
        label: str,
        total: int,
        *,
        mode: Mode,
        console: Console,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.label = label
        self.total = total
        self.mode = mode
        self.console = console
        self.done = 0
        self.failed = 0
        self.in_flight = 0
        self._clock = clock
        self.started = self._clock()
        self.ended: float | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._last_line = 0.0
        self._last_counts: tuple[int, int, int] | None = None

    @property
    def elapsed(self) -> float:
        """Seconds since the step started (until it ended)."""
        return (self.ended if self.ended is not None else self._clock()) - self.started

    @property
    def finished(self) -> int:
        """Servers with an outcome so far."""
        return self.done + self.failed

    def __enter__(self) -> FleetProgress:
        self.started = self._clock()
        if self.mode == "live":
            self._start_live()
        elif self.mode == "lines":
            print(f"{self.label}: {count(self.total, 'server')}", file=sys.stderr, flush=True)
            self._last_line = self._clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.ended = self._clock()
        if self._progress is not None:
            self._refresh_live()
            self._progress.stop()
            self._progress = None
        elif self.mode == "lines" and exc_type is None:
            self._line(final=True)

    def __call__(self, event: FleetEvent[Any]) -> None:
        """The fleet's ``on_progress``: take the running counts, redraw when it is time."""
        self.done, self.failed, self.in_flight = event.done, event.failed, event.in_flight
        if self._progress is not None:
            self._refresh_live()
        elif self.mode == "lines":
            self._line()

    def summary(self) -> str:
        """``12/24 finished: 11 ok, 1 failed, 12 in flight, 4.1/s, 2.9 s``."""
        rate = self.finished / self.elapsed if self.elapsed > 0 else 0.0
        return (
            f"{self.finished}/{self.total} finished: {self.done} ok, {self.failed} failed, "
            f"{self.in_flight} in flight, {rate:.1f}/s, {self.elapsed:.1f} s"
        )

    def _line(self, *, final: bool = False) -> None:
        """Print the counts if they changed, at most once a second (the final line: at once)."""
        now = self._clock()
        counts = (self.done, self.failed, self.in_flight)
        too_soon = now - self._last_line < LINE_INTERVAL and not final
        if too_soon or counts == self._last_counts:
            return
        self._last_line, self._last_counts = now, counts
        print(f"{self.label}: {self.summary()}", file=sys.stderr, flush=True)

    def _start_live(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("[bold]{task.description:<8}"),
            BarColumn(bar_width=32),
            MofNCompleteColumn(),
            TextColumn("[green]{task.fields[done]} ok"),
            TextColumn("[red]{task.fields[failed]} failed"),
            TextColumn("[yellow]{task.fields[in_flight]} in flight"),
            _rate_column(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
            redirect_stdout=False,  # stdout is for results; nothing is printed there meanwhile
            redirect_stderr=True,  # log lines (--verbose, retries) print above the bar
            refresh_per_second=12,
        )
        self._task = self._progress.add_task(
            self.label, total=self.total, done=0, failed=0, in_flight=0
        )
        self._progress.start()

    def _refresh_live(self) -> None:
        assert self._progress is not None
        assert self._task is not None
        self._progress.update(
            self._task,
            completed=self.finished,
            done=self.done,
            failed=self.failed,
            in_flight=self.in_flight,
        )


def _rate_column() -> ProgressColumn:
    """A column with the servers finished per second so far (rich has none for known totals)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Task) -> Text:
            elapsed = task.elapsed or 0.0
            rate = task.completed / elapsed if elapsed > 0 else 0.0
            return Text(f"{rate:5.1f}/s", style="cyan")

    return RateColumn()
