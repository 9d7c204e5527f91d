"""Typed option values shared by the verbs: decimals and floats with ranges, the model names.

A bad value is a usage error (exit 2) that names the option and the range, e.g.
``Invalid value for '--min-buffer': 'abc' is not a decimal number``; no verb sees a string
it must parse itself.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Callable, Optional

import typer

from ..margin.registry import MODEL_SPECS

#: the largest buffer a statement can carry (2^24 basis points)
MAX_BUFFER = Decimal(1 << 24) / 10_000
#: the VaR / ES confidence range, as in :func:`zkmargin.margin.var.check_alpha`
ALPHA_RANGE = "[0.5, 1)"


def _interval(lo, hi, lo_open: bool, hi_open: bool) -> str:
    return f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"


def decimal_range(lo: Decimal, hi: Decimal, *, step: Optional[Decimal] = None, lo_open: bool = False,
                  hi_open: bool = False, range_text: Optional[str] = None) -> Callable[[str], Decimal]:
    """A parser of exact decimals in a range (and, with ``step``, multiples of it);
    ``range_text`` says the range in words in the error message."""
    where = range_text or f"not in {_interval(lo, hi, lo_open, hi_open)}"

    def parse(value) -> Decimal:
        if isinstance(value, Decimal):
            d = value
        else:
            try:
                d = Decimal(str(value).strip())
            except InvalidOperation:
                raise typer.BadParameter(f"{str(value)[:20]!r} is not a decimal number") from None
        if not d.is_finite():
            raise typer.BadParameter(f"{str(value)[:20]!r} is not a finite number")
        if (d < lo or (lo_open and d == lo)) or (d > hi or (hi_open and d == hi)):
            raise typer.BadParameter(f"{str(value)[:20]} is {where}")
        if step is not None and d % step != 0:
            raise typer.BadParameter(f"{d} is not a multiple of {step}")
        return d
    return parse


def float_range(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> Callable[[str], float]:
    """A parser of finite floats in a range."""
    def parse(value) -> float:
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise typer.BadParameter(f"{str(value)[:20]!r} is not a number") from None
        if not math.isfinite(x) or x < lo or x > hi or (lo_open and x == lo) or (hi_open and x == hi):
            raise typer.BadParameter(f"{value} is not in {_interval(lo, hi, lo_open, hi_open)}")
        return x
    return parse


#: ``--buffer`` / ``--min-buffer``: a multiple of 0.0001 in [0.0001, 1677.7216]
parse_buffer = decimal_range(Decimal("0.0001"), MAX_BUFFER, step=Decimal("0.0001"))
BUFFER_HELP = f"(a multiple of 0.0001 in [0.0001, {MAX_BUFFER}])"
#: ``--insurance-fund`` / ``--amount``: USD, at most 14 decimals
parse_usd = decimal_range(Decimal(0), Decimal(10) ** 30, step=Decimal("1e-14"),
                          range_text="not a non-negative USD amount below 1e30")
#: ``--alpha``: a confidence in [0.5, 1)
parse_alpha = float_range(0.5, 1.0, hi_open=True)
parse_alpha_decimal = decimal_range(Decimal("0.5"), Decimal(1), hi_open=True)
#: ``--horizon``: days, in (0, 3650]
parse_horizon = float_range(0.0, 3650.0, lo_open=True)


#: every model name ``compute_margin`` accepts, from the model registry (which imports no numerics)
MARGIN_MODELS = tuple(spec.name for spec in MODEL_SPECS)
MarginModel = Enum("MarginModel", {m: m for m in MARGIN_MODELS}, type=str)


def value_of(choice) -> Optional[str]:
    """The plain string of an Enum choice (None stays None)."""
    return None if choice is None else getattr(choice, "value", choice)


def describe_shape(shape) -> str:
    """A circuit shape in words (never a raw dict)."""
    sizes = f"{shape.family}: {shape.instruments} instrument slots, {shape.assets} asset slots, {shape.groups} groups"
    if shape.family != "var":
        sizes += f" x {shape.scenarios} scenarios"
    if getattr(shape, "pairs", 0):
        sizes += f", {shape.pairs} spread-credit pair slot(s)"
    return f"{sizes}, {shape.accounts} account(s), {shape.params} parameters"


def one_line_usage_errors() -> None:
    """Report usage errors (a bad option value, an unknown option) like every other error:
    one line ``error: ...`` on stderr, exit 2, instead of a framed panel."""
    try:
        from typer import rich_utils
    except ImportError:          # typer without rich: click's own (short) format
        return
    if getattr(rich_utils.rich_format_error, "_zkmargin", False):
        return

    def one_line(self) -> None:
        if self.__class__.__name__ == "NoArgsIsHelpError":
            return
        message = " ".join(self.format_message().replace("Value error, ", "").split())
        ctx = getattr(self, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        typer.echo(f"error: {message}{hint}", err=True)

    one_line._zkmargin = True
    rich_utils.rich_format_error = one_line


def hide_flag_types() -> None:
    """Show no ``<bool>`` type next to flags in ``--help`` (they take no value)."""
    from typer import core

    option = getattr(core, "TyperOption", None)
    show = getattr(option, "display_type_rich", None)
    if show is None or getattr(show, "_zkmargin", False):
        return

    def display_type_rich(self, ctx):
        if getattr(self, "is_flag", False) or getattr(self, "is_bool_flag", False):
            return None
        return show(self, ctx)

    display_type_rich._zkmargin = True
    option.display_type_rich = display_type_rich
