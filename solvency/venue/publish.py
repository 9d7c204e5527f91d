"""Signing a proven venue tree: what the venue vouches for, in one signature.

After every batch is proven, ``zkmargin venue solvency sign tree/ --params P.json --key K``
(or ``prove --key K``) completes the statement with the batch key's fingerprint and signs it
as the venue (role ``solvency``, :data:`~.files.STATEMENT_SIGNATURE_DOMAIN`): the root, the
totals, the shortfall, the insurance fund, the epoch, the parameter digest, the batch size, the
key fingerprint and the SHA-256 of leaves.bin are then all covered by one signature over the
canonical statement, and nothing a client or an auditor relies on can be changed without it
failing (``statement signature``). The batch key's setup record (tree/keys/setup.json) is signed
too (role ``setup``) when it is not signed yet: the venue vouches that this is the key of its
batch circuit and says where it came from (a DEVELOPMENT-ONLY key is signed as exactly that;
``verify --no-dev`` still refuses it).

Before signing, the proven batches must make up the statement: one proof per batch naming the
key, and the proven roots and sums combining to the published root, totals and shortfall (the
Groth16 checks are the verifier's, ``venue solvency verify``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..params import ParamsFile, ProtocolError
from . import files as fl


def sign_tree(tree_dir, pf: ParamsFile, key, signer: str) -> fl.TreeStatement:
    """Sign the statement (and, if unsigned, the batch key's setup record) of a proven tree."""
    from zkmargin.formats.snarkjs_json import read_verifying_key

    from ..keys import read_setup_record, vk_fingerprint, write_setup_record
    from .prove import check_combination
    tree = Path(tree_dir)
    st = fl.read_statement(tree)
    if (st.venue, st.epoch, st.model, st.shape, st.params_digest) != (pf.venue, pf.epoch, pf.model, pf.shape,
                                                                       pf.digest):
        raise ProtocolError("the parameter file is not the one the tree was built under")
    if signer != st.venue:
        raise ProtocolError(f"the signing key is {signer}'s, not the venue {st.venue}'s")
    keys = tree / fl.KEYS
    if not (keys / "verification_key.json").is_file() or not (keys / "setup.json").is_file():
        raise ProtocolError(f"{keys}: no batch key and setup record (prove the tree first)")
    vk = read_verifying_key(keys / "verification_key.json")
    fp = vk_fingerprint(vk)
    rec = read_setup_record(keys / "setup.json")
    if rec.vk_fingerprint != fp or not rec.matches(pf, fl.circuit_name(st.batch)):
        raise ProtocolError("the setup record in keys/ is not the record of the batch key for this parameter file")
    if st.vk_fingerprint and st.vk_fingerprint != fp:
        raise ProtocolError("the statement names another batch key than keys/verification_key.json")
    for j in range(st.batches):
        p = fl.proof_path(tree, j)
        if not p.is_file():
            raise ProtocolError(f"batch {j} is not proven (prove the tree first)")
        if fl.read_batch_proof(p).vk_fingerprint != fp:
            raise ProtocolError(f"batch {j} was proven with another key")
    check_combination(tree, st, st.batch)
    if rec.signature is None:
        write_setup_record(rec.signed(key, signer), keys / "setup.json")
    elif rec.signature.signer != signer:
        raise ProtocolError(f"the setup record is signed by {rec.signature.signer}, not by the venue {signer}")
    signed = replace(st, vk_fingerprint=fp, signature=None).signed(key, signer)
    fl.write_statement(tree / fl.STATEMENT, signed)
    return signed


__all__ = ["sign_tree"]
