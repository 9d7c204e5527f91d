"""Red-team review of the span16 spread credits and the scenario VaR (hvar) in the trader's
solvency circuit: a malicious prover with full witness freedom searches the hint wires.

Single-wire mutations and the one-step attacks are in tests/test_solvency_credits.py. Here a small
solver explores the prover's joint choices: every scan bound m_g in a neighbourhood above the
honest one (where ⌊CM·10⁶·m/10¹²⌋ steps), with the largest credit the constraints could allow and
one more, and the smallest group requirement r_g and one less; for hvar every candidate bound C
below the honest VaR with the best excuse assignment. Every satisfying witness found has a
requirement at least the honest evaluator's, and the one-past-the-edge choices all fail.
"""

from __future__ import annotations

import pytest
from test_solvency_credits import CAPPED, CSHAPE, HEDGED, VENUE_BOOK, _credit_circuit, _forge, cmarket_doc

from zkmargin.circuits.margin_circuits import CREDIT_DIV, CREDIT_SCALE
from zkmargin.circuits.solvency import venue_params
from zkmargin.margin import quantize as qz
from zkmargin.margin.market import parse_market
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.margin.riskarray import net_positions

M, K, RR = "requirement/group{}/m", "requirement/credit{}/kappa", "requirement/credit{}/r"


@pytest.fixture(scope="module")
def cv():
    m = parse_market(cmarket_doc())
    insts, _ = net_positions(parse_portfolio({"positions": VENUE_BOOK}, m))
    return m, insts, venue_params("span16", insts, m, CSHAPE)


#: raises of m: the cap ⌊CM·m/10⁶⌋ steps every 10⁶/CM units of m (1 or 2 for CM = 0.7)
STEPS = (1, 2, 3, 7, 10**6 + 3)


@pytest.mark.parametrize("book,group", [("capped", 0), ("hedged", 2)])
def test_solver_no_joint_choice_of_m_kappa_r_lowers_the_requirement(cv, book, group):
    """capped/group 0: the cap CM·10⁶·m binds; hedged/group 2: B binds. For each raised m the
    prover takes the largest κ the cap and B allow and r = max(m − κ, floor): satisfied, and the
    requirement is not lower; κ one above that, or r one below, is refused."""
    p, params, acct, circ = _credit_circuit(cv, CAPPED if book == "capped" else HEDGED)
    honest = circ.requirement.value
    scan = circ.extra["m"][group].value
    B = circ.extra["B"][group].value
    cm = params.CM[group]
    # no short option floor binds in these books: the honest r is m − κ
    assert circ.extra["r"][group].value == scan - circ.extra["kappa"][group].value
    for d in (0,) + STEPS:
        m = scan + d
        kmax = min(cm * CREDIT_SCALE * m, B) // CREDIT_DIV
        r = m - kmax
        w, bad, req = _forge(circ, {M.format(group): m, K.format(group): kmax, RR.format(group): r})
        assert not bad, (d, bad)
        assert req >= honest, (d, req - honest)
        for over, why in (({K.format(group): kmax + 1}, "kappa"), ({RR.format(group): r - 1}, "r")):
            w, bad, req = _forge(circ, {M.format(group): m, K.format(group): kmax, RR.format(group): r, **over})
            assert bad, (d, why)
            assert all(f"credit{group}" in b for b in bad), bad


def test_solver_scan_bound_below_the_worst_scenario_is_refused_whatever_the_credit(cv):
    """m one below scan with κ and r recomputed from it (the prover's best completion) still fails
    on the scenario bound of that group, for every group of both books."""
    for book in (HEDGED, CAPPED):
        _, _, _, circ = _credit_circuit(cv, book)
        for g in range(CSHAPE.groups):
            scan = circ.extra["m"][g].value
            if scan == 0:
                _, bad, _ = _forge(circ, {M.format(g): -1})
                assert any(f"group{g}/range_check/to_bits/m = " in b for b in bad), bad
                continue
            _, bad, req = _forge(circ, {M.format(g): scan - 1})
            assert req <= circ.requirement.value
            assert any(f"group{g}" in b and "m-L" in b for b in bad), bad


def test_solver_hvar_no_bound_below_the_var_has_a_witness():
    """Every loss value below the VaR (and VaR − 1) as C, with the prover's best excuse set
    (β_s = [L_s > C]) and the rank division as built: each fails on ``excused<=k`` only; the
    honest C passes."""
    from test_solvency_credits import hvar_case
    _, pf, acct, circ = hvar_case()
    res = qz.int_quantile_var(qz.IntESModel(pf.params.LOSS, pf.params.a, pf.params.b), acct.Q)
    var = circ.requirement.value
    assert var == res.var > 0
    cands = sorted({L for L in res.losses if 0 <= L < var} | {var - 1})
    for C in cands[-6:]:                       # the nearest six below the VaR
        over = {"requirement/C": C}
        over.update({f"requirement/beta{s}": int(L > C) for s, L in enumerate(res.losses)})
        _, bad, req = _forge(circ, over)
        assert req == C < var
        assert bad and all("excused<=k" in b for b in bad), bad
    over = {f"requirement/beta{s}": int(L > var) for s, L in enumerate(res.losses)}
    assert _forge(circ, {"requirement/C": var, **over})[1] == set()
