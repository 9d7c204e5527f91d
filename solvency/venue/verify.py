"""Verifying a venue tree, and many trader bundles, at scale.

:func:`verify_tree` checks, each by name (the table is in docs/VENUE_SOLVENCY.md):

* ``parameter file`` -- the statement's venue, epoch, model, shape and digest are the file's;
* ``leaves`` -- leaves.bin has the statement's size and SHA-256, every leaf < r;
* ``distinct leaves`` -- no commitment twice, none equal to the padding leaf;
* ``batch files`` -- one proof for each batch 0..m−1, one batch size B <= 2^depth, each count
  min(B, n − jB) (the leaves are packed in book order);
* ``verifying key`` -- every proof names the supplied key; ``setup`` -- the key's record
  (fingerprint; with ``allow_development=False`` a ceremony phase 1);
* ``batch roots`` -- each batch root is the Merkle root of its slice of leaves.bin;
* ``top level`` -- the batch roots hash up to the published root (the verified combination);
* ``totals``, ``shortfall`` -- the batch sums add up to the published ones;
* ``insurance fund`` -- total shortfall <= insurance fund;
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

from ..bundle import Check
from ..params import ParamsFile
from . import files as fl
from .prove import expected_prefix
from .tree import combine, subtree_root

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


def _roots_task(shape, height: int, slices) -> list[int]:
    return [subtree_root(shape, s, height) for s in slices]


def _groth16_task(vk, items) -> dict:
    from zkmargin.verifier.batch import batch_verify
    res = batch_verify(vk, items)
    return {k: v for k, v in res.reasons.items()}


def _map(client, fn, chunks, *args):
    if client is None:
        return [fn(*args, c) for c in chunks]
    futs = [client.submit(fn, *args, c, pure=False, retries=2) for c in chunks]
    return client.gather(futs)


def verify_tree(tree_dir, pf: ParamsFile, *, vk, setup=None, allow_development: bool = True,
                scheduler: str | None = None, workers: int | None = None, client=None) -> TreeReport:
    """Verify the tree folder ``tree_dir`` against the venue's parameter file and a verifying key
    (module docstring). ``workers=0`` runs in this process."""
    from ..keys import vk_fingerprint
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
    sizes = {r.batch for r in recs}
    B = min(sizes) if sizes else 1
    m = -(-st.accounts // B)
    idx = [r.index for r in recs]
    ok = (len(sizes) == 1 and B <= 1 << st.depth and idx == list(range(m))
          and all(r.count == min(B, st.accounts - r.index * B) for r in recs)
          and all(len(r.totals) == st.shape.assets for r in recs))
    if not add("batch files", ok, f"need exactly one proof per batch 0..{m - 1}, one batch size, counts as "
               "packed (an account left out or a batch missing / repeated)"):
        return rep
    fp = vk_fingerprint(vk)
    bad_vk = [r.index for r in recs if r.vk_fingerprint != fp]
    add("verifying key", not bad_vk, f"batches {bad_vk[:5]} name another verifying key")
    if setup is not None:
        if setup.vk_fingerprint != fp:
            add("setup", False, "the setup record is for another verifying key")
        elif not allow_development and setup.development_only:
            add("setup", False, "the batch key is DEVELOPMENT-ONLY (whoever made it can forge proofs)")
        else:
            add("setup", True)
            if setup.development_only:
                rep.notes.append("development key accepted (its creator could forge proofs)")
    else:
        rep.notes.append("no setup record given: where the batch key came from was not checked")

    height = B.bit_length() - 1
    own = None
    if client is None and workers != 0:
        from .cluster import dask_client
        own = dask_client(scheduler, workers=workers)
        client = own.__enter__()
    try:
        slices = [leaves[j * B:(j + 1) * B] for j in range(m)]
        chunks = [slices[k:k + CHUNK] for k in range(0, m, CHUNK)]
        roots = [r for part in _map(client, _roots_task, chunks, st.shape, height) for r in part]
        bad_roots = [j for j in range(m) if roots[j] != recs[j].root]
        add("batch roots", not bad_roots, f"batches {bad_roots[:5]}: root is not the Merkle root of their leaves")
        add("top level", combine(st.shape, [r.root for r in recs], height, st.depth) == st.root,
            "the batch roots do not hash up to the published root")
        totals = tuple(sum(r.totals[c] for r in recs) for c in range(st.shape.assets))
        add("totals", totals == st.totals, "the batch totals do not add up to the published totals")
        add("shortfall", sum(r.shortfall for r in recs) == st.total_shortfall,
            "the batch shortfalls do not add up to the published total shortfall")
        add("insurance fund", st.total_shortfall <= st.insurance_fund,
            "the total shortfall exceeds the insurance fund")
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


def _bundles_task(vk, pf, trust, setup, allow_development, allow_unattested, paths) -> list:
    from ..bundle import read_bundle, verify_bundle
    out = []
    for p in paths:
        try:
            # the expected context is the parameter file's own venue and epoch (replay protection)
            r = verify_bundle(read_bundle(p), vk, pf, trust=trust, setup=setup, allow_development=allow_development,
                              allow_unattested=allow_unattested, venue=pf.venue, epoch=pf.epoch)
            out.append((Path(p).name, r.valid, r.summary()))
        except ZkmarginError as e:
            out.append((Path(p).name, False, f"INVALID: unreadable: {e}"))
    return out


def verify_many(folder, pf: ParamsFile, *, vk, trust=None, setup=None, allow_development: bool = True,
                allow_unattested: bool = False, scheduler: str | None = None, workers: int | None = None,
                chunk: int = 32, client=None) -> list[tuple[str, bool, str]]:
    """Verify every ``*.json`` bundle in ``folder`` (as ``zkmargin verify`` does, expecting the
    parameter file's venue and epoch; without a nonce: each trader answered its own), in chunks on the Dask cluster: [(file, valid, summary)]."""
    paths = sorted(str(p) for p in Path(folder).glob("*.json"))
    if not paths:
        from ..params import ProtocolError
        raise ProtocolError(f"{folder}: no bundle (*.json) to verify")
    chunks = [paths[k:k + chunk] for k in range(0, len(paths), chunk)]
    if client is None and workers == 0:
        return [x for c in chunks for x in _bundles_task(vk, pf, trust, setup, allow_development, allow_unattested, c)]
    if client is not None:
        parts = _map(client, _bundles_task, chunks, vk, pf, trust, setup, allow_development, allow_unattested)
    else:
        from .cluster import dask_client
        with dask_client(scheduler, workers=workers) as cl:
            parts = _map(cl, _bundles_task, chunks, vk, pf, trust, setup, allow_development, allow_unattested)
    return [x for part in parts for x in part]


__all__ = ["verify_tree", "verify_many", "TreeReport"]
