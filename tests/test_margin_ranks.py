"""Exact quantile ranks (rational arithmetic) in the float and integer evaluators."""

from fractions import Fraction

import numpy as np
import pytest

from zkmargin.margin.errors import ModelError
from zkmargin.margin.quantize import IntESModel, int_es, int_quantile_var, quantile_certificate_holds, tail_fraction
from zkmargin.margin.var import hs_var_es, tail_count, tail_fraction_exact, tail_rank


def test_alpha_0_9_with_250_scenarios_takes_the_26th_worst():
    assert (1 - 0.9) * 250 == pytest.approx(25) and (1 - 0.9) * 250 < 25      # the float trap
    a, b, j = tail_rank(0.9, 250)
    assert (a, b, j) == (1, 10, 26)
    L = np.arange(250, 0, -1, dtype=float)          # losses 250, 249, ..., 1: the k-th worst is 251 − k
    rng = np.random.default_rng(3)
    rng.shuffle(L)
    var, es = hs_var_es(L, 0.9)
    assert var == 251 - 26                          # 26th worst
    assert es == pytest.approx(np.mean(np.arange(250, 225, -1)))   # k = 25 exactly: mean of the 25 worst


@pytest.mark.parametrize("alpha,frac", [(0.975, Fraction(1, 40)), (0.99, Fraction(1, 100)),
                                        (0.9, Fraction(1, 10)), (0.95, Fraction(1, 20)), (0.999, Fraction(1, 1000))])
def test_tail_fraction_is_the_written_decimal(alpha, frac):
    a, b = tail_fraction_exact(alpha)
    assert Fraction(a, b) == frac and tail_fraction(alpha) == (a, b)


def test_rank_rule_on_fractional_tails():
    L = np.arange(1.0, 101.0)
    # α = 0.975, N = 100: k = 2.5 → j = 3; ES = t + (Σ excess)/k
    var, es = hs_var_es(L, 0.975)
    assert var == 98.0 and es == pytest.approx(98.0 + 3.0 / 2.5)
    assert tail_count(0.975, 100) == Fraction(5, 2)
    with pytest.raises(ModelError, match="at least 40 scenarios"):
        hs_var_es(L[:39], 0.975)


def test_integer_ranks_match_the_float_rule():
    rng = np.random.default_rng(7)
    for n, alpha in ((250, 0.9), (250, 0.99), (365, 0.975), (4000, 0.99)):
        loss = rng.integers(-10**6, 10**6, size=n)
        model = IntESModel((tuple(int(x) for x in loss),), *tail_fraction(alpha))
        q = int_quantile_var(model, (1,))
        var_f, es_f = hs_var_es(loss.astype(float), alpha)
        assert q.var == max(0, int(var_f)) and q.rank == tail_rank(alpha, n)[2]
        e = int_es(model, (1,))
        assert e.t == int(var_f) and abs(e.es - max(es_f, 0)) <= 1
        assert quantile_certificate_holds(model, (1,), q.var)
        if q.var > 0:
            assert not quantile_certificate_holds(model, (1,), q.var - 1)


def test_delta_normal_var_can_refuse_option_lists():
    from pathlib import Path

    from zkmargin.margin.market import load_market
    from zkmargin.margin.portfolio import load_portfolio
    from zkmargin.margin.quantize import QuantizationError, quantize_var
    from zkmargin.margin.riskarray import net_positions
    samples = Path(__file__).resolve().parents[1] / "margin" / "samples"
    m = load_market(samples / "market.json")
    insts, _ = net_positions(load_portfolio(samples / "portfolio.json", m))
    names, cov = m.covariance
    quantize_var(insts, m, list(names), cov)                       # default: still quantizes
    with pytest.raises(QuantizationError, match="gamma and vega"):
        quantize_var(insts, m, list(names), cov, refuse_options=True)
    linear = [i for i in insts if not i.is_option]
    assert quantize_var(linear, m, list(names), cov, refuse_options=True).D
