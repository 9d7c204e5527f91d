"""Clearing simulator: margin calls, partial liquidation, insurance fund, ADL, circuit breaker."""

import pytest

from zkmargin.margin.clearing import Account, ClearingParams, simulate

P = ClearingParams(mm_rate=0.005, im_rate=0.01, fee_rate=0.005, band=0.10)


def kinds(state):
    return [e.kind for e in state.events]


def test_small_moves_only_settle_and_money_is_conserved():
    accts = [Account("long", 5000.0, 1.0, 100000.0), Account("short", 5000.0, -1.0, 100000.0)]
    st = simulate(accts, [100000, 100500, 99800, 100100], fund=1000.0, params=P)
    assert kinds(st) == []
    assert st.accounts["long"].cash == pytest.approx(5100.0)
    assert st.total_money() == pytest.approx(11000.0)


def test_margin_call_between_mm_and_im():
    accts = [Account("a", 1500.0, 1.0, 100000.0), Account("b", 1e6, -1.0, 100000.0)]
    st = simulate(accts, [100000, 99200], fund=0.0, params=P)   # E = 700: MM 496 ≤ E < IM 992
    assert kinds(st) == ["margin_call"] and st.events[0].amount == pytest.approx(992 - 700)


def test_partial_liquidation_restores_initial_margin():
    accts = [Account("a", 1200.0, 2.0, 100000.0), Account("b", 1e6, -2.0, 100000.0)]
    low_fee = ClearingParams(mm_rate=0.005, im_rate=0.01, fee_rate=0.001, band=0.10)
    st = simulate(accts, [100000, 99800], fund=0.0, params=low_fee)   # E = 800 < MM = 998.0
    ev = st.events[0]
    assert ev.kind == "partial_liquidation" and 0 < ev.quantity < 2.0
    a = st.accounts["a"]
    assert a.cash == pytest.approx(low_fee.im_rate * abs(a.position) * 99800)   # exactly at IM after the fee
    assert st.fund == pytest.approx(ev.amount) and st.lp_position == pytest.approx(ev.quantity)
    assert st.total_money() == pytest.approx(1200.0 + 1e6)


def test_bankruptcy_covered_by_insurance_fund():
    accts = [Account("a", 2000.0, 1.0, 100000.0), Account("b", 1e6, -1.0, 100000.0)]
    st = simulate(accts, [100000, 95000], fund=10000.0, params=P)      # E = −3000
    assert kinds(st) == ["liquidation", "insurance"]
    assert st.accounts["a"].cash == pytest.approx(0.0) and st.accounts["a"].position == 0.0
    assert st.fund == pytest.approx(7000.0)
    assert st.accounts["b"].position == -1.0                          # no ADL
    assert st.total_money() == pytest.approx(2000.0 + 1e6 + 10000.0)


def test_adl_when_fund_exhausted_ranks_by_profit_times_leverage():
    accts = [Account("bankrupt", 2000.0, 3.0, 100000.0),
             Account("calm", 1e6, -1.0, 100000.0),         # low leverage
             Account("levered", 20000.0, -1.0, 100000.0),  # same profit, 50× more leverage
             Account("other", 30000.0, -1.0, 100000.0)]
    st = simulate(accts, [100000, 97000], fund=1000.0, params=P)       # E = −7000, fund 1000
    adl = [e for e in st.events if e.kind == "adl"]
    assert [e.account for e in adl][:2] == ["levered", "other"]
    bk = st.accounts["bankrupt"]
    assert bk.cash == pytest.approx(0.0, abs=1e-6) and bk.position == pytest.approx(0.0, abs=1e-12)
    assert st.fund == 0.0
    # fund covered 1/7 of the deficit, so 6/7 of 3 units are deleveraged: 1 + 1 + the rest from "calm"
    assert [e.account for e in adl] == ["levered", "other", "calm"]
    assert st.accounts["calm"].position == pytest.approx(-(1 - (3 * 6 / 7 - 2)))
    # the counterparties absorb exactly the uncovered deficit 6000
    assert sum(e.amount for e in adl) == pytest.approx(6000.0)   # amount = cost to the counterparty
    assert st.total_money() == pytest.approx(2000.0 + 1e6 + 20000 + 30000 + 1000)


def test_circuit_breaker_clamps_moves_to_the_band():
    accts = [Account("a", 1e6, 1.0, 100.0), Account("b", 1e6, -1.0, 100.0)]
    st = simulate(accts, [100.0, 70.0, 70.0, 70.0], params=P)
    assert st.marks == pytest.approx([90.0, 81.0, 72.9])
    assert kinds(st).count("circuit_breaker") == 3


def test_deterministic():
    def run():
        accts = [Account(f"x{k}", 1000.0 * (k + 1), (-1) ** k * 0.5, 100.0) for k in range(6)]
        return simulate(accts, [100, 97, 91, 88, 95, 104, 99], fund=50.0, params=P).events
    assert run() == run()
