"""Verifying a venue tree, and many trader bundles, at scale.

:func:`verify_tree` checks, each by name (the table is in docs/VENUE_SOLVENCY.md):

* ``parameter file`` -- the statement's venue, epoch, model, shape and digest are the file's;
* ``parameter numbers`` -- the file's integer risk parameters follow from its own market,
  instruments and options (:func:`~zkmargin.solvency.params.recompute_problems`, as ``venue
  check``): here the venue is the prover, so its signature on a file whose LOSS rows it zeroed
  must not be enough (the market data itself remains the venue's word);
* ``expected epoch`` (and ``expected venue``) -- the statement is for the epoch (venue) the
  verifier is checking: an older, validly signed tree does not pass for this epoch;
* ``buffer`` -- the statement's buffer is at least the verifier's minimum (default 1.0 x the
  requirement, as for a trader's bundle): the venue chooses ``buffer_bps`` when it builds the
  tree, and a buffer of 0.0001 would count almost no account as short;
* ``trust`` -- without a trust file, fails unless ``allow_unsigned`` (then nobody vouches for the
  statement, the fund or the key); with one: ``parameter file signature`` (the venue's, role
  ``params``) and ``statement signature`` (the venue's, role ``solvency``, over every field of
  the statement: root, totals, shortfall, insurance fund, epoch, digest, batch size, key
  fingerprint, leaves hash);
* ``leaves`` -- leaves.bin has the statement's size and SHA-256, every leaf < r;
* ``distinct leaves`` -- no commitment twice, none equal to the padding leaf;
* ``batch files`` -- one proof for each batch 0..m−1 of the statement's batch size, each count
  min(B, n − jB) (the leaves are packed in book order);
* ``verifying key`` -- the supplied key is the one the statement names, and every proof names it;
* ``setup record`` -- the key's record is for this key, the ``venue-batch/B`` circuit and this
  parameter file; with a trust file it is required and ``setup record signature`` (the venue's,
  role ``setup``) is checked; ``setup`` -- with ``allow_development=False``, the record must be
  production-grade (a ceremony phase 1 and two phase-2 contributions, as the trader side);
* ``batch roots`` -- each batch root is the Merkle root of its slice of leaves.bin;
* ``top level`` -- the batch roots hash up to the published root (the verified combination);
* ``totals``, ``shortfall`` -- the batch sums add up to the published ones;
* ``insurance fund`` -- total shortfall <= insurance fund; ``insurance fund attestation`` (with
  reserves attestations, :mod:`.reserves`) -- holders trusted for ``reserves`` attest at least
  the fund;
* ``groth16`` -- every batch proof, by random-linear-combination batch verification over the
  public inputs the verifier rebuilt itself (statement context + the batch's index, count,
  root, sums); a failing batch is named.

The per-batch work (roots from leaves, Groth16 batches) runs as Dask tasks (``scheduler`` /
embedded ``LocalCluster``), or in this process with ``workers=0``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from zkmargin.circuits.venue_circuits import empty_leaf
from zkmargin.errors import ZkmarginError

from ..bundle import DEFAULT_MIN_BUFFER_BPS, Check
from ..keys import check_setup_record
from ..params import ParamsFile, ProtocolError
from . import files as fl
from .prove import expected_prefix
from .tree import combine

CHUNK = 64      # batches per verification task


@dataclass
class TreeReport:
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    statement: Optional[fl.TreeStatement] = None
    bad_batches: list = field(default_factory=list)
    #: the verdict of a valid report when it is not a whole tree's (an inclusion proof)
    claim: str = ""

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self):
        return [c for c in self.checks if not c.ok]

    def summary(self) -> str:
        if not self.valid:
            return "INVALID: " + "; ".join(f"{c.name}: {c.detail}" for c in self.failures)
        st = self.statement
        if self.claim:
            return "VALID: " + self.claim
        from zkmargin.margin.quantize import MONEY
        return (f"VALID: {st.accounts} accounts of venue {st.venue}, epoch {st.epoch}: every account covers "
                f"{st.buffer_bps / 10_000:g} x its {st.model} margin requirement or its shortfall is counted; total "
                f"shortfall {st.total_shortfall / MONEY:,.2f} USD <= insurance fund {st.insurance_fund / MONEY:,.2f} USD")

    def to_json(self) -> dict:
        out = {"valid": self.valid, "checks": [c.to_json() for c in self.checks], "notes": list(self.notes),
               "bad_batches": list(self.bad_batches)}
        if self.valid:
            out["statement"] = self.statement.to_json()
        return out


def _roots_task(shape, height: int, leaves) -> list[int]:
    from .tree import level
    return level(shape, leaves, height)


def _groth16_task(vk, items) -> dict:
    from zkmargin.verifier.batch import batch_verify
    res = batch_verify(vk, items)
    return {k: v for k, v in res.reasons.items()}


def _map(client, fn, chunks, *args):
    if client is None:
        return [fn(*args, c) for c in chunks]
    futs = [client.submit(fn, *args, c, pure=False, retries=2) for c in chunks]
    return client.gather(futs)


#: Leaves hashed per task for the batch roots (the compiled kernel: about 0.1 s of work).
ROOT_CHUNK_LEAVES = 1 << 14


def _key_checks(add, notes, st, pf, recs, vk, setup, trust, allow_development) -> None:
    """``verifying key``, ``setup record``, ``setup record signature``, ``setup``."""
    from ..keys import vk_fingerprint
    fp = vk_fingerprint(vk)
    bad_vk = [r.index for r in recs if r.vk_fingerprint != fp]
    if not st.vk_fingerprint:
        ok = add("verifying key", not bad_vk and trust is None,
                 "the statement names no batch key (it was never signed)" if not bad_vk
                 else f"batches {bad_vk[:5]} name another verifying key")
        if ok:
            notes.append("the statement names no batch key: the key is the one you supplied")
    else:
        add("verifying key", st.vk_fingerprint == fp and not bad_vk,
            "the supplied verifying key is not the one the statement names" if st.vk_fingerprint != fp
            else f"batches {bad_vk[:5]} name another verifying key")
    circuit = fl.circuit_name(st.batch)
    check_setup_record(add, notes, setup, fp, pf, trust, allow_development, circuit=circuit, key="batch key")


def verify_tree(tree_dir, pf: ParamsFile, *, vk, setup=None, trust=None, epoch: int | None = None,
                venue: str | None = None, allow_unsigned: bool = False, allow_development: bool = True,
                reserves=(), min_buffer_bps: int = DEFAULT_MIN_BUFFER_BPS, scheduler: str | None = None,
                workers: int | None = None, client=None) -> TreeReport:
    """Verify the tree folder ``tree_dir`` against the venue's parameter file, the batch
    verifying key ``vk`` and its ``setup`` record, the verifier's ``trust`` file and the
    ``epoch`` (and ``venue``) it expects (module docstring). ``reserves``: attestations of the
    insurance fund. ``min_buffer_bps``: the lowest buffer accepted (default 1.0 x the
    requirement). ``workers=0`` runs in this process."""
    tree = Path(tree_dir)
    rep = TreeReport()

    def add(name, ok, detail=""):
        rep.checks.append(Check(name, bool(ok), detail))
        return bool(ok)

    st = rep.statement = fl.read_statement(tree)
    same = (st.venue, st.epoch, st.model, st.shape, st.params_digest) == (pf.venue, pf.epoch, pf.model, pf.shape,
                                                                          pf.digest)
    if not add("parameter file", same, "the statement is not for this parameter file (venue, epoch, model, "
               "shape or digest)"):
        return rep
    from ..params import recompute_problems
    try:
        wrong = recompute_problems(pf)
        detail = f"{', '.join(wrong)} do not follow from the parameter file's own market and model"
    except ZkmarginError as e:
        wrong, detail = ["?"], f"the parameters cannot be re-derived from the file's market: {e}"
    add("parameter numbers", not wrong, detail)
    if epoch is None:
        add("expected epoch", False, "no expected epoch given: an older tree and its parameter file would pass "
                                     "(give the epoch you are checking)")
    else:
        add("expected epoch", st.epoch == int(epoch), f"the statement is for epoch {st.epoch}, expected {epoch} "
                                                      "(an old tree?)")
    if venue is not None:
        add("expected venue", st.venue == venue, f"the statement is for venue {st.venue}, expected {venue}")
    floor = max(1, int(min_buffer_bps))
    add("buffer", st.buffer_bps >= floor, f"the statement counts shortfalls against buffer {st.buffer_bps / 10_000:g}, "
                                          f"at least {floor / 10_000:g} is required")
    if trust is None:
        if allow_unsigned:
            rep.notes.append("no trust file: nobody vouches for the statement (insurance fund, batch key, epoch) "
                             "or the parameter file")
        else:
            add("trust", False, "no trust file: the venue's signatures over the statement, the parameter file and "
                                "the batch key's setup record cannot be checked (give a trust file, or explicitly "
                                "allow an unsigned statement)")
    else:
        why = pf.signature_problem(trust)
        add("parameter file signature", why is None, why or "")
        why = st.signature_problem(trust)
        add("statement signature", why is None, why or "")
    try:
        leaves = fl.read_leaves(tree, st)
        add("leaves", True)
    except ZkmarginError as e:
        add("leaves", False, str(e))
        return rep
    add("distinct leaves", len(set(leaves)) == len(leaves) and empty_leaf(st.shape) not in set(leaves),
        "a commitment appears twice (an account counted twice) or a real leaf is the padding leaf")
    proof_files = sorted((tree / fl.PROOFS).glob("batch-*.json")) if (tree / fl.PROOFS).is_dir() else []
    recs = []
    try:
        recs = [fl.read_batch_proof(p) for p in proof_files]
    except ZkmarginError as e:
        add("batch files", False, str(e))
        return rep
    B = st.batch
    m = st.batches
    idx = [r.index for r in recs]
    ok = (B <= 1 << st.depth and idx == list(range(m)) and all(r.batch == B for r in recs)
          and all(r.count == min(B, st.accounts - r.index * B) for r in recs)
          and all(len(r.totals) == st.shape.assets for r in recs))
    if not add("batch files", ok, f"need exactly one proof per batch 0..{m - 1} of {B} accounts, counts as "
               "packed (an account left out or a batch missing / repeated)"):
        return rep
    _key_checks(add, rep.notes, st, pf, recs, vk, setup, trust, allow_development)

    height = B.bit_length() - 1
    own = None
    if client is None and workers != 0:
        from .cluster import dask_client
        own = dask_client(scheduler, workers=workers)
        client = own.__enter__()
    try:
        step = max(B, ROOT_CHUNK_LEAVES)
        chunks = [leaves[k:k + step] for k in range(0, len(leaves), step)]
        roots = [r for part in _map(client, _roots_task, chunks, st.shape, height) for r in part]
        bad_roots = [j for j in range(m) if roots[j] != recs[j].root]
        add("batch roots", not bad_roots, f"batches {bad_roots[:5]}: root is not the Merkle root of their leaves")
        try:
            top = combine(st.shape, [r.root for r in recs], height, st.depth)
            why = "the batch roots do not hash up to the published root"
        except ProtocolError as e:          # a statement whose depth cannot hold its batches
            top, why = None, str(e)
        add("top level", top == st.root, why)
        totals = tuple(sum(r.totals[c] for r in recs) for c in range(st.shape.assets))
        add("totals", totals == st.totals, "the batch totals do not add up to the published totals")
        add("shortfall", sum(r.shortfall for r in recs) == st.total_shortfall,
            "the batch shortfalls do not add up to the published total shortfall")
        add("insurance fund", st.total_shortfall <= st.insurance_fund,
            "the total shortfall exceeds the insurance fund")
        if reserves:
            from .reserves import reserves_problem
            why = reserves_problem(list(reserves), trust, st.venue, st.epoch, st.insurance_fund)
            add("insurance fund attestation", why is None, why or "")
        else:
            rep.notes.append("no reserves attestation: that the insurance fund exists rests on the venue's word")
        items = [(expected_prefix(st, r.index) + [r.count, r.root, *r.totals, r.shortfall], r.proof) for r in recs]
        ichunks = [items[k:k + CHUNK] for k in range(0, m, CHUNK)]
        bad = {}
        for k, part in enumerate(_map(client, _groth16_task, ichunks, vk)):
            for i, why in part.items():
                bad[k * CHUNK + int(i)] = why
        rep.bad_batches = sorted(bad)
        add("groth16", not bad, "; ".join(f"batch {j}: {bad[j]}" for j in sorted(bad)[:5]))
    finally:
        if own is not None:
            own.__exit__(None, None, None)
    return rep


def _bundles_task(vk, pf, trust, setup, allow_development, allow_unattested, items) -> list:
    """``items``: [(path, expected nonce or None, nonce file given)] -> [(file, valid, summary,
    the bundle's account commitments)]."""
    from ..bundle import read_bundle, verify_bundle
    out = []
    for p, nonce, with_nonces in items:
        name = Path(p).name
        try:
            b = read_bundle(p)
            # the expected context is the parameter file's own venue and epoch (replay protection)
            r = verify_bundle(b, vk, pf, trust=trust, setup=setup, allow_development=allow_development,
                              allow_unattested=allow_unattested, venue=pf.venue, epoch=pf.epoch, nonce=nonce)
            if with_nonces and nonce is None:
                out.append((name, False, "INVALID: expected nonce: the nonce file has no nonce for this bundle", ()))
            else:
                out.append((name, r.valid, r.summary(), tuple(b.statement.commitments)))
        except ZkmarginError as e:
            out.append((name, False, f"INVALID: unreadable: {e}", ()))
    return out


def _count_each_account_once(rows: list) -> list[tuple[str, bool, str]]:
    """A valid bundle whose account commitment was already counted in an earlier valid bundle (a
    copy under another file name, or one account proven twice) is reported invalid: each account
    counts once in the folder."""
    seen: dict[int, str] = {}
    out = []
    for name, valid, summary, commitments in rows:
        if valid:
            first = next((seen[c] for c in commitments if c in seen), None)
            if first is not None:
                valid, summary = False, f"INVALID: duplicate: an account of this bundle is already counted in {first}"
            else:
                seen.update((c, name) for c in commitments)
        out.append((name, valid, summary))
    return out


NONCES_FORMAT = "zkmargin/nonces/v1"


def read_nonces(path) -> dict[str, int]:
    """The expected nonces, one JSON object a line: ``{"bundle": "FILE.json", "nonce": "991"}``
    (the nonce each trader was challenged with; a line may also carry ``"format":
    "zkmargin/nonces/v1"``). A bundle named twice is refused."""
    from zkmargin.algebra.constants import R
    from zkmargin.formats import jsonio as jio

    from ..params import ProtocolError
    p = Path(path)
    out: dict[str, int] = {}
    data = jio.read_capped(p, "nonces", jio.MAX_JSON_BYTES)
    for n, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        where = f"nonces {p.name} line {n}"
        doc = jio.expect_keys(jio.expect_object(jio.loads_strict(line, where, cap=4096), where), where,
                              ("bundle", "nonce"), ("format",))
        if doc.get("format", NONCES_FORMAT) != NONCES_FORMAT:
            raise ProtocolError(f"{where}: not a {NONCES_FORMAT} line")
        name = jio.name(doc["bundle"], f"{where}.bundle")
        if name in out:
            raise ProtocolError(f"{where}: bundle {name} has a second nonce")
        out[name] = jio.integer(doc["nonce"], f"{where}.nonce", 0, R)
    if not out:
        raise ProtocolError(f"nonces {p.name}: no nonce")
    return out


def verify_many(folder, pf: ParamsFile, *, vk, trust=None, setup=None, allow_development: bool = True,
                allow_unattested: bool = False, nonces: dict | None = None, scheduler: str | None = None,
                workers: int | None = None, chunk: int = 32, client=None) -> list[tuple[str, bool, str]]:
    """Verify every ``*.json`` bundle in ``folder`` (as ``zkmargin verify`` does, expecting the
    parameter file's venue and epoch), in chunks on the Dask cluster: [(file, valid, summary)].
    ``nonces`` (file name -> the nonce that trader was challenged with, :func:`read_nonces`):
    each bundle must answer its own nonce, a bundle without one is invalid, and a nonce whose
    bundle is missing is reported as an invalid row; without ``nonces`` each bundle's own nonce is
    accepted (a note says it may be a replay). Each account commitment counts once: a later valid
    bundle holding an account already counted is invalid (``duplicate``)."""
    paths = sorted(str(p) for p in Path(folder).glob("*.json"))
    if not paths:
        from ..params import ProtocolError
        raise ProtocolError(f"{folder}: no bundle (*.json) to verify")
    given = nonces is not None
    items = [(p, (nonces or {}).get(Path(p).name), given) for p in paths]
    chunks = [items[k:k + chunk] for k in range(0, len(items), chunk)]
    if client is None and workers == 0:
        parts = [_bundles_task(vk, pf, trust, setup, allow_development, allow_unattested, c) for c in chunks]
    elif client is not None:
        parts = _map(client, _bundles_task, chunks, vk, pf, trust, setup, allow_development, allow_unattested)
    else:
        from .cluster import dask_client
        with dask_client(scheduler, workers=workers) as cl:
            parts = _map(cl, _bundles_task, chunks, vk, pf, trust, setup, allow_development, allow_unattested)
    rows = _count_each_account_once([x for part in parts for x in part])
    if given:
        have = {Path(p).name for p in paths}
        rows += [(name, False, "INVALID: missing: the nonce file expects this bundle, the folder has none")
                 for name in sorted(set(nonces) - have)]
    return rows


__all__ = ["verify_tree", "verify_many", "read_nonces", "TreeReport", "NONCES_FORMAT"]
