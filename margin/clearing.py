"""A deterministic clearing simulator for one linear perpetual over a price path.

State: accounts (settled cash in USD, signed position q in units, average entry price), an
insurance fund, and a liquidity provider (LP) that takes over liquidated positions at the mark
(infinite collateral, never liquidated). Per step, with raw price p_t:

1. **Circuit breaker.** mark_t = clamp(p_t, mark_{t−1}·(1 − band), mark_{t−1}·(1 + band)); a
   clamp is logged (the rest of the move arrives in later steps).
2. **Variation margin.** cash += q·(mark_t − mark_{t−1}) for every account and the LP, so
   equity E = cash.
3. **Margin checks** in account-name order, with N = |q|·mark, MM = mm_rate·N, IM = im_rate·N:
   * IM > E ≥ MM: **margin call** for IM − E.
   * E < MM and E > 0: **partial liquidation** of the fraction
     f = (IM − E) / (IM − fee_rate·N) (the least that restores E ≥ IM after the fee); the LP
     takes f·q at the mark; fee = fee_rate·f·N goes to the insurance fund. If f ≥ 1 the position
     is closed in full.
   * full close with E ≥ 0: fee = min(fee_rate·N, E) to the fund.
   * **bankrupt** (E < 0, deficit D = −E): the fund pays F = min(D, fund); the fraction F/D of
     the position goes to the LP at the mark, the rest (if the fund is exhausted) is
     **auto-deleveraged**: opposite-side accounts ranked by score = profit% × leverage
     (profit% = q_j·(mark − entry_j)/(|q_j|·entry_j), leverage = |q_j|·mark / E_j), ties by name,
     close against the bankrupt at the bankruptcy price p_b = mark − E/q, so the bankrupt ends at
     cash 0 and the deficit falls on the most profitable, most leveraged counterparties.

Invariant (tested): Σ cash + LP cash + fund is constant — money is only moved, never created.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Account:
    name: str
    cash: float
    position: float = 0.0
    entry: float = 0.0


@dataclass(frozen=True)
class ClearingParams:
    mm_rate: float = 0.005
    im_rate: float = 0.01
    fee_rate: float = 0.005
    band: float = 0.10


@dataclass(frozen=True)
class Event:
    step: int
    kind: str  # circuit_breaker, margin_call, partial_liquidation, liquidation, insurance, adl
    account: str
    quantity: float = 0.0
    price: float = 0.0
    amount: float = 0.0


@dataclass
class ClearingState:
    accounts: dict[str, Account]
    fund: float
    mark: float
    lp_cash: float = 0.0
    lp_position: float = 0.0
    events: list[Event] = field(default_factory=list)
    marks: list[float] = field(default_factory=list)

    def total_money(self) -> float:
        return sum(a.cash for a in self.accounts.values()) + self.lp_cash + self.fund


def _trade(acct: Account, qty: float, price: float) -> None:
    """Book a trade of signed qty at ``price`` into position and average entry (cash is settled
    by the caller: variation margin already moved it to the mark)."""
    new = acct.position + qty
    if acct.position == 0 or (acct.position > 0) == (qty > 0):
        total = abs(acct.position) + abs(qty)
        acct.entry = (acct.entry * abs(acct.position) + price * abs(qty)) / total if total else 0.0
    elif abs(qty) > abs(acct.position):
        acct.entry = price
    acct.position = new if abs(new) > 1e-12 else 0.0
    if acct.position == 0.0:
        acct.entry = 0.0


def _adl_score(a: Account, mark: float) -> float:
    if a.position == 0 or a.cash <= 0 or a.entry <= 0:
        return float("-inf")
    profit_pct = a.position * (mark - a.entry) / (abs(a.position) * a.entry)
    leverage = abs(a.position) * mark / a.cash
    return profit_pct * leverage


class ClearingEngine:
    """Runs :class:`ClearingState` over a price path with :class:`ClearingParams`."""

    def __init__(self, accounts: list[Account], start_price: float, fund: float,
                 params: ClearingParams = ClearingParams()) -> None:
        self.p = params
        self.s = ClearingState({a.name: a for a in accounts}, fund, start_price)

    def _to_lp(self, acct: Account, qty: float, price: float) -> None:
        """acct closes qty (its own sign) to the LP at ``price``."""
        s = self.s
        acct.cash += qty * (price - s.mark)  # zero when price == mark
        s.lp_cash -= qty * (price - s.mark)
        _trade(acct, -qty, price)
        s.lp_position += qty

    def _liquidate(self, step: int, a: Account) -> None:
        s, p = self.s, self.p
        N = abs(a.position) * s.mark
        E = a.cash
        IM = p.im_rate * N
        if E > 0:
            f = (IM - E) / (IM - p.fee_rate * N) if IM > p.fee_rate * N else 1.0
            if 0 < f < 1:
                qty = f * a.position
                fee = p.fee_rate * abs(qty) * s.mark
                self._to_lp(a, qty, s.mark)
                a.cash -= fee
                s.fund += fee
                s.events.append(Event(step, "partial_liquidation", a.name, qty, s.mark, fee))
                return
            fee = min(p.fee_rate * N, E)
            qty = a.position
            self._to_lp(a, qty, s.mark)
            a.cash -= fee
            s.fund += fee
            s.events.append(Event(step, "liquidation", a.name, qty, s.mark, fee))
            return
        # bankrupt
        D = -E
        q = a.position
        p_b = s.mark - E / q
        paid = min(D, s.fund)
        s.fund -= paid
        a.cash += paid
        share_fund = paid / D if D > 0 else 1.0
        s.events.append(Event(step, "liquidation", a.name, q, s.mark, 0.0))
        if paid > 0:
            s.events.append(Event(step, "insurance", a.name, 0.0, s.mark, paid))
        self._to_lp(a, share_fund * q, s.mark)
        rest = a.position  # still to close, at the bankruptcy price
        if abs(rest) <= 1e-15:
            return
        opposite = [o for o in s.accounts.values() if o is not a and o.position * rest < 0]
        opposite.sort(key=lambda o: (-_adl_score(o, s.mark), o.name))
        for o in opposite:
            if abs(rest) <= 1e-15:
                break
            x = min(abs(o.position), abs(rest))
            qty = x if rest > 0 else -x  # bankrupt sells qty (long) / buys (short) to o
            # bankrupt closes qty at p_b; o takes the opposite side at p_b
            a.cash += qty * (p_b - s.mark)
            o.cash -= qty * (p_b - s.mark)
            _trade(a, -qty, p_b)
            _trade(o, qty, p_b)
            rest -= qty
            s.events.append(Event(step, "adl", o.name, qty, p_b, qty * (p_b - s.mark)))
        if abs(rest) > 1e-15:  # not enough opposite interest: the LP takes it at p_b
            a.cash += rest * (p_b - s.mark)
            s.lp_cash -= rest * (p_b - s.mark)
            _trade(a, -rest, p_b)
            s.lp_position += rest

    def step(self, step: int, raw_price: float) -> None:
        s, p = self.s, self.p
        lo, hi = s.mark * (1 - p.band), s.mark * (1 + p.band)
        new = min(max(raw_price, lo), hi)
        if new != raw_price:
            s.events.append(Event(step, "circuit_breaker", "", 0.0, new, raw_price))
        move = new - s.mark
        for a in s.accounts.values():
            a.cash += a.position * move
        s.lp_cash += s.lp_position * move
        s.mark = new
        s.marks.append(new)
        for name in sorted(s.accounts):
            a = s.accounts[name]
            if a.position == 0:
                continue
            N = abs(a.position) * s.mark
            if a.cash < p.mm_rate * N:
                self._liquidate(step, a)
            elif a.cash < p.im_rate * N:
                s.events.append(Event(step, "margin_call", a.name, a.position, s.mark, p.im_rate * N - a.cash))

    def run(self, path: list[float]) -> ClearingState:
        for t, price in enumerate(path, start=1):
            self.step(t, float(price))
        return self.s


def simulate(accounts: list[Account], path: list[float], fund: float = 0.0,
             params: ClearingParams = ClearingParams(), start_price: float | None = None) -> ClearingState:
    """Run the engine over ``path`` (prices after the start); returns the final state + events."""
    start = float(path[0]) if start_price is None else float(start_price)
    return ClearingEngine(accounts, start, fund, params).run(list(path) if start_price is not None else list(path[1:]))
