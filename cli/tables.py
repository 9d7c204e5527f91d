"""Tables that fit the terminal (or the 80 columns of a pipe) without cutting a value.

:func:`show` prints a rich table when every cell fits the console width in full; otherwise it
switches to a vertical layout, one block per row (``column: value`` lines), which wraps
instead of truncating. Nothing is ever shortened to ``…``; ``--json`` carries every number in
full precision for scripts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table


def console(stderr: bool = False) -> Console:
    """The console of a verb's output: the terminal's width, or ``$COLUMNS``, or 80 in a pipe."""
    return Console(stderr=stderr, highlight=False)


@dataclass
class Column:
    """One column: its header, alignment and whether its cells may wrap (one item per line)."""

    header: str
    right: bool = False
    wrap: bool = False


@dataclass
class Grid:
    """A titled table: columns, rows of cell strings, an optional last (total) row, notes."""

    title: str
    columns: Sequence[Column]
    rows: list[list[str]] = field(default_factory=list)
    total: Optional[list[str]] = None
    notes: list[str] = field(default_factory=list)

    def table(self) -> Table:
        t = Table(title=self.title, box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
        for c in self.columns:
            t.add_column(c.header, justify="right" if c.right else "left", no_wrap=not c.wrap,
                         overflow="fold")
        for row in self.rows:
            t.add_row(*row)
        if self.total is not None:
            t.add_section()
            t.add_row(*(f"[bold]{v}[/bold]" if v else "" for v in self.total))
        return t


def fits(con: Console, grid: Grid) -> bool:
    """Whether the table form shows every cell in full at the console's width: measured with
    each wrapping cell replaced by its longest line (its items are one per line)."""
    def widest(cell: str) -> str:
        return max(cell.splitlines() or [""], key=len)

    rows = grid.rows + ([grid.total] if grid.total is not None else [])
    flat = Grid(grid.title, [Column(c.header, c.right, False) for c in grid.columns],
                [[widest(v) for v in r] for r in rows])
    return Measurement.get(con, con.options.update_width(1 << 16), flat.table()).maximum <= con.width


def vertical(con: Console, grid: Grid) -> None:
    """One block per row: the first cell as a heading, then ``column: value`` lines."""
    con.print(grid.title, style="bold", markup=False)
    width = max(len(c.header) for c in grid.columns[1:])
    for row in grid.rows + ([grid.total] if grid.total is not None else []):
        con.print(row[0], style="bold", markup=False)
        for c, v in zip(grid.columns[1:], row[1:]):
            lines = v.splitlines()
            if not lines:
                continue
            con.print(f"  {c.header:<{width}}  {lines[0]}", markup=False)
            for more in lines[1:]:
                con.print(f"  {'':<{width}}  {more}", markup=False)


def show(con: Console, grid: Grid) -> None:
    """Print ``grid`` as a table if it fits, else vertically; then its notes (wrapped)."""
    if fits(con, grid):
        con.print(grid.table())
    else:
        vertical(con, grid)
    for note in grid.notes:
        con.print(note, markup=False)


__all__ = ["Column", "Grid", "console", "fits", "show", "vertical"]
