"""The solvency protocol, prover side: venue parameter files, key setup, commitments, proofs.

Library API (the CLI in :mod:`zkmargin.cli.cmd_solvency` is a thin layer over it):

* :func:`make_params_file` / :func:`write_params` / :func:`read_params` -- a venue's published
  risk parameters (``zkmargin/params/v1`` JSON): model, shape, the instrument and asset lists,
  the market snapshot they were computed from, the quantized integer parameters and their
  Poseidon digest. :func:`read_params` re-checks bounds and the digest.
* :func:`setup_keys` -- Groth16 keys for a circuit shape from a ``.ptau`` (a public ceremony
  file, or :func:`dev_ptau`: a DEVELOPMENT-ONLY single-party file cached on disk) plus one
  phase-2 contribution.
* :func:`make_opening` / :func:`write_opening` -- a salted account commitment: the public
  ``zkmargin/commitment/v1`` JSON and the 0600 secret opening (values + salt).
* :func:`prove_solvency` -- build the circuit, refuse early (:class:`InsolventError`) when no
  witness exists, prove, and return a :class:`~zkmargin.verifier.bundle.Bundle`.
"""

from __future__ import annotations

import json
import os
import time

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from zkmargin.circuits.margin_circuits import (MODEL_CODES, Account, CircuitParams, Context,
                                               ParameterError, Shape, build_solvency_circuit,
                                               dummy_inputs)
from zkmargin.circuits.poseidon import random_salt
from zkmargin.circuits.solvency import InsolventError, account_of, check_solvent, venue_params

PARAMS_FORMAT = "zkmargin/params/v1"
COMMITMENT_FORMAT = "zkmargin/commitment/v1"
OPENING_FORMAT = "zkmargin/opening/v1"
DEV_PTAU_LABEL = "DEVELOPMENT-ONLY single-party powers of tau (zkmargin dev)"
MAX_FILE_BYTES = 64 << 20

Progress = Optional[Callable[[str], None]]


class ProtocolError(ValueError):
    """A protocol file is malformed or inconsistent (message names the file and the field)."""


# ----------------------------------------------------------------------------- JSON helpers

