"""A whole solvency session built through the library, for the protocol and attack tests.

:func:`make_flow` plays every party honestly: the venue signs its parameter file and setup
record, each holder commits, each attester checks the opening against its own record and
signs through its ledger, the trader proves. Tests then play the attacker on the result.
Keys are development keys cached per circuit ($ZKMARGIN_CACHE), so a shape costs its setup
once per machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from zkmargin.circuits.margin_circuits import Shape
from zkmargin.margin.market import parse_market
from zkmargin.margin.portfolio import parse_portfolio
from zkmargin.margin.riskarray import net_positions
from zkmargin.solvency import trust as tr
from zkmargin.solvency.attest import Ledger, sign_account
from zkmargin.solvency.bundle import Bundle, verify_bundle
from zkmargin.solvency.keys import setup_keys, setup_record
from zkmargin.solvency.opening import make_opening
from zkmargin.solvency.params import make_params_file
from zkmargin.solvency.prove import prove_solvency

EPOCH = 20240524
NONCE = 42
SPAN = Shape("worst_case", 8, 3, 2, 16)
ROLES = {"venue": ("account", "positions", "params", "setup"), "custodian": ("collateral",)}


def sample(name):
    return json.loads(resources.files("zkmargin.margin").joinpath("samples", name).read_text())


def base():
    md, pd = sample("market.json"), sample("portfolio.json")
    m = parse_market(md)
    insts, _ = net_positions(parse_portfolio(pd, m))
    return md, pd, insts


@dataclass
class Flow:
    pf: object
    keys: object
    record: object
    ops: list
    atts: list
    bundle: Bundle
    trust: tr.Trust
    sk: dict
    ledgers: dict
    extra: dict = field(default_factory=dict)

    def verify(self, bundle=None, *, pf=None, trust="default", **kw):
        b = bundle if bundle is not None else self.bundle
        if isinstance(b, dict):
            b = Bundle.from_json(json.loads(json.dumps(b)))
        kw.setdefault("setup", self.record)
        kw.setdefault("nonce", NONCE)
        kw.setdefault("epoch", self.pf.epoch)
        return verify_bundle(b, kw.pop("vk", self.keys.vk), pf or self.pf,
                             trust=self.trust if trust == "default" else trust, **kw)

    def doc(self) -> dict:
        return json.loads(json.dumps(self.bundle.to_json()))


def failed(report) -> set[str]:
    return {c.name for c in report.failures}


def make_flow(tmp: Path, model="span16", shape=None, *, venue="VenueA", portfolios=None,
              holders=None, kinds=None, buffer_bps=10_000, md=None, epoch=EPOCH, instruments=None,
              params_options=None) -> Flow:
    """An honest session. ``holders`` names the attester of each portfolio (default: the venue);
    attesters named "Custodian..." get the custodian roles, others the venue roles.
    ``instruments`` replaces the sample's instrument list, ``params_options`` are keyword
    arguments of :func:`make_params_file` (e.g. an es scenario policy)."""
    md0, pd, insts = base()
    md = md or md0
    insts = insts if instruments is None else list(instruments)
    shape = shape or SPAN
    portfolios = portfolios or [pd]
    holders = holders or [venue] * len(portfolios)
    kinds = kinds or ["account"] * len(portfolios)
    names = list(dict.fromkeys([venue, *holders]))
    sk = {n: tr.new_key() for n in names}
    trust = tr.Trust({})
    for n in names:
        trust = trust.with_key(n, tr.public_hex(sk[n]), ROLES["custodian" if n.startswith("Custodian") else "venue"])
    pf = make_params_file(venue, epoch, model, insts, md, shape, **(params_options or {})).signed(sk[venue], venue)
    keys = setup_keys(shape, model=model, params=pf.params)
    record = setup_record(keys, pf).signed(sk[venue], venue)
    records = [dict(p, account=p.get("account") or f"acct-{i}") for i, p in enumerate(portfolios)]
    ops = [make_opening(p, pf, kind=k) for p, k in zip(records, kinds)]
    ledgers = {n: Ledger(tmp / f"{n}.ledger.jsonl") for n in names}
    atts = [sign_account(sk[h], h, op, pf, rec, ledgers[h]) for h, op, rec in zip(holders, ops, records)]
    bundle, _ = prove_solvency(pf, keys.pk, ops, nonce=NONCE, buffer_bps=buffer_bps, attestations=atts, vk=keys.vk)
    return Flow(pf, keys, record, ops, atts, bundle, trust, sk, ledgers)


def write_flow_files(flow: Flow, folder: Path, *, vk_name: str = "vk.json") -> Path:
    """The public files of a session, as an auditor receives them: params.json, the verifying
    key (``vk_name``), setup.json, trust.json and bundle.json in ``folder``."""
    from zkmargin.formats.snarkjs_json import write_verifying_key
    from zkmargin.solvency.bundle import write_bundle
    from zkmargin.solvency.keys import write_setup_record
    from zkmargin.solvency.params import write_params

    write_params(flow.pf, folder / "params.json")
    write_verifying_key(folder / vk_name, flow.keys.vk)
    write_setup_record(flow.record, folder / "setup.json")
    tr.write_trust(folder / "trust.json", flow.trust)
    write_bundle(flow.bundle, folder / "bundle.json")
    return folder
