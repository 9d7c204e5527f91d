"""Progress display for long library calls (the native build, JIT compilation, powers of tau,
key setup).

The library reports through plain callbacks -- ``ticks(what, done, total)`` for stages and
``say(message)`` for lines -- and never needs rich.  Here the CLI renders them: on a terminal a
rich bar with the stage, elapsed time and an estimate of the time left; otherwise (logs, CI,
pipes) one line per stage change, at most one a second, with the same figures.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

Ticks = Callable[[str, int, int], None]


def _fmt(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


@dataclass
class Reporter:
    """What a command hands to the library: ``say`` for lines, ``ticks`` for stages."""

    say: Callable[[str], None]
    ticks: Optional[Ticks]


class _LineTicks:
    """Stage lines for non-terminals: ``[  12 s] title: what (done/total, ~8 s left)``."""

    def __init__(self, title: str, echo: Callable[[str], None], indent: str = "      ") -> None:
        self.title, self.echo, self.indent = title, echo, indent
        self.t0 = time.perf_counter()
        self.last_what: Optional[str] = None
        self.last_print = -10.0
        self.op_start = self.t0
        self.last_done = -1

    def __call__(self, what: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if done < self.last_done or self.last_done < 0:      # a new operation starts
            self.op_start = now
        self.last_done = done
        if what == self.last_what or (now - self.last_print < 1.0 and done < total):
            return
        self.last_what, self.last_print = what, now
        left = ""
        if 0 < done < total:
            left = f", ~{_fmt((now - self.op_start) * (total - done) / done)} left"
        self.echo(f"{self.indent}[{_fmt(now - self.t0):>10}] {self.title}: {what} "
                  f"({100 * done // max(total, 1)}%{left})")


@contextlib.contextmanager
def reporter(title: str, *, quiet: bool = False, console=None,
             indent: str = "      ") -> Iterator[Reporter]:
    """A :class:`Reporter` whose lines and stages go to ``console`` (default: stderr)."""
    from rich.console import Console

    console = console or Console(stderr=True, soft_wrap=True, highlight=False)
    say = (lambda _m: None) if quiet else (lambda m: console.print(m, markup=False))
    if quiet:
        yield Reporter(say, None)
        return
    if not console.is_terminal:
        yield Reporter(say, _LineTicks(title, say, indent))
        return
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(TextColumn(f"{indent}[bold]{title}[/bold]"), TextColumn("{task.description:<32}"),
                  BarColumn(), TaskProgressColumn(), TimeElapsedColumn(), TextColumn("left"),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("", total=1)
        state = {"done": -1}

        def ticks(what: str, done: int, total: int) -> None:
            if done < state["done"]:                       # a new operation: restart the ETA
                bar.reset(task, total=max(total, 1))
            state["done"] = done
            bar.update(task, completed=done, total=max(total, 1), description=what)

        yield Reporter(say, ticks)


__all__ = ["Reporter", "reporter", "Ticks"]
