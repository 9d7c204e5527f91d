"""A venue's published risk parameters: the ``zkmargin/params/v2`` file.

The file says what the numbers a proof is checked against *mean*: which venue and epoch they
are for, the model, the circuit shape, which instrument sits in which slot, which collateral
asset in which asset slot, the market snapshot and model options they were computed from, and
the quantized integer parameters themselves (:class:`~zkmargin.circuits.margin_circuits.CircuitParams`,
units and rounding in :mod:`zkmargin.margin.quantize`)::

    {"format": "zkmargin/params/v2", "venue", "epoch", "model", "shape", "scale", "options",
     "instruments", "assets", "market", "params": {H, V, ...}, "meta", "digest",
     "signature": {"signer", "public_key", "signature"}}          # signature: optional

Binding (who vouches for what):

* ``meta`` = SHA-256 (first 248 bits) of canonical JSON of every field except ``params``,
  ``meta``, ``digest`` and ``signature``; it is recomputed on every read.
* ``digest`` = Poseidon of [tag, model code, shape sizes, meta, parameter vector]
  (:meth:`CircuitParams.digest`), recomputed on every read; in digest and constant mode it is
  the public input ``params_digest`` of every proof, so a proof names one whole file.
* ``signature`` is the venue's Ed25519 signature of the digest (role ``params``); a verifier
  with a trust file requires it, from a key trusted under the file's own ``venue`` name.
* Attestations sign the digest too, so an account vouched for under VenueA's file cannot be
  proven against any other file, however similar its numbers.

:func:`recompute_problems` re-derives the integer parameters from the file's own market,
instruments and options, for an auditor who wants to check that the venue's numbers follow
from its stated model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional, Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from zkmargin.circuits.margin_circuits import MODEL_CODES, MODEL_FAMILY, CircuitParams, ParameterError, Shape
from zkmargin.errors import ZkmarginError
from zkmargin.formats import jsonio as jio
from zkmargin.margin import units
from zkmargin.margin.errors import InputError

from . import trust as tr

PARAMS_FORMAT = "zkmargin/params/v2"
SIGNATURE_DOMAIN = "zkmargin/params-signature/v1"
SCALE = {"quantity": units.PQ, "price": units.PL, "money": units.MONEY,
         "rounding": "losses and charges up, values and collateral down"}
MAX_EPOCH = 1 << 64
#: The largest parameter vector a file may carry (the digest costs ~1 ms per entry in Python,
#: so a hostile file cannot keep a reader busy for long; ES 256 instruments x 250 scenarios fits).
MAX_PARAMETERS = 1 << 16


class ProtocolError(ZkmarginError):
    """A protocol file is malformed or inconsistent (the message names the file and field)."""


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
    """Parse instrument descriptions (positions without a quantity) against ``market``."""
    from zkmargin.margin.portfolio import parse_portfolio
    items = jio.array(items, "instruments", max_len=256)
    for k, d in enumerate(items):
        jio.expect_object(d, f"instruments[{k}]")
    pf = parse_portfolio({"positions": [dict(d, quantity=0.0) for d in items]}, market)
    return [p.instrument for p in pf.positions]


# ----------------------------------------------------------------------------- the file

def check_slots(instruments, assets, market, where: str) -> None:
    """Every slot names one thing: no instrument or asset twice (a duplicate asset slot would
    count the same collateral twice), every asset priced in the market."""
    names = [i.name for i in instruments]
    if len(set(instruments)) != len(instruments) or len(set(names)) != len(names):
        raise ProtocolError(f"{where}.instruments: an instrument appears twice")
    if len(set(assets)) != len(assets):
        raise ProtocolError(f"{where}.assets: an asset appears twice")
    missing = [a for a in assets if a not in market.collateral]
    if missing:
        raise ProtocolError(f"{where}.assets: {jio.printable(missing[0])} is not priced in the market's collateral")


def meta_hash(meta_doc: dict) -> int:
    """SHA-256 of the canonical JSON of the descriptive fields, as a 248-bit field element."""
    return int.from_bytes(hashlib.sha256(jio.canonical_bytes(meta_doc)).digest()[:31], "big")


@dataclass(frozen=True)
class ParamsFile:
    """A venue's published risk parameters for one epoch (module docstring)."""

    venue: str
    epoch: int
    model: str
    params: CircuitParams
    instruments: tuple
    assets: tuple[str, ...]
    market: dict
    options: dict
    signature: Optional[tr.Signature] = None

    @property
    def shape(self) -> Shape:
        return self.params.shape

    @property
    def digest(self) -> int:
        return self.params.digest()

    def market_obj(self):
        from zkmargin.margin.market import parse_market
        return parse_market(self.market)

    def meta_doc(self) -> dict:
        return {"format": PARAMS_FORMAT, "venue": self.venue, "epoch": str(self.epoch),
                "model": self.model, "shape": self.shape.as_dict(), "scale": SCALE,
                "options": self.options, "instruments": [instrument_to_dict(i) for i in self.instruments],
                "assets": list(self.assets), "market": self.market}

    def to_json(self) -> dict:
        p = self.params
        body = {"H": [str(v) for v in p.H], "V": [str(v) for v in p.V]}
        fam = self.shape.family

        def rows(m):
            return [[str(v) for v in r] for r in m]
        if fam in ("worst_case", "var"):
            body["GM"] = rows(p.GM)
        if fam in ("worst_case", "es", "quantile"):
            body["LOSS"] = rows(p.LOSS)
        if fam == "worst_case":
            body.update(FLOOR=[str(v) for v in p.FLOOR], SHORT=[str(v) for v in p.SHORT])
            if self.shape.pairs:
                body.update(D=[str(v) for v in p.D], PSM=[str(v) for v in p.PSM], CM=[str(v) for v in p.CM],
                            PG=rows(p.PG), PH=rows(p.PH), CR=[str(v) for v in p.CR], KC=str(p.KC))
        if fam in ("es", "quantile"):
            body.update(a=str(p.a), b=str(p.b))
        if fam == "var":
            body.update(D=[str(v) for v in p.D], K=rows(p.K), KN=str(p.KN), KQ=str(p.KQ))
        doc = dict(self.meta_doc())
        doc.update(epoch=self.epoch, params=body, meta=str(p.meta), digest=str(self.digest))
        if self.signature is not None:
            doc["signature"] = self.signature.to_json()
        return doc

    # -- the venue's signature

    def signature_body(self, signer: str, digest: int | None = None) -> dict:
        return {"digest": self.digest if digest is None else digest, "signer": signer}

    def signed(self, key: Ed25519PrivateKey, signer: str) -> "ParamsFile":
        sig = tr.sign(key, SIGNATURE_DOMAIN, self.signature_body(signer))
        return replace(self, signature=tr.Signature(signer, tr.public_hex(key), sig))

    def signature_problem(self, trust: tr.Trust, digest: int | None = None) -> str | None:
        """None when the file is signed by a key ``trust`` accepts for role ``params`` under the
        file's own venue name; otherwise what is wrong. ``digest`` checks the signature over a
        stated digest (before the real one is computed)."""
        s = self.signature
        if s is None:
            return "the parameter file is not signed (venue params --key)"
        if s.signer != self.venue:
            return f"signed by {s.signer}, not by the venue {self.venue}"
        why = trust.check(s.signer, s.public_key, "params")
        if why:
            return why
        if not tr.signature_ok(s.public_key, s.signature, SIGNATURE_DOMAIN, self.signature_body(s.signer, digest)):
            return "signature does not verify"
        return None