def load_json(path, what: str) -> dict:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_FILE_BYTES:
            raise ProtocolError(f"{what} {p.name}: larger than {MAX_FILE_BYTES} bytes")
        doc = json.loads(p.read_text())
    except OSError as e:
        raise ProtocolError(f"{what} {p.name}: cannot read ({e.strerror or e})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ProtocolError(f"{what} {p.name}: not valid JSON ({e})") from None
    if not isinstance(doc, dict):
        raise ProtocolError(f"{what} {p.name}: expected a JSON object")
    return doc


def write_json(path, obj: dict, *, secret: bool = False) -> None:
    """Write JSON; ``secret=True`` creates the file with mode 0600 (never world-readable)."""
    p = Path(path)
    text = json.dumps(obj, indent=1) + "\n"
    if secret:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(p, 0o600)
    else:
        p.write_text(text)


def _int(v, where: str) -> int:
    if isinstance(v, bool):
        raise ProtocolError(f"{where}: expected an integer")
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.lstrip("-").isdigit() and len(v) < 100:
        return int(v)
    raise ProtocolError(f"{where}: expected an integer")


# ----------------------------------------------------------------------------- instruments

def instrument_to_dict(inst) -> dict:
    d = {"type": inst.kind, "underlying": inst.underlying, "instrument": inst.name}
    if inst.expiry is not None:
        d["expiry"] = inst.expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    if inst.strike is not None:
        d["strike"] = inst.strike
    if inst.right is not None:
        d["right"] = inst.right
    if inst.face_value is not None:
        d["face_value"] = inst.face_value
    if inst.vol is not None:
        d["vol"] = inst.vol
    return d


def instruments_from_dicts(items: list, market) -> list:
    from zkmargin.margin.portfolio import parse_portfolio
    pf = parse_portfolio({"positions": [dict(d, quantity=0.0) for d in items]}, market)
    return [p.instrument for p in pf.positions]


# ----------------------------------------------------------------------------- params file

@dataclass(frozen=True)
class ParamsFile:
    """A venue's published risk parameters for one epoch (see module docstring)."""

    venue: str
    epoch: int
    model: str
    params: CircuitParams
    instruments: tuple
    assets: tuple[str, ...]
    market: dict

    @property
    def shape(self) -> Shape:
        return self.params.shape

    @property
    def digest(self) -> int:
        return self.params.digest()

    def market_obj(self):
        from zkmargin.margin.market import parse_market
        return parse_market(self.market)

    def to_json(self) -> dict:
        p = self.params
        body = {"H": p.H, "V": p.V}
        fam = self.shape.family
        if fam in ("worst_case", "var"):
            body["GM"] = p.GM
        if fam in ("worst_case", "es"):
            body["LOSS"] = p.LOSS
        if fam == "worst_case":
            body.update(FLOOR=p.FLOOR, SHORT=p.SHORT)
        if fam == "es":
            body.update(a=p.a, b=p.b)
        if fam == "var":
            body.update(D=p.D, K=p.K, KN=str(p.KN), KQ=p.KQ)
        return {"format": PARAMS_FORMAT, "venue": self.venue, "epoch": self.epoch,
                "model": self.model, "model_code": p.model_code, "shape": self.shape.as_dict(),
                "scale": {"quantity": 10**8, "price": 10**6, "money": 10**14,
                          "rounding": "losses/charges up, values/collateral down (margin/quantize.py)"},
                "instruments": [instrument_to_dict(i) for i in self.instruments],
                "assets": list(self.assets), "market": self.market,
                "params": body, "digest": str(self.digest)}


def make_params_file(venue: str, epoch: int, model: str, instruments: Sequence, market_doc: dict,
                     shape: Shape, assets: Sequence[str] | None = None, **opts) -> ParamsFile:
    """Quantize the venue's instruments under ``market_doc`` (decoded market.json) for ``shape``."""
    from zkmargin.margin.market import parse_market
    market = parse_market(market_doc)
    assets = tuple(assets) if assets is not None else tuple(market.collateral)
    params = venue_params(model, instruments, market, shape, assets, **opts)
    return ParamsFile(venue, int(epoch), model, params, tuple(instruments), assets, market_doc)


def params_from_json(doc: dict, where: str = "params") -> ParamsFile:
    """Parse and check a params document: bounds and the recomputed digest must match."""
    if doc.get("format") != PARAMS_FORMAT:
        raise ProtocolError(f"{where}: not a {PARAMS_FORMAT} file")
    try:
        shape = Shape.from_dict(doc["shape"])
        model = str(doc["model"])
        if model not in MODEL_CODES:
            raise ProtocolError(f"{where}: unknown model {model!r}")
        b = doc["params"]

        def ints(key):
            return tuple(_int(v, f"{where}.params.{key}") for v in b.get(key, ()))

        def rows(key):
            return tuple(tuple(_int(v, f"{where}.params.{key}") for v in r) for r in b.get(key, ()))

        params = CircuitParams(model, shape, ints("H"), ints("V"), GM=rows("GM"), LOSS=rows("LOSS"),
                               FLOOR=ints("FLOOR"), SHORT=ints("SHORT"),
                               a=_int(b.get("a", 0), f"{where}.params.a"),
                               b=_int(b.get("b", 0), f"{where}.params.b"),
                               D=ints("D"), K=rows("K"), KN=_int(b.get("KN", 0), f"{where}.params.KN"),
                               KQ=_int(b.get("KQ", 0), f"{where}.params.KQ"))
        params.check_bounds()
        from zkmargin.margin.market import parse_market
        market = parse_market(doc["market"])
        insts = instruments_from_dicts(doc["instruments"], market)
        pf = ParamsFile(str(doc["venue"]), _int(doc["epoch"], f"{where}.epoch"), model, params,
                        tuple(insts), tuple(str(a) for a in doc["assets"]), doc["market"])
    except ParameterError as e:
        raise ProtocolError(f"{where}: {e}") from None
    except (KeyError, TypeError, AttributeError) as e:
        raise ProtocolError(f"{where}: missing or malformed field ({e})") from None
    if str(pf.digest) != str(doc.get("digest")):
        raise ProtocolError(f"{where}: digest does not match the parameters (file altered?)")
    return pf


def write_params(pf: ParamsFile, path) -> None:
    write_json(path, pf.to_json())


def read_params(path) -> ParamsFile:
    return params_from_json(load_json(path, "params"), f"params {Path(path).name}")


# ----------------------------------------------------------------------------- keys

def cache_dir() -> Path:
    """Where the development ptau and keys are cached: $ZKMARGIN_CACHE or ~/.cache/zkmargin
    (see :mod:`zkmargin.prover.dev_cache`)."""
    from zkmargin.prover.dev_cache import cache_dir as _cache_dir
    return _cache_dir()


def _prepared_sections(tau: int, alpha: int, beta: int, power: int) -> dict:
    """The four Lagrange sections of a prepared ptau (all sizes 2^0 .. 2^top, concatenated),
    computed directly from known secrets by fixed-base scalar multiplication."""
    from zkmargin.algebra import G1_GEN, G2_GEN, R, g1_fixed_base_muls, g2_fixed_base_muls
    from zkmargin.algebra.field import ints_to_array
    from zkmargin.prover.known_tau import lagrange_at

    def basis(top: int, factor: int, truncated_top: bool = False) -> list[int]:
        out = []
        for k in range(top + 1):
            m = 2 ** k
            vals = lagrange_at(tau, m)
            if truncated_top and k == top:
                # snarkjs' largest tau*G1 block is the iFFT of the powers with the missing top
                # power tau^(m-1) taken as zero: subtract its share w^i tau^(m-1) / m
                from zkmargin.algebra.constants import root_of_unity
                w, c = root_of_unity(m), pow(tau, m - 1, R) * pow(m, -1, R) % R
                x = 1
                for i in range(m):
                    vals[i] = (vals[i] - x * c) % R
                    x = x * w % R
            out += [v * factor % R for v in vals]
        return out

    def on_g1(scalars):
        return g1_fixed_base_muls(G1_GEN, ints_to_array(scalars))

    def on_g2(scalars):
        return g2_fixed_base_muls(G2_GEN, ints_to_array(scalars))

    return {"lagrange_tau_g1": on_g1(basis(power + 1, 1, truncated_top=True)), "lagrange_tau_g2": on_g2(basis(power, 1)),
            "lagrange_alpha_tau_g1": on_g1(basis(power, alpha)),
            "lagrange_beta_tau_g1": on_g1(basis(power, beta))}


#: What made a development ptau, step by step (named in its cache record and in errors).
DEV_PTAU_STEPS = {"contribute": "powersoftau new + one contribution (g1_scale_each / g2_scale_each kernels)",
                  "lagrange": "Lagrange sections from the secrets (_prepared_sections: g1/g2_fixed_base_muls kernels)"}
DEV_PTAU_CHECK = ("ptau.validate: every point on its curve and G2 points in the subgroup, the "
                  "contribution chain, the pairing-ratio checks of every section and the Lagrange sections")


def dev_ptau(power: int, progress: Progress = None, *, ticks=None):
    """A DEVELOPMENT-ONLY prepared powers of tau, cached on disk (:func:`cache_dir`).

    It is ``powersoftau new`` + one contribution + ``prepare phase2``, except that the
    Lagrange sections are computed directly from the contribution's secrets (fixed-base
    multiplications, much faster than group FFTs) before the secrets are dropped. One party
    ran it: whoever did could forge proofs. Use a public ceremony file (``--ptau``) in
    production (PITFALLS #11).

    The file is self-checked (:func:`zkmargin.prover.ptau.validate`) before it is cached and
    again when it is loaded (:mod:`zkmargin.prover.dev_cache`): a bad one raises
    :class:`~zkmargin.prover.dev_cache.ArtifactError` naming the step that made it; a bad
    cached one is reported and left in place, never silently rebuilt. ``ticks(what, done,
    total)`` receives fine-grained progress."""
    from dataclasses import replace
    from zkmargin.algebra.constants import R
    from zkmargin.prover import dev_cache, ptau as pt
    import secrets

    say = progress or (lambda _m: None)
    path = cache_dir() / f"dev-power{power}.ptau"
    if path.exists():
        acc, rec = dev_cache.load_checked(path, pt.parse_ptau, pt.validate,
                                          made_by_unknown="dev_ptau (an older zkmargin)")
        if not acc.is_prepared or acc.power != power:
            raise dev_cache.bad_cached(path, rec, f"it is not a prepared power-{power} ptau")
        return acc
    say(f"generating a {DEV_PTAU_LABEL}, power {power} (cached for later runs)")
    t0 = time.perf_counter()
    tau, alpha, beta = (secrets.randbelow(R - 1) + 1 for _ in range(3))
    acc = pt.contribute(pt.new_accumulator(power), "zkmargin DEVELOPMENT-ONLY", _secrets=(tau, alpha, beta),
                        progress=ticks)
    if ticks:
        ticks("Lagrange sections", 0, 1)
    acc = replace(acc, **_prepared_sections(tau, alpha, beta, power))
    del tau, alpha, beta
    made = time.perf_counter() - t0
    say(f"checking the powers of tau (curve, subgroup and pairing checks) -- made in {made:.1f} s")
    t1 = time.perf_counter()
    report = pt.validate(acc, progress=ticks)
    if not report.ok:
        step = "lagrange" if all("agrange" in e for e in report.errors) else "contribute"
        raise dev_cache.ArtifactError(
            f"dev_ptau(power {power}): the step '{DEV_PTAU_STEPS[step]}' produced an invalid powers "
            f"of tau: {'; '.join(report.errors)}. Nothing was cached. This is a bug in zkmargin's "
            "kernels: please report it with the output of `zkmargin cache info`")
    checked = time.perf_counter() - t1
    record = dev_cache.make_record(path, "dev_ptau", list(DEV_PTAU_STEPS.values()), DEV_PTAU_CHECK,
                                   checked, power=power, made_seconds=round(made, 2))
    dev_cache.publish(path, pt.ptau_to_bytes(acc), record)
    say(f"powers of tau checked in {checked:.1f} s")
    return acc


def setup_circuit(shape: Shape, model: str | None = None, params: CircuitParams | None = None):
    """The circuit of a shape, built on all-zero inputs (its structure depends on the shape only;
    in ``constant`` parameter mode also on ``params``, which are then required)."""
    dummy, accts, ctx = dummy_inputs(shape, model)
    if shape.params_constant:
        if params is None:
            raise ProtocolError("a constant-parameter circuit needs the parameter set for its setup")
        dummy = params
    return build_solvency_circuit(shape, dummy, accts, ctx)


@dataclass
class Keys:
    pk: object
    vk: object
    development_only: bool
    n_constraints: int


DEV_KEY_STEPS = {"setup": "groth16 setup (sparse matrix x Lagrange basis kernels)",
                 "contribute": "one phase-2 contribution (g1_scale_each kernels)"}
DEV_KEY_CHECK = ("phase2.check_key: every point on its curve and B2 in the subgroup, the sections "
                 "against the ptau's Lagrange bases (random linear combinations, pairings), the "
                 "contribution chain")


def setup_keys(shape: Shape, ptau_path=None, *, model: str | None = None, progress: Progress = None,
               contributor: str = "zkmargin setup", reuse_dev: bool = True,
               params: CircuitParams | None = None, ticks=None) -> Keys:
    """Groth16 keys for ``shape``: circuit → R1CS → snarkjs-compatible setup → one phase-2
    contribution (so delta ≠ 1). With ``ptau_path`` (a public ceremony file) a fresh key is made.
    Without it the DEVELOPMENT-ONLY :func:`dev_ptau` is used, and (``reuse_dev``) the finished
    development key is cached per circuit (keyed by the SHA-256 of its .r1cs bytes).

    Every key is self-checked against its ptau (:func:`zkmargin.prover.phase2.check_key`)
    before it is returned or cached, and a cached one again when it is loaded
    (:mod:`zkmargin.prover.dev_cache`); a bad one raises
    :class:`~zkmargin.prover.dev_cache.ArtifactError` (never silently rebuilt).
    ``progress(message)`` gets stage lines, ``ticks(what, done, total)`` fine-grained progress."""
    import hashlib
    from zkmargin.circuits.r1cs import r1cs_to_bytes
    from zkmargin.prover import dev_cache, phase2, ptau as pt, setup as st
    from zkmargin.prover.groth16 import verifying_key_of
    from zkmargin.prover.zkey import parse_zkey, zkey_to_bytes

    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    circ = setup_circuit(shape, model, params)
    r1cs = circ.cs.to_r1cs()
    n_c = len(circ.cs.constraints)
    power = st.circuit_power(n_c, circ.cs.n_public)
    say(f"circuit: {n_c} constraints, domain 2^{power} (built in {time.perf_counter() - t0:.1f} s)")
    # snarkjs' circuit hash reads tau*G1 points up to 2n (not 2n − 1) once n − 1 > 2^14, so
    # domains of 2^15 and more need a ptau one power larger (see prover/setup.py)
    need = power if power <= 14 else power + 1
    have = sorted(int(p.stem[len("dev-power"):]) for p in cache_dir().glob("dev-power*.ptau")
                  if p.stem[len("dev-power"):].isdigit())
    cached = None
    if ptau_path is None and reuse_dev:
        tag = hashlib.sha256(r1cs_to_bytes(r1cs)).hexdigest()[:24]
        cached = cache_dir() / f"dev-{tag}.zkey"
        if cached.exists():
            def check(pk):
                # only for a key without a valid record: against the dev ptau it came from
                rec = dev_cache.read_record(cached) or {}
                powers = [rec["ptau_power"]] if isinstance(rec.get("ptau_power"), int) else \
                    [h for h in have if h >= need]
                powers = [h for h in powers if cache_dir().joinpath(f"dev-power{h}.ptau").exists()]
                if not powers:
                    # its ptau is gone: check everything that does not need it (points, B1/B2,
                    # delta and the contribution chain)
                    return phase2.check_key(pk, r1cs, None)
                report = None
                for h in powers:
                    report = phase2.check_key(pk, r1cs, dev_ptau(h, progress))
                    if report.ok:
                        break
                return report

            pk, _ = dev_cache.load_checked(cached, parse_zkey, check,
                                           made_by_unknown="setup_keys (an older zkmargin)")
            say(f"reusing the cached DEVELOPMENT-ONLY key for this circuit ({n_c} constraints, checked)")
            return Keys(pk, verifying_key_of(pk), True, n_c)
    if ptau_path is None:
        ptau_power = next((h for h in have if h >= need), need)
        acc, dev = dev_ptau(ptau_power, progress, ticks=ticks), True
    else:
        acc, dev, ptau_power = pt.read_ptau(ptau_path), False, None
    say("setup: Groth16 key (snarkjs-compatible) + one phase-2 contribution")
    t1 = time.perf_counter()
    pk0 = st.new_proving_key(r1cs, acc, progress=ticks)
    pk, _ = phase2.contribute(pk0, contributor, progress=ticks)
    made = time.perf_counter() - t1
    say(f"checking the key against the ptau -- made in {made:.1f} s")
    t2 = time.perf_counter()
    report = phase2.check_key(pk, r1cs, acc, progress=ticks)
    if not report.ok:
        step = "setup" if not phase2.check_key(pk0, r1cs, acc).ok else "contribute"
        raise dev_cache.ArtifactError(
            f"setup_keys: the step '{DEV_KEY_STEPS[step]}' produced an invalid key for this circuit: "
            f"{'; '.join(report.errors)}. Nothing was cached. This is a bug in zkmargin's kernels: "
            "please report it with the output of `zkmargin cache info`")
    checked = time.perf_counter() - t2
    say(f"key checked in {checked:.1f} s")
    if cached is not None:
        record = dev_cache.make_record(cached, "setup_keys", list(DEV_KEY_STEPS.values()), DEV_KEY_CHECK,
                                       checked, ptau=f"dev-power{ptau_power}.ptau", ptau_power=ptau_power,
                                       constraints=n_c, made_seconds=round(made, 2))
        dev_cache.publish(cached, zkey_to_bytes(pk), record)
    return Keys(pk, verifying_key_of(pk), dev, n_c)


def vk_fingerprint(vk) -> str:
    """sha256 over the canonical JSON of the snarkjs verification key."""
    import hashlib
    from zkmargin.verifier.formats import verifying_key_to_json
    doc = verifying_key_to_json(vk)
    return "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# ----------------------------------------------------------------------------- commitments

@dataclass(frozen=True)
class Opening:
    """The secret side of a commitment: the account vector, salt, and what it was made for."""

    account: Account
    params_digest: int

    @property
    def commitment(self) -> int:
        return self.account.commitment()

    def public_json(self, holder: str = "") -> dict:
        return {"format": COMMITMENT_FORMAT, "commitment": str(self.commitment),
                "params_digest": str(self.params_digest), "holder": holder,
                "n_values": len(self.account.vector())}

    def secret_json(self) -> dict:
        a = self.account
        return {"format": OPENING_FORMAT, "WARNING": "SECRET - do not share (positions, collateral, salt)",
                "Q": [str(v) for v in a.Q], "U": str(a.U), "A": [str(v) for v in a.A],
                "salt": str(a.salt), "params_digest": str(self.params_digest),
                "commitment": str(self.commitment)}


def make_opening(portfolio_doc: dict, pf: ParamsFile, salt: int | None = None) -> Opening:
    """Quantize a decoded portfolio.json over the venue's instrument/asset lists and salt it."""
    from zkmargin.margin.portfolio import parse_portfolio
    market = pf.market_obj()
    portfolio = parse_portfolio(portfolio_doc, market)
    acct = account_of(portfolio, market, pf.instruments, pf.assets, pf.shape,
                      random_salt() if salt is None else salt)
    return Opening(acct, pf.digest)


def write_opening(op: Opening, public_path, secret_path, holder: str = "") -> None:
    write_json(public_path, op.public_json(holder))
    write_json(secret_path, op.secret_json(), secret=True)


def read_opening(path) -> Opening:
    doc = load_json(path, "opening")
    name = Path(path).name
    if doc.get("format") != OPENING_FORMAT:
        raise ProtocolError(f"opening {name}: not a {OPENING_FORMAT} file")
    try:
        acct = Account(tuple(_int(v, f"opening {name}: Q") for v in doc["Q"]), _int(doc["U"], f"opening {name}: U"),
                       tuple(_int(v, f"opening {name}: A") for v in doc["A"]), _int(doc["salt"], f"opening {name}: salt"))
        op = Opening(acct, _int(doc["params_digest"], f"opening {name}: params_digest"))
    except (KeyError, TypeError) as e:
        raise ProtocolError(f"opening {name}: missing field {e}") from None
    if str(op.commitment) != str(doc.get("commitment")):
        raise ProtocolError(f"opening {name}: values do not match the recorded commitment")
    return op


# ----------------------------------------------------------------------------- proving

def buffer_to_bps(buffer: float | str) -> int:
    """1.25 → 12500 (exact decimal; must be a whole number of basis points, 0 < bps < 2^24)."""
    from fractions import Fraction
    f = Fraction(str(buffer)) * 10_000
    if f.denominator != 1 or not 0 < f < (1 << 24):
        raise ProtocolError("buffer must be a positive multiple of 0.0001 below 1677")
    return int(f)


@dataclass
class ProofTimings:
    build_s: float
    prove_s: float
    n_constraints: int


def prove_solvency(pf: ParamsFile, pk, openings: Sequence[Opening], *, venue: str, epoch: int,
                   nonce: int, buffer_bps: int, attestations: Sequence[dict] = (),
                   progress: Progress = None, vk=None, development_only: bool = False):
    """Prove that the combined accounts cover ``buffer_bps``/10000 × the requirement.

    Raises :class:`InsolventError` (with the shortfall in USD and no secret values) before any
    circuit is built when no witness can exist. Returns ``(bundle, timings)``."""
    from zkmargin.prover.groth16 import prove, verifying_key_of
    from zkmargin.verifier.bundle import Bundle, venue_id

    shape = pf.shape
    if len(openings) != shape.accounts:
        raise ProtocolError(f"this key's shape takes {shape.accounts} account commitment(s), "
                            f"got {len(openings)} opening(s)")
    for k, op in enumerate(openings):
        if op.params_digest != pf.digest:
            raise ProtocolError(f"opening #{k + 1} was made for another parameter file")
    accounts = [op.account for op in openings]
    check_solvent(pf.params, accounts, buffer_bps)
    ctx = Context(MODEL_CODES[pf.model], buffer_bps, venue_id(venue), int(epoch), int(nonce))
    t0 = time.perf_counter()
    if progress:
        progress("building the circuit and witness")
    circ = build_solvency_circuit(shape, pf.params, accounts, ctx)
    bad = circ.cs.check()
    if bad:  # should not happen once check_solvent passed; never print values
        raise ProtocolError(f"witness does not satisfy the circuit ({len(bad)} constraints, first: {bad[0].name})")
    t1 = time.perf_counter()
    if progress:
        progress(f"proving ({len(circ.cs.constraints)} constraints)")
    out = prove(pk, circ.cs.witness_limbs())
    t2 = time.perf_counter()
    vk = vk or verifying_key_of(pk)
    bundle = Bundle.create(pf, venue=venue, epoch=int(epoch), nonce=int(nonce), buffer_bps=buffer_bps,
                           commitments=[a.commitment() for a in accounts], public_names=circ.public_names,
                           public_values=out.public_signals, proof=out.proof, vk=vk,
                           attestations=list(attestations), development_only=development_only)
    return bundle, ProofTimings(t1 - t0, t2 - t1, len(circ.cs.constraints))


__all__ = ["ParamsFile", "make_params_file", "read_params", "write_params", "params_from_json",
           "setup_keys", "setup_circuit", "dev_ptau", "Keys", "vk_fingerprint", "Opening",
           "make_opening", "write_opening", "read_opening", "prove_solvency", "buffer_to_bps",
           "ProtocolError", "InsolventError", "DEV_PTAU_LABEL"]
