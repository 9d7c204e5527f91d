"""Groth16 keys for a solvency circuit shape, and the setup record that says where they came from.

* :func:`setup_keys` -- circuit of a shape (structure only) → R1CS → snarkjs-compatible key
  from a ``.ptau`` → one phase-2 contribution (so delta ≠ 1). With ``ptau_path`` (a public
  ceremony file) a fresh key is made; without it the DEVELOPMENT-ONLY :func:`dev_ptau` is used
  and the finished development key is cached per circuit.
* :class:`SetupRecord` (``zkmargin/setup/v1``, written by ``venue setup`` as ``setup.json``
  beside the keys) -- the verifying-key fingerprint, the circuit (R1CS hash, shape), where
  phase 1 came from (``development``: made on this machine by one party; ``ceremony``: a
  file, with its SHA-256 and contributions; ``unknown``), the phase-2 contributions,
  ``development_only``, and (for a key that is not the trader's solvency circuit) the circuit
  it is for (``venue-batch/B``: a venue's batch circuit). The venue signs it (role ``setup``).

Whether a key is development-only is a property of the key and its record, never of what a
prover writes into a bundle: ``zkmargin verify --no-dev`` reads the record the verifier was
given (``--setup``), checks that it is for the verifier's own verifying key and, with a trust
file, that a trusted key signed it. Who knows the trapdoor: a development key's creator knows
tau and can forge; with a public phase 1, each phase-2 contributor alone knows its share of
delta, and knowing delta suffices to forge, so a key is sound if one contributor was honest
(``zkmargin zkey contribute``, then ``zkmargin venue record`` to refresh the record).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from zkmargin.circuits.margin_circuits import CircuitParams, Shape, build_solvency_circuit, dummy_inputs
from zkmargin.formats import jsonio as jio

from . import trust as tr
from .params import ParamsFile, ProtocolError

DEV_PTAU_LABEL = "DEVELOPMENT-ONLY single-party powers of tau (zkmargin dev)"
DEV_CONTRIBUTION = "zkmargin DEVELOPMENT-ONLY"
SETUP_FORMAT = "zkmargin/setup/v1"
#: Phase-2 contributions a production key needs (the venue's own and one independent one).
MIN_PHASE2_CONTRIBUTIONS = 2
SETUP_SIGNATURE_DOMAIN = "zkmargin/setup-signature/v1"
PHASE1_SOURCES = ("development", "ceremony", "unknown")
#: The circuit a key is for: the trader's solvency circuit of the record's shape, or a venue's
#: batch circuit of B accounts (``venue-batch/B``, docs/VENUE_SOLVENCY.md). A record names it so
#: that a key vouched for one circuit can never be accepted for the other.
SOLVENCY_CIRCUIT = "solvency"
_CIRCUIT_RE = re.compile(r"solvency|venue-batch/[1-9][0-9]{0,5}")

Progress = Optional[Callable[[str], None]]


def cache_dir() -> Path:
    """Where the development ptau and keys are cached: $ZKMARGIN_CACHE or ~/.cache/zkmargin
    (see :mod:`zkmargin.prover.dev_cache`)."""
    from zkmargin.prover.dev_cache import cache_dir as _cache_dir
    return _cache_dir()


def _lagrange_scalars(pows: np.ndarray, top: int, truncated_top: bool = False) -> np.ndarray:
    """The scalars of a prepared Lagrange section from ``pows[j] = f tau^j``: for each domain
    size m = 2^k, k <= top, the block ``f L_i(tau)``, i < m
    (:func:`~zkmargin.prover.ptau.lagrange_block_scalars`), concatenated.  With
    ``truncated_top`` the largest block takes the missing top power f tau^(m-1) as zero
    (snarkjs' largest tau*G1 block)."""
    from zkmargin.prover.ptau import lagrange_block_scalars

    return np.concatenate([lagrange_block_scalars(pows, 2 ** k, missing_top=truncated_top and k == top)
                           for k in range(top + 1)])


def _prepared_sections(tau: int, alpha: int, beta: int, power: int, ticks=None) -> dict:
    """The four Lagrange sections of a prepared ptau (all sizes 2^0 .. 2^top, concatenated),
    computed directly from known secrets: the scalars by inverse NTTs of the power vectors
    (:func:`_lagrange_scalars`), the points by fixed-base scalar multiplication.  ``ticks(what,
    done, total)`` is told each section (weights: points, a G2 point counted as 3)."""
    from zkmargin.algebra import G1_GEN, G2_GEN, g1_fixed_base_muls, g2_fixed_base_muls
    from zkmargin.algebra.kernel_set import kernel_set

    ks = kernel_set()
    n = 2 ** power
    tau_pows = ks.powers(tau, 2 * n)
    jobs = [("lagrange_tau_g1", "tau*G1", 4 * n, lambda: g1_fixed_base_muls(
                G1_GEN, _lagrange_scalars(tau_pows, power + 1, truncated_top=True))),
            ("lagrange_tau_g2", "tau*G2", 6 * n, lambda: g2_fixed_base_muls(G2_GEN, _lagrange_scalars(tau_pows, power))),
            ("lagrange_alpha_tau_g1", "alpha*tau*G1", 2 * n, lambda: g1_fixed_base_muls(
                G1_GEN, _lagrange_scalars(ks.powers(tau, n, alpha), power))),
            ("lagrange_beta_tau_g1", "beta*tau*G1", 2 * n, lambda: g1_fixed_base_muls(
                G1_GEN, _lagrange_scalars(ks.powers(tau, n, beta), power)))]
    total, done, out = sum(w for _, _, w, _ in jobs), 0, {}
    for name, label, weight, make in jobs:
        if ticks:
            ticks(f"Lagrange sections: {label}", done, total)
        out[name] = make()
        done += weight
    return out


#: What made a development ptau, step by step (named in its cache record and in errors).
DEV_PTAU_STEPS = {"contribute": "powersoftau new + one contribution (g1_scale_each / g2_scale_each kernels)",
                  "lagrange": "Lagrange sections from the secrets (_prepared_sections: iNTT scalars, "
                              "g1/g2_fixed_base_muls kernels)"}
DEV_PTAU_CHECK = ("ptau.validate: every point on its curve and G2 points in the subgroup, the "
                  "contribution chain, the pairing-ratio checks of every section and the Lagrange sections")


def dev_ptau(power: int, progress: Progress = None, *, ticks=None):
    """A DEVELOPMENT-ONLY prepared powers of tau (see :func:`_dev_ptau_and_secrets`)."""
    from zkmargin.algebra.fixed_base_wide import clear_tables

    acc = _dev_ptau_and_secrets(power, progress, ticks=ticks)[0]
    clear_tables()                   # the 16-bit fixed-base tables (~200 MB) are not needed now
    return acc


def _dev_ptau_and_secrets(power: int, progress: Progress = None, *, ticks=None):
    """(ptau, its secrets if this call made it, else None): a DEVELOPMENT-ONLY prepared
    powers of tau, cached on disk (:func:`cache_dir`).

    It is ``powersoftau new`` + one contribution + ``prepare phase2``, except that the
    Lagrange sections are computed directly from the contribution's secrets (fixed-base
    multiplications, much faster than group FFTs) before the secrets are dropped. One party
    ran it: whoever did could forge proofs. Use a public ceremony file (``--ptau``) in
    production.

    The file is self-checked (:func:`zkmargin.prover.ptau.validate`) before it is cached and
    again when it is loaded (:mod:`zkmargin.prover.dev_cache`): a bad one raises
    :class:`~zkmargin.prover.dev_cache.ArtifactError` naming the step that made it; a bad
    cached one is reported and left in place, never silently rebuilt. ``ticks(what, done,
    total)`` receives fine-grained progress.  The secrets (:class:`PhaseOneSecrets`) live in
    memory only: the caller may make a key with them (:func:`setup_keys`), then drops them."""
    import secrets

    from zkmargin.algebra.constants import R
    from zkmargin.prover import dev_cache
    from zkmargin.prover import ptau as pt
    from zkmargin.prover.setup import PhaseOneSecrets

    say = progress or (lambda _m: None)
    path = cache_dir() / f"dev-power{power}.ptau"
    if path.exists():
        acc, rec = dev_cache.load_checked(path, pt.parse_ptau, pt.validate,
                                          made_by_unknown="dev_ptau (an older zkmargin)")
        if not acc.is_prepared or acc.power != power:
            raise dev_cache.bad_cached(path, rec, f"it is not a prepared power-{power} ptau")
        return acc, None
    say(f"generating a {DEV_PTAU_LABEL}, power {power} (cached for later runs)")
    t0 = time.perf_counter()
    tau, alpha, beta = (secrets.randbelow(R - 1) + 1 for _ in range(3))
    acc = pt.contribute(pt.new_accumulator(power), DEV_CONTRIBUTION, _secrets=(tau, alpha, beta),
                        progress=ticks)
    acc = replace(acc, **_prepared_sections(tau, alpha, beta, power, ticks))
    phase1_secrets = PhaseOneSecrets(tau, alpha, beta)
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
    return acc, phase1_secrets


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
    """A proving key, its verifying key, and what the setup record needs to say about them."""

    pk: object
    vk: object
    development_only: bool
    n_constraints: int
    phase1: dict = field(default_factory=dict)
    r1cs_sha256: str = ""


#: What made a key, step by step (named in its cache record and in errors).
DEV_KEY_STEPS = {"setup": "groth16 setup (sparse matrix x Lagrange basis kernels, or fixed-base "
                          "multiples from the secrets of a development ptau made in the same run)",
                 "contribute": "one phase-2 contribution (g1_scale_each kernels)"}
DEV_KEY_CHECK = ("phase2.check_key: every point on its curve and B2 in the subgroup, the sections "
                 "against the ptau's Lagrange bases (random linear combinations, pairings), the "
                 "contribution chain")


def _dev_ptau_powers() -> list[int]:
    """The powers of the development ptau files in the cache, smallest first."""
    return sorted(int(p.stem[len("dev-power"):]) for p in cache_dir().glob("dev-power*.ptau")
                  if p.stem[len("dev-power"):].isdigit())


def _load_cached_dev_key(cached: Path, r1cs, need: int, progress: Progress):
    """A cached development key, checked (:mod:`zkmargin.prover.dev_cache`): against its record
    when it has a valid one, else against the development ptau it came from."""
    from zkmargin.formats.zkey import parse_zkey
    from zkmargin.prover import dev_cache, phase2

    def check(pk):
        rec = dev_cache.read_record(cached) or {}
        powers = [rec["ptau_power"]] if isinstance(rec.get("ptau_power"), int) else \
            [h for h in _dev_ptau_powers() if h >= need]
        powers = [h for h in powers if cache_dir().joinpath(f"dev-power{h}.ptau").exists()]
        if not powers:
            # its ptau is gone: check everything that does not need it (points, B1/B2, delta
            # and the contribution chain)
            return phase2.check_key(pk, r1cs, None)
        report = None
        for h in powers:
            report = phase2.check_key(pk, r1cs, dev_ptau(h, progress))
            if report.ok:
                break
        return report

    pk, _ = dev_cache.load_checked(cached, parse_zkey, check,
                                   made_by_unknown="setup_keys (an older zkmargin)")
    return pk


def setup_keys(shape: Shape, ptau_path=None, *, model: str | None = None, progress: Progress = None,
               contributor: str = "zkmargin setup", reuse_dev: bool = True,
               params: CircuitParams | None = None, ceremony: str | None = None, circuit=None,
               ticks=None, precompile_witness: bool = False) -> Keys:
    """Groth16 keys for ``shape``: circuit → R1CS → snarkjs-compatible setup → one phase-2
    contribution (so delta ≠ 1). With ``ptau_path`` (a public ceremony file) a fresh key is made.
    Without it the DEVELOPMENT-ONLY :func:`dev_ptau` is used, and (``reuse_dev``) the finished
    development key is cached per circuit (keyed by the SHA-256 of its .r1cs bytes).
    ``circuit`` (anything with a ``cs``, e.g. a venue batch circuit) replaces the shape's
    solvency circuit.

    Every key is self-checked against its ptau (:func:`zkmargin.prover.phase2.check_key`)
    before it is returned or cached, and a cached one again when it is loaded; a bad one raises
    :class:`~zkmargin.prover.dev_cache.ArtifactError` (never silently rebuilt).
    ``progress(message)`` gets stage lines, ``ticks(what, done, total)`` fine-grained progress.
    ``precompile_witness`` (with ``params``, for the shape's solvency circuit) also compiles and
    caches the shape's witness program from the circuit built here
    (:func:`zkmargin.solvency.witness.precompile`), so a trader's first proof does not pay it."""
    from zkmargin.formats.r1cs import r1cs_to_bytes
    from zkmargin.formats.zkey import zkey_to_bytes
    from zkmargin.prover import dev_cache, phase2
    from zkmargin.prover import ptau as pt
    from zkmargin.prover import setup as st
    from zkmargin.prover.groth16 import verifying_key_of

    say = progress or (lambda _m: None)
    t0 = time.perf_counter()
    circ = circuit if circuit is not None else setup_circuit(shape, model, params)
    r1cs = circ.cs.to_r1cs()
    n_c = len(circ.cs.constraints)
    power = st.circuit_power(n_c, circ.cs.n_public)
    say(f"circuit: {n_c} constraints, domain 2^{power} (built in {time.perf_counter() - t0:.1f} s)")
    if precompile_witness and circuit is None and params is not None and model in (None, params.model):
        _precompile_witness(shape, params, circ, say)
    # snarkjs' circuit hash reads tau*G1 points up to 2n (not 2n − 1) once n − 1 > 2^14, so
    # domains of 2^15 and more need a ptau one power larger (see prover/setup.py)
    need = power if power <= 14 else power + 1
    cached = None
    r1cs_hash = hashlib.sha256(r1cs_to_bytes(r1cs)).hexdigest()
    if ptau_path is None and reuse_dev:
        cached = cache_dir() / f"dev-{r1cs_hash[:24]}.zkey"
        if cached.exists():
            pk = _load_cached_dev_key(cached, r1cs, need, progress)
            say(f"reusing the cached DEVELOPMENT-ONLY key for this circuit ({n_c} constraints, checked)")
            return Keys(pk, verifying_key_of(pk), True, n_c, _dev_phase1(power), r1cs_hash)
    phase1_secrets = None
    if ptau_path is None:
        ptau_power = next((h for h in _dev_ptau_powers() if h >= need), need)
        acc, phase1_secrets = _dev_ptau_and_secrets(ptau_power, progress, ticks=ticks)
        dev, phase1 = True, _dev_phase1(acc.power)
    else:
        acc, ptau_power = pt.read_ptau(ptau_path), None
        phase1 = _file_phase1(ptau_path, acc, ceremony, progress)
        dev = phase1["source"] != "ceremony"
    say("setup: Groth16 key (snarkjs-compatible) + one phase-2 contribution"
        + (" (from the secrets of the development ptau just made)" if phase1_secrets else ""))
    t1 = time.perf_counter()
    pk0 = st.new_proving_key(r1cs, acc, progress=ticks, secrets=phase1_secrets)
    del phase1_secrets
    from zkmargin.algebra.fixed_base_wide import clear_tables
    clear_tables()                   # the 16-bit fixed-base tables (~200 MB) are not needed now
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
    return Keys(pk, verifying_key_of(pk), dev, n_c, phase1, r1cs_hash)


def _precompile_witness(shape: Shape, params: CircuitParams, circ, say: Callable[[str], None]) -> None:
    """Compile the shape's witness program from the setup circuit (unless cached)."""
    from . import witness

    t = time.perf_counter()
    try:
        made = witness.precompile(shape, params, circ)
    except Exception as e:  # noqa: BLE001 - optional: the first prove compiles it instead
        say(f"witness program not precompiled ({type(e).__name__}: {e}); the first prove will compile it")
        return
    if made:
        say(f"witness program compiled for the trader's first proof ({time.perf_counter() - t:.1f} s, cached)")


def vk_fingerprint(vk) -> str:
    """sha256 over the canonical JSON of the snarkjs verification key."""
    import hashlib

    from zkmargin.formats.snarkjs_json import verifying_key_to_json
    return "sha256:" + hashlib.sha256(jio.canonical_bytes(verifying_key_to_json(vk))).hexdigest()




# ----------------------------------------------------------------------------- setup record

def _dev_phase1(power: int) -> dict:
    return {"source": "development", "ceremony": "", "ptau_blake2b": "", "power": power,
            "contributions": [DEV_CONTRIBUTION]}


def _file_phase1(path, acc, ceremony: str | None = None, progress: Progress = None) -> dict:
    """Phase-1 facts of a ptau file (module docstring of :mod:`.ceremonies`):

    * ``development`` -- a contribution carries the development label (the cached development
      ptau passed back in), or there is no contribution at all;
    * ``ceremony`` -- the file is a recognised public ceremony file (by its BLAKE2b-512), or the
      venue names the ceremony (``ceremony``) and the whole contribution chain verifies;
    * ``unknown`` -- anything else (a file someone made, unnamed): treated as development-only.
    """
    from zkmargin.prover import ptau as pt

    from .ceremonies import known_ceremony
    h = hashlib.blake2b(digest_size=64)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    digest = h.hexdigest()
    names = [c.name or "" for c in acc.contributions]
    out = {"source": "unknown", "ceremony": "", "ptau_blake2b": digest, "power": acc.power, "contributions": names}
    if not names or any("DEVELOPMENT-ONLY" in n for n in names):
        return dict(out, source="development")
    known = known_ceremony(digest)
    if known:
        return dict(out, source="ceremony", ceremony=known)
    if ceremony:
        if progress:
            progress("verifying the ptau file's contribution chain (a named ceremony)")
        rep = pt.verify(acc)
        if not rep.ok:
            raise ProtocolError("the ptau file does not verify: " + "; ".join(rep.errors[:3]))
        return dict(out, source="ceremony", ceremony="declared by the venue: " + jio.printable(ceremony, 200))
    return out


def _phase2(pk) -> list[dict]:
    from zkmargin.formats.zkey import mpc_params
    from zkmargin.prover.phase2 import contribution_hash
    return [{"name": c.name or "", "hash": contribution_hash(c).hex()} for c in mpc_params(pk).contributions]


@dataclass(frozen=True)
class SetupRecord:
    """Where a verifying key came from (module docstring)."""

    venue: str
    shape: Shape
    model: str
    r1cs_sha256: str
    constraints: int
    domain_power: int
    vk_fingerprint: str
    phase1: dict
    phase2: tuple
    signature: Optional[tr.Signature] = None
    #: which circuit of the shape the key is for (:data:`SOLVENCY_CIRCUIT` or ``venue-batch/B``)
    circuit: str = SOLVENCY_CIRCUIT

    @property
    def development_only(self) -> bool:
        return self.phase1.get("source") != "ceremony"

    def matches(self, pf: ParamsFile, circuit: str = SOLVENCY_CIRCUIT) -> bool:
        """Is this the record of a key for ``pf``: its venue, its shape, the ``circuit`` (the
        trader's solvency circuit unless named) and (unless the key serves every model of a
        family, digest mode) its model?"""
        from zkmargin.circuits.margin_circuits import MODEL_FAMILY
        same_model = self.model == pf.model or (self.shape.params == "digest"
                                                 and MODEL_FAMILY.get(self.model) == MODEL_FAMILY[pf.model])
        return (self.venue == pf.venue and self.shape == pf.shape and same_model
                and self.circuit == circuit)

    def production_problem(self, min_contributions: int = MIN_PHASE2_CONTRIBUTIONS) -> str | None:
        """Why the key is not production-grade (None when it is): phase 1 must come from a
        ceremony, and phase 2 needs at least ``min_contributions`` contributions (any single
        contributor alone knows delta, which suffices to forge)."""
        if self.development_only:
            return f"DEVELOPMENT-ONLY setup (phase 1: {self.phase1.get('source')})"
        if len(self.phase2) < min_contributions:
            return (f"{len(self.phase2)} phase-2 contribution(s), at least {min_contributions} independent "
                    "ones are required")
        return None

    def to_json(self, with_signature: bool = True) -> dict:
        doc = {"format": SETUP_FORMAT, "venue": self.venue, "shape": self.shape.as_dict(), "model": self.model,
               "r1cs_sha256": self.r1cs_sha256, "constraints": self.constraints,
               "domain_power": self.domain_power, "vk_fingerprint": self.vk_fingerprint,
               "phase1": dict(self.phase1), "phase2": [dict(c) for c in self.phase2],
               "development_only": self.development_only}
        if self.circuit != SOLVENCY_CIRCUIT:       # absent for the trader circuit (older records)
            doc["circuit"] = self.circuit
        if with_signature and self.signature is not None:
            doc["signature"] = self.signature.to_json()
        return doc

    def record_hash(self) -> str:
        return hashlib.sha256(jio.canonical_bytes(self.to_json(with_signature=False))).hexdigest()

    def signed(self, key: Ed25519PrivateKey, signer: str) -> "SetupRecord":
        body = {"record": self.record_hash(), "signer": signer}
        return replace(self, signature=tr.Signature(signer, tr.public_hex(key),
                                                    tr.sign(key, SETUP_SIGNATURE_DOMAIN, body)))

    def signature_problem(self, trust: tr.Trust, venue: str | None = None) -> str | None:
        """None when a key ``trust`` accepts for role ``setup`` signed the record (and, with
        ``venue``, when that signer is the venue itself)."""
        s = self.signature
        if s is None:
            return "the setup record is not signed (venue setup --key)"
        if venue is not None and (s.signer != venue or self.venue != venue):
            return f"the setup record is signed by {s.signer} for {self.venue}, not by the venue {venue}"
        why = trust.check(s.signer, s.public_key, "setup")
        if why:
            return why
        if not tr.signature_ok(s.public_key, s.signature, SETUP_SIGNATURE_DOMAIN,
                               {"record": self.record_hash(), "signer": s.signer}):
            return "signature does not verify"
        return None


def check_setup_record(add, notes: list, setup: "SetupRecord | None", fingerprint: str, pf: ParamsFile,
                       trust: "tr.Trust | None", allow_development: bool, *,
                       circuit: str = SOLVENCY_CIRCUIT, key: str = "verifying key") -> None:
    """The verifier's checks of who vouches for a key, shared by the trader's bundle and the venue's
    tree: ``setup record`` (the record is for this key, ``circuit`` and parameter file; required
    with a trust file, since a key made by the prover would accept anything), ``setup record
    signature`` (the venue's, role ``setup``) and, with ``allow_development=False``, ``setup``
    (production-grade: a ceremony phase 1 and enough phase-2 contributions). ``add(name, ok,
    reason)`` records a check; a development key that is allowed adds a note."""
    if setup is not None:
        add("setup record", setup.vk_fingerprint == fingerprint and setup.matches(pf, circuit),
            f"the setup record is not the record of this {key} for the {circuit} circuit of this "
            "parameter file (another key, circuit, shape, model or venue)")
        if trust is not None:
            why = setup.signature_problem(trust, pf.venue)
            add("setup record signature", why is None, why or "")
        why = setup.production_problem()
        if why:
            if allow_development:
                notes.append(f"the {key} is not production-grade ({why}): whoever ran its setup could forge "
                             "proofs; use --no-dev to refuse such keys")
            else:
                add("setup", False, why)
        return
    if trust is not None:
        add("setup record", False, f"no setup record (--setup): nobody vouches that this {key} is the "
                                   "venue's (a key made by someone else would accept anything)")
    else:
        notes.append(f"no setup record given: nothing ties the {key} to the venue")
    if not allow_development:
        add("setup", False, f"no setup record (--setup): cannot show the {key} is not development-only")


def setup_record(keys: Keys, pf: ParamsFile, circuit: str = SOLVENCY_CIRCUIT) -> SetupRecord:
    pk = keys.pk
    return SetupRecord(pf.venue, pf.shape, pf.model, keys.r1cs_sha256, keys.n_constraints,
                       pk.domain_size.bit_length() - 1, vk_fingerprint(keys.vk), dict(keys.phase1),
                       tuple(_phase2(pk)), circuit=_check_circuit(circuit, "circuit"))


def _check_circuit(name, where: str) -> str:
    if not isinstance(name, str) or not _CIRCUIT_RE.fullmatch(name):
        raise ProtocolError(f"{where}: not a circuit name (solvency or venue-batch/B)")
    return name


def setup_record_from_json(doc, where: str = "setup record") -> SetupRecord:
    doc = jio.expect_object(doc, where)
    if doc.get("format") != SETUP_FORMAT:
        raise ProtocolError(f"{where}: not a {SETUP_FORMAT} file")
    jio.expect_keys(doc, where, ("format", "venue", "shape", "model", "r1cs_sha256", "constraints",
                                 "domain_power", "vk_fingerprint", "phase1", "phase2", "development_only"),
                    ("signature", "circuit"))
    p1 = jio.expect_keys(jio.expect_object(doc["phase1"], f"{where}.phase1"), f"{where}.phase1",
                         ("source", "ceremony", "ptau_blake2b", "power", "contributions"))
    phase1 = {"source": jio.choice(p1["source"], f"{where}.phase1.source", PHASE1_SOURCES),
              "ceremony": jio.string(p1["ceremony"], f"{where}.phase1.ceremony", max_len=256),
              "ptau_blake2b": jio.string(p1["ptau_blake2b"], f"{where}.phase1.ptau_blake2b", max_len=128),
              "power": jio.integer(p1["power"], f"{where}.phase1.power", 0, 64),
              "contributions": [jio.string(n, f"{where}.phase1.contributions", max_len=256)
                                for n in jio.array(p1["contributions"], f"{where}.phase1.contributions",
                                                   max_len=10_000)]}
    phase2 = []
    for k, c in enumerate(jio.array(doc["phase2"], f"{where}.phase2", max_len=10_000)):
        w = f"{where}.phase2[{k}]"
        jio.expect_keys(jio.expect_object(c, w), w, ("name", "hash"))
        phase2.append({"name": jio.string(c["name"], f"{w}.name", max_len=256),
                       "hash": jio.string(c["hash"], f"{w}.hash", max_len=128)})
    try:
        shape = Shape.from_dict(jio.expect_object(doc["shape"], f"{where}.shape"))
    except ValueError as e:
        raise ProtocolError(f"{where}.shape: {e}") from None
    rec = SetupRecord(jio.name(doc["venue"], f"{where}.venue"), shape,
                      jio.string(doc["model"], f"{where}.model", max_len=32),
                      jio.string(doc["r1cs_sha256"], f"{where}.r1cs_sha256", max_len=64),
                      jio.integer(doc["constraints"], f"{where}.constraints", 0, 1 << 32),
                      jio.integer(doc["domain_power"], f"{where}.domain_power", 0, 64),
                      jio.string(doc["vk_fingerprint"], f"{where}.vk_fingerprint", max_len=80),
                      phase1, tuple(phase2),
                      tr.Signature.from_json(doc["signature"], f"{where}.signature") if "signature" in doc else None,
                      _check_circuit(doc.get("circuit", SOLVENCY_CIRCUIT), f"{where}.circuit"))
    if jio.boolean(doc["development_only"], f"{where}.development_only") != rec.development_only:
        raise ProtocolError(f"{where}: development_only contradicts phase1.source")
    return rec


def read_setup_record(path) -> SetupRecord:
    p = Path(path)
    return setup_record_from_json(jio.read_object(p, "setup record"), f"setup record {p.name}")


def write_setup_record(rec: SetupRecord, path, *, overwrite: bool = True) -> None:
    jio.write_json(path, rec.to_json(), overwrite=overwrite)


def record_for_zkey(pk, pf: ParamsFile, ptau_path=None, *, ceremony: str | None = None,
                    progress: Progress = None, circuit=None, circuit_name: str = SOLVENCY_CIRCUIT) -> SetupRecord:
    """A fresh record for a key that changed after ``venue setup`` (``zkey contribute``). With
    ``ptau_path`` the key is first verified against the circuit and that ceremony file (the
    whole contribution chain, as ``zkey verify`` does); without it phase 1 is ``unknown``.
    ``circuit`` (with ``circuit_name``, e.g. a venue batch circuit) replaces the shape's
    solvency circuit."""
    from zkmargin.formats.r1cs import r1cs_to_bytes
    from zkmargin.prover import phase2
    from zkmargin.prover import ptau as pt
    from zkmargin.prover.groth16 import verifying_key_of
    circ = circuit if circuit is not None else setup_circuit(pf.shape, pf.model, pf.params)
    r1cs = circ.cs.to_r1cs()
    if ptau_path is not None:
        acc = pt.read_ptau(ptau_path)
        rep = phase2.verify(pk, r1cs, acc)
        if not rep.ok:
            raise ProtocolError("the key does not come from this circuit and ptau: " + "; ".join(rep.errors))
        p1 = _file_phase1(ptau_path, acc, ceremony, progress)
    else:
        p1 = {"source": "unknown", "ceremony": "", "ptau_blake2b": "", "power": 0, "contributions": []}
    keys = Keys(pk, verifying_key_of(pk), p1["source"] != "ceremony", len(circ.cs.constraints), p1,
                hashlib.sha256(r1cs_to_bytes(r1cs)).hexdigest())
    return setup_record(keys, pf, circuit_name)


__all__ = ["check_setup_record", "DEV_PTAU_LABEL", "SETUP_FORMAT", "SOLVENCY_CIRCUIT", "cache_dir", "dev_ptau", "setup_circuit", "Keys", "setup_keys",
           "vk_fingerprint", "SetupRecord", "setup_record", "setup_record_from_json", "read_setup_record",
           "write_setup_record", "record_for_zkey"]