#: Options of the ES scenario policy (they override the market's ``historical`` block; a file
#: with none of them and a market without the block keeps the policy-free legacy arrays).
POLICY_OPTIONS = ("vol_moves", "filtered", "stress")
OPTION_KEYS = ("alpha", "horizon_days") + POLICY_OPTIONS


def _options(model: str, alpha, horizon_days, policy: dict) -> dict:
    out: dict = {}
    if alpha is not None:
        out["alpha"] = str(alpha)
    if MODEL_FAMILY.get(model) == "var":
        out["horizon_days"] = str(horizon_days)
    out.update({k: str(v) for k, v in policy.items() if v is not None})
    return out


def scenario_policy(model: str, market, options: dict, where: str = "options"):
    """The :class:`~zkmargin.margin.historical.HistoricalConfig` the file's options make of the
    market's ``historical`` block (or the legacy policy), None when the options set none."""
    from zkmargin.margin.historical import LEGACY, VOL_MODES, parse_stress
    given = [k for k in POLICY_OPTIONS if k in options]
    if not given:
        return None
    if MODEL_FAMILY.get(model) not in ("es", "quantile"):
        raise ProtocolError(f"{where}.{given[0]}: a scenario-policy option is for the es and hvar models only")
    cfg = market.historical or LEGACY
    if "vol_moves" in options:
        if options["vol_moves"] not in VOL_MODES:
            raise ProtocolError(f"{where}.vol_moves: one of {', '.join(VOL_MODES)}")
        cfg = replace(cfg, vol_moves=options["vol_moves"])
    if "filtered" in options:
        if options["filtered"] not in ("true", "false"):
            raise ProtocolError(f"{where}.filtered: 'true' or 'false'")
        cfg = replace(cfg, filtered=options["filtered"] == "true")
    if "stress" in options:
        cfg = replace(cfg, stress=parse_stress(options["stress"], where, "stress"))
    return cfg


