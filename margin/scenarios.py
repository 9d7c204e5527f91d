"""Scenario definitions: the span16 table and configurable price × vol grids.

A :class:`Scenario` moves one underlying: S' = S·(1 + price_move) and the vol per
``vol_mode``:

* ``"absolute"`` (SPAN): σ' = max(σ + vol_shift, 0.01);
* ``"dte_scaled"`` (Paradex/Deribit style): σ' = max(σ·(1 + vol_shift·(30/max(dte_floor, DTE))^p),
  0.01), p = 0.30 if DTE < 30 days else 0.13, DTE of the instrument in days;

and counts ``cover`` (a fraction) of the resulting loss. The per-unit loss of instrument i in
scenario s is −(V(S', σ') − V(S, σ))·cover (see :mod:`zkmargin.margin.riskarray`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

VOL_FLOOR = 0.01

# span16: (price move in units of price_scan, vol move in units of vol_scan, cover);
# the last two rows use extreme_multiple / extreme_cover instead (see span16_scenarios).
SPAN16_TABLE: tuple[tuple[float, float], ...] = (
    (0.0, +1), (0.0, -1), (1 / 3, +1), (1 / 3, -1), (-1 / 3, +1), (-1 / 3, -1),
    (2 / 3, +1), (2 / 3, -1), (-2 / 3, +1), (-2 / 3, -1), (1.0, +1), (1.0, -1),
    (-1.0, +1), (-1.0, -1),
)


@dataclass(frozen=True)
class Scenario:
    underlying: str
    label: str
    price_move: float
    vol_shift: float = 0.0
    vol_mode: str = "absolute"
    cover: float = 1.0


def span16_scenarios(underlying: str, price_scan: float, vol_scan: float,
                     extreme_multiple: float = 2.0, extreme_cover: float = 0.35) -> list[Scenario]:
    """The 16 SPAN scenarios (docs/MARGIN_MODELS.md) for one underlying, numbered 1..16."""
    out = [Scenario(underlying, f"{underlying}#{k + 1}", p * price_scan, v * vol_scan, "absolute", 1.0)
           for k, (p, v) in enumerate(SPAN16_TABLE)]
    out.append(Scenario(underlying, f"{underlying}#15", extreme_multiple * price_scan, 0.0,
                        "absolute", extreme_cover))
    out.append(Scenario(underlying, f"{underlying}#16", -extreme_multiple * price_scan, 0.0,
                        "absolute", extreme_cover))
    return out


@dataclass(frozen=True)
class GridSpec:
    """A configurable portfolio-margin grid (per underlying).

    * core grid: every ``price_moves`` × every ``vol_shifts`` (in ``vol_mode``), cover 1;
    * extended moves: (price move, weight) at vol shift ``extended_vol_shift``, loss × weight;
    * ``min_delta_rate``: the scan is at least rate·|net Δ|·S (two extra linear scenarios ±rate);
    * ``short_option_charge``: contingency, fraction of spot per net short option contract
      (added on top of the scan);
    * ``mm_fraction``: MM = mm_fraction × IM.
    """

    name: str
    price_moves: tuple[float, ...]
    vol_shifts: tuple[float, ...]
    vol_mode: str = "dte_scaled"
    extended: tuple[tuple[float, float], ...] = ()
    extended_vol_shift: float = 0.0
    min_delta_rate: float = 0.0
    short_option_charge: float = 0.0
    mm_fraction: float = 1.0
    dte_floor: float = 1.0
    extra: dict = field(default_factory=dict)

    def scenarios(self, underlying: str) -> list[Scenario]:
        out = []
        for p in self.price_moves:
            for v in self.vol_shifts:
                out.append(Scenario(underlying, f"{underlying} {p:+.0%} vol{v:+.0%}", p, v, self.vol_mode, 1.0))
        for p, w in self.extended:
            out.append(Scenario(underlying, f"{underlying} ext {p:+.0%} x{w:.4g}", p,
                                self.extended_vol_shift, self.vol_mode, w))
        return out


_MOVES_16 = tuple(m / 100 for m in range(-16, 17, 4))
_EXTENDED = ((-0.66, 0.24), (-0.33, 0.48), (0.50, 0.32), (1.00, 0.16), (2.00, 0.08),
             (3.00, 0.0533), (4.00, 0.04), (5.00, 0.032))

PARADEX = GridSpec(
    name="paradex", price_moves=_MOVES_16, vol_shifts=(0.40, -0.22), vol_mode="dte_scaled",
    extended=_EXTENDED, extended_vol_shift=0.40, min_delta_rate=0.02, short_option_charge=0.0,
    mm_fraction=0.5)
"""Paradex-style: ±16 % step 4 %, vol +40 % / −22 % (DTE-scaled), weighted extended moves at
vol +40 %, minimum delta charge 2 %·|net Δ|·S, MM = 50 % of IM (Paradex's published values). The 1 %
hedged-delta part of Paradex's minimum charge is not modelled."""

DERIBIT = GridSpec(
    name="deribit", price_moves=_MOVES_16, vol_shifts=(0.45, 0.0, -0.30), vol_mode="dte_scaled",
    extended=_EXTENDED, extended_vol_shift=0.45, min_delta_rate=0.0, short_option_charge=0.01,
    mm_fraction=0.8)
"""Deribit-style: ±16 % in 9 buckets, vol up / same / down (the +45 % / −30 % DTE-scaled shocks
and MM = 80 % of IM are this project's defaults, not published values), extended far-move table
at vol up, contingency 0.01·S per net short option contract. Deribit's 1 % contingency on
offsetting futures is not modelled."""

PRESETS: dict[str, GridSpec] = {"paradex": PARADEX, "deribit": DERIBIT}
