"""The fleet progress display: live bar on a terminal, throttled plain lines otherwise, or nothing."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from vpsorg_async.cli._progress import FleetProgress, progress_mode
from vpsorg_async.fleet import FleetEvent, Outcome


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def event(done: int, failed: int, in_flight: int, total: int = 4) -> FleetEvent[int]:
    return FleetEvent(1, "done", Outcome(1, True), done, failed, in_flight, total)


def test_mode_follows_the_terminal_and_quiet() -> None:
    tty = Console(file=io.StringIO(), force_terminal=True)
    pipe = Console(file=io.StringIO(), force_terminal=False)
    assert progress_mode(quiet=False, console=tty) == "live"
    assert progress_mode(quiet=False, console=pipe) == "lines"
    assert progress_mode(quiet=True, console=tty) == "off"


def test_lines_are_throttled_and_plain(capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    console = Console(file=io.StringIO())
    with FleetProgress("stop", 4, mode="lines", console=console, clock=clock) as bar:
        bar(event(1, 0, 3))  # too soon after the first line: not printed
        clock.now += 1.5
        bar(event(2, 0, 2))
        clock.now += 1.5
        bar(event(2, 0, 2))  # nothing changed: not printed
        clock.now += 0.5
        bar(event(3, 1, 0))
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "stop: 4 servers",
        "stop: 2/4 finished: 2 ok, 0 failed, 2 in flight, 1.3/s, 1.5 s",
        "stop: 4/4 finished: 3 ok, 1 failed, 0 in flight, 1.1/s, 3.5 s",
    ]
    assert "\x1b" not in "".join(lines)
    assert (bar.done, bar.failed, bar.in_flight, bar.finished) == (3, 1, 0, 4)
    assert bar.elapsed == pytest.approx(3.5)


def test_lines_say_nothing_more_when_interrupted(capsys: pytest.CaptureFixture[str]) -> None:
    bar = FleetProgress("start", 2, mode="lines", console=Console(file=io.StringIO()))
    try:
        with bar:
            bar(event(1, 0, 1, total=2))
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert capsys.readouterr().err.splitlines() == ["start: 2 servers"]


def test_live_bar_shows_counts_rate_and_elapsed() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=140, color_system=None)
    with FleetProgress("reboot", 4, mode="live", console=console) as bar:
        bar(event(2, 1, 1))
    text = out.getvalue()
    assert "reboot" in text
    assert "3/4" in text
    assert "2 ok" in text
    assert "1 failed" in text
    assert "1 in flight" in text
    assert "/s" in text
    assert "0:00:0" in text


def test_off_draws_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    with FleetProgress("delete", 1, mode="off", console=Console(file=out)) as bar:
        bar(event(1, 0, 0, total=1))
    assert out.getvalue() == ""
    assert capsys.readouterr().err == ""
    assert bar.summary().startswith("1/1 finished: 1 ok")