def _compute(model, instruments, market_doc, shape, assets, options) -> tuple[CircuitParams, tuple]:
    from zkmargin.circuits.solvency import venue_params
    from zkmargin.margin.market import parse_market
    market = parse_market(market_doc)
    assets = tuple(assets) if assets is not None else tuple(market.collateral)
    kw = {}
    if "alpha" in options:     # ES reads the decimal exactly (1 - alpha = a/b); VaR needs z_alpha
        kw["alpha"] = options["alpha"] if MODEL_FAMILY[model] in ("es", "quantile") else float(options["alpha"])
    if "horizon_days" in options:
        kw["horizon_days"] = float(options["horizon_days"])
    policy = scenario_policy(model, market, options)
    if policy is not None:
        kw["historical"] = policy
    return venue_params(model, instruments, market, shape, assets, **kw), assets


def with_vol_history(market_doc: dict, series: dict) -> dict:
    """``market_doc`` with a ``vol_history`` block {dates, levels} built from vol-index series
    ``{underlying: (ISO days, levels in vol points)}`` (as read from the CSVs, unscaled), so the
    parameter file carries -- and its ``meta`` hashes -- the exact numbers its arrays were
    computed from. Only days up to the market's ``as_of`` that every series has are kept (the
    block has one date list); a market that already embeds a vol history is refused."""
    if "vol_history" in market_doc:
        raise ProtocolError("the market file already embeds a vol_history: give the index there or "
                            "with --vol-history, not both")
    as_of = str(market_doc.get("as_of", ""))[:10]
    maps = {u: dict(zip(days, (float(v) for v in levels))) for u, (days, levels) in series.items()}
    common = sorted(set.intersection(*(set(m) for m in maps.values())) if maps else set())
    common = [d for d in common if d <= as_of]
    if not common:
        raise ProtocolError("the vol-index histories have no common day up to the market's as_of")
    out = dict(market_doc)
    out["vol_history"] = {"dates": common, "levels": {u: [m[d] for d in common] for u, m in maps.items()}}
    return out


def make_params_file(venue: str, epoch: int, model: str, instruments: Sequence, market_doc: dict,
                     shape: Shape, assets: Sequence[str] | None = None, *, alpha=None,
                     horizon_days: float = 1.0, vol_moves: str | None = None,
                     filtered: bool | None = None, stress: str | None = None,
                     vol_history: dict | None = None) -> ParamsFile:
    """Quantize the venue's ``instruments`` (slot order) under ``market_doc`` (decoded
    market.json) for ``shape``; ``meta`` and the digest are filled in.

    ES scenario policy (recorded in ``options``, see :func:`scenario_policy`): ``vol_moves``,
    ``filtered``, ``stress`` override the market's ``historical`` block; ``vol_history``
    (``{underlying: (days, vol points)}``) is embedded into the file's market
    (:func:`with_vol_history`) and, unless ``vol_moves`` says otherwise, switches vol moves to
    ``auto`` when the policy would keep vols frozen (as ``zkmargin margin --vol-history`` does)."""
    jio.name(venue, "venue")
    if not 0 <= int(epoch) < MAX_EPOCH:
        raise ProtocolError(f"epoch must be in [0, 2^64), got {epoch}")
    if model not in MODEL_CODES:
        raise ProtocolError(f"unknown model {model!r} (one of {', '.join(MODEL_CODES)})")
    from zkmargin.margin.market import parse_market
    if vol_history:
        market_doc = with_vol_history(market_doc, vol_history)
        base = parse_market(market_doc).historical
        if vol_moves is None and (base is None or base.vol_moves == "none"):
            vol_moves = "auto"
    policy = {"vol_moves": vol_moves, "filtered": None if filtered is None else str(bool(filtered)).lower(),
              "stress": stress}
    options = _options(model, alpha, horizon_days, policy)
    market = parse_market(market_doc)
    check_slots(list(instruments), tuple(assets) if assets is not None else tuple(market.collateral),
                market, "params")
    params, assets = _compute(model, list(instruments), market_doc, shape, assets, options)
    if len(params.vector()) > MAX_PARAMETERS:
        raise ProtocolError(f"the parameter vector has more than {MAX_PARAMETERS} entries")
    pf = ParamsFile(venue, int(epoch), model, params, tuple(instruments), assets, market_doc, options)
    return replace(pf, params=replace(params, meta=meta_hash(pf.meta_doc())))


_PARAM_KEYS = {"worst_case": ("H", "V", "GM", "LOSS", "FLOOR", "SHORT"), "es": ("H", "V", "LOSS", "a", "b"),
               "quantile": ("H", "V", "LOSS", "a", "b"),
               "var": ("H", "V", "GM", "D", "K", "KN", "KQ")}
_CREDIT_KEYS = ("D", "PSM", "CM", "PG", "PH", "CR", "KC")
_FIELDS = ("format", "venue", "epoch", "model", "shape", "scale", "options", "instruments", "assets",
           "market", "params", "meta", "digest")


def params_from_json(doc, where: str = "params", trust: "tr.Trust | None" = None) -> ParamsFile:
    """Parse a parameter file strictly; ``meta`` and the digest are recomputed and must match.
    With ``trust``, the venue's signature over the stated digest is checked first, so a file
    nobody trusted signed is refused before the (slow) Poseidon digest is recomputed."""
    doc = jio.expect_object(doc, where)
    if doc.get("format") != PARAMS_FORMAT:
        raise ProtocolError(f"{where}: not a {PARAMS_FORMAT} file")
    jio.expect_keys(doc, where, _FIELDS, ("signature",))
    try:
        venue = jio.name(doc["venue"], f"{where}.venue")
        epoch = jio.integer(doc["epoch"], f"{where}.epoch", 0, MAX_EPOCH)
        model = jio.choice(doc["model"], f"{where}.model", tuple(MODEL_CODES))
        sd = jio.expect_keys(jio.expect_object(doc["shape"], f"{where}.shape"), f"{where}.shape",
                             ("family", "instruments", "assets", "groups", "scenarios", "accounts", "params"),
                             ("pairs",))
        shape = Shape(jio.string(sd["family"], f"{where}.shape.family", max_len=16),
                      *(jio.integer(sd[k], f"{where}.shape.{k}", 0, 1 << 16)
                        for k in ("instruments", "assets", "groups", "scenarios", "accounts")),
                      jio.string(sd["params"], f"{where}.shape.params", max_len=16),
                      jio.integer(sd["pairs"], f"{where}.shape.pairs", 1, 1 << 16) if "pairs" in sd else 0)
        if doc["scale"] != SCALE:
            raise ProtocolError(f"{where}.scale: not the scales this version uses ({SCALE})")
        options = jio.expect_keys(jio.expect_object(doc["options"], f"{where}.options"),
                                  f"{where}.options", (), OPTION_KEYS)
        for k, v in options.items():
            jio.string(v, f"{where}.options.{k}", max_len=32)
        body = jio.expect_keys(jio.expect_object(doc["params"], f"{where}.params"), f"{where}.params",
                               _PARAM_KEYS[shape.family] + (_CREDIT_KEYS if shape.pairs else ()))

        def ints(key, length):
            return tuple(jio.integer(v, f"{where}.params.{key}[{i}]")
                         for i, v in enumerate(jio.array(body[key], f"{where}.params.{key}", length=length)))

        def rows(key, n, m):
            return tuple(tuple(jio.integer(v, f"{where}.params.{key}[{i}]")
                               for v in jio.array(r, f"{where}.params.{key}[{i}]", length=m))
                         for i, r in enumerate(jio.array(body[key], f"{where}.params.{key}", length=n)))

        n, c, G, S, P = shape.instruments, shape.assets, shape.groups, shape.scenarios, shape.pairs
        credit_count = n + 2 * G + P * (2 * G + 1) + 1 if P else 0
        if c + n + n * (G + S + 2) + G * G + 4 + credit_count > MAX_PARAMETERS:     # before reading any
            raise ProtocolError(f"{where}.shape: more than {MAX_PARAMETERS} parameters")
        kw: dict = {}
        if shape.family in ("worst_case", "var"):
            kw["GM"] = rows("GM", n, G)
        if shape.family in ("worst_case", "es", "quantile"):
            kw["LOSS"] = rows("LOSS", n, S)
        if shape.family == "worst_case":
            kw.update(FLOOR=ints("FLOOR", n), SHORT=ints("SHORT", n))
            if P:
                kw.update(D=ints("D", n), PSM=ints("PSM", G), CM=ints("CM", G), PG=rows("PG", P, G),
                          PH=rows("PH", P, G), CR=ints("CR", P), KC=jio.integer(body["KC"], f"{where}.params.KC"))
        if shape.family in ("es", "quantile"):
            kw.update(a=jio.integer(body["a"], f"{where}.params.a"), b=jio.integer(body["b"], f"{where}.params.b"))
        if shape.family == "var":
            kw.update(D=ints("D", n), K=rows("K", G, G), KN=jio.integer(body["KN"], f"{where}.params.KN"),
                      KQ=jio.integer(body["KQ"], f"{where}.params.KQ"))
        params = CircuitParams(model, shape, ints("H", c), ints("V", n), **kw)
        params.check_bounds()
        from zkmargin.margin.market import parse_market
        market_doc = jio.expect_object(doc["market"], f"{where}.market")
        market = parse_market(market_doc)
        insts = instruments_from_dicts(doc["instruments"], market)
        for k, (raw, inst) in enumerate(zip(doc["instruments"], insts)):
            if instrument_to_dict(inst) != raw:       # what is hashed is what is used
                raise ProtocolError(f"{where}.instruments[{k}]: not in canonical form "
                                    "(write it as `venue params` does)")
        assets = tuple(jio.string(a, f"{where}.assets", max_len=64)
                       for a in jio.array(doc["assets"], f"{where}.assets", max_len=256))
        if len(assets) > c:
            raise ProtocolError(f"{where}.assets: {len(assets)} assets do not fit a shape of {c}")
        if len(insts) > n:
            raise ProtocolError(f"{where}.instruments: {len(insts)} instruments do not fit a shape of {n}")
        check_slots(insts, assets, market, where)
        sig = tr.Signature.from_json(doc["signature"], f"{where}.signature") if "signature" in doc else None
        pf = ParamsFile(venue, epoch, model, params, tuple(insts), assets, market_doc, dict(options), sig)
        scenario_policy(model, market, options, f"{where}.options")
    except (ParameterError, InputError) as e:
        raise ProtocolError(f"{where}: {e}") from None
    if trust is not None:
        claimed = jio.integer(doc["digest"], f"{where}.digest", 0, 1 << 256)
        why = pf.signature_problem(trust, digest=claimed)
        if why:
            raise ProtocolError(f"{where}: {why}")
    meta = meta_hash(pf.meta_doc())
    if str(meta) != str(doc["meta"]):
        raise ProtocolError(f"{where}: meta does not match the file's fields (file altered?)")
    pf = replace(pf, params=replace(pf.params, meta=meta))
    if str(pf.digest) != str(doc["digest"]):
        raise ProtocolError(f"{where}: digest does not match the parameters (file altered?)")
    return pf


def write_params(pf: ParamsFile, path, *, overwrite: bool = True) -> None:
    jio.write_json(path, pf.to_json(), overwrite=overwrite)


def read_params(path, trust: "tr.Trust | None" = None) -> ParamsFile:
    p = Path(path)
    return params_from_json(jio.read_json(p, "params"), f"params {p.name}", trust)


def recompute_problems(pf: ParamsFile) -> list[str]:
    """Re-derive the integer parameters from the file's market, instruments and options; the
    names of the parameters that differ (empty when the venue's numbers follow its model)."""
    fresh, _ = _compute(pf.model, list(pf.instruments), pf.market, pf.shape, pf.assets, pf.options)
    out = []
    for name in ("H", "V", "GM", "LOSS", "FLOOR", "SHORT", "a", "b", "D", "K", "KN", "KQ",
                 "PSM", "CM", "PG", "PH", "CR", "KC"):
        if getattr(fresh, name) != getattr(pf.params, name):
            out.append(name)
    return out


__all__ = ["PARAMS_FORMAT", "ProtocolError", "ParamsFile", "make_params_file", "params_from_json",
           "read_params", "write_params", "recompute_problems", "meta_hash", "instrument_to_dict",
           "instruments_from_dicts", "scenario_policy", "with_vol_history"]
