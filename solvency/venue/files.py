"""File formats of a venue-wide solvency proof (every file read strictly, written atomically).

A tree folder (``zkmargin venue solvency build BOOK --params P.json --out tree/``)::

    tree/statement.json       zkmargin/venue-tree/v1    PUBLIC  the statement (below)
    tree/leaves.bin           32-byte big-endian leaves PUBLIC  salted commitments, book order
    tree/private/book.jsonl   zkmargin/venue-book/v1    SECRET  (0600) account id + opening per line
    tree/proofs/batch-J.json  zkmargin/venue-batch/v1   PUBLIC  one Groth16 proof per batch (prove)
    tree/keys/                verification_key.json, setup.json (prove: the batch key's; a
                              development key unless --keys names one from `venue solvency setup`)

statement.json (``zkmargin/venue-tree/v2``): ``venue, epoch, model, params_digest, shape,
buffer_bps, insurance_fund`` (money units, 1e-14 USD), ``accounts`` (n), ``depth``, ``root``,
``assets`` (slot names), ``totals`` (Σ collateral per asset slot, 1e-8 units),
``total_shortfall`` (money units), the SHA-256 of leaves.bin, ``batch`` (B, accounts per batch
proof), ``vk_fingerprint`` (the batch circuit's verifying key; empty until the tree is signed)
and ``signature``: the venue's Ed25519 signature (role ``solvency``, domain
:data:`STATEMENT_SIGNATURE_DOMAIN`) over the SHA-256 of the canonical JSON of every other field.
Who vouches for each field is in docs/VENUE_SOLVENCY.md: the batch proofs for the roots and
sums, the verifier's own recomputation for the top level, the venue's signature for the
statement as a whole (the insurance fund, the key, the epoch), a reserves attestation for the
fund's existence.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

from zkmargin.algebra.constants import R
from zkmargin.circuits.margin_circuits import MODEL_CODES, Shape
from zkmargin.circuits.venue_circuits import MAX_BATCH_BITS, MAX_TREE_DEPTH, TOTAL_BITS
from zkmargin.formats import jsonio as jio
from zkmargin.formats.data_structures import Proof

from .. import trust as tr
from ..bundle import MAX_BUFFER_BPS
from ..params import MAX_EPOCH, ProtocolError

TREE_FORMAT = "zkmargin/venue-tree/v2"
STATEMENT_SIGNATURE_DOMAIN = "zkmargin/venue-statement-signature/v1"
FINGERPRINT_RE = re.compile(r"sha256:[0-9a-f]{64}")
BATCH_FORMAT = "zkmargin/venue-batch/v1"
INCLUSION_FORMAT = "zkmargin/venue-inclusion/v1"
BOOK_FORMAT = "zkmargin/venue-book/v1"
MAX_ACCOUNTS = 1 << MAX_TREE_DEPTH
MONEY_LIMIT = 1 << 200          # insurance fund and shortfall totals (money units)

STATEMENT, LEAVES, BOOK, PROOFS, KEYS = "statement.json", "leaves.bin", "private/book.jsonl", "proofs", "keys"


def _fe(v, where):
    return jio.integer(v, where, 0, R)


@dataclass(frozen=True)
class TreeStatement:
    venue: str
    epoch: int
    model: str
    params_digest: int
    shape: Shape
    buffer_bps: int
    insurance_fund: int
    accounts: int
    depth: int
    root: int
    assets: tuple[str, ...]
    totals: tuple[int, ...]
    total_shortfall: int
    leaves_sha256: str
    batch: int
    vk_fingerprint: str = ""
    signature: Optional[tr.Signature] = None

    def to_json(self, with_signature: bool = True) -> dict:
        doc = {"format": TREE_FORMAT, "venue": self.venue, "epoch": self.epoch, "model": self.model,
               "params_digest": str(self.params_digest), "shape": self.shape.as_dict(),
               "buffer_bps": self.buffer_bps, "insurance_fund": str(self.insurance_fund),
               "accounts": self.accounts, "depth": self.depth, "root": str(self.root),
               "assets": list(self.assets), "totals": [str(t) for t in self.totals],
               "total_shortfall": str(self.total_shortfall), "leaves_sha256": self.leaves_sha256,
               "batch": self.batch, "vk_fingerprint": self.vk_fingerprint}
        if with_signature and self.signature is not None:
            doc["signature"] = self.signature.to_json()
        return doc

    @property
    def batches(self) -> int:
        return -(-self.accounts // self.batch)

    # -- the venue's signature over the whole statement

    def statement_hash(self) -> str:
        """SHA-256 of the canonical JSON of every field but the signature: what the venue signs."""
        return hashlib.sha256(jio.canonical_bytes(self.to_json(with_signature=False))).hexdigest()

    def _body(self, signer: str) -> dict:
        return {"statement": self.statement_hash(), "signer": signer}

    def signed(self, key, signer: str) -> "TreeStatement":
        if not FINGERPRINT_RE.fullmatch(self.vk_fingerprint):
            raise ProtocolError("the statement names no batch key yet: prove the tree before signing it")
        return replace(self, signature=tr.Signature(signer, tr.public_hex(key),
                                                    tr.sign(key, STATEMENT_SIGNATURE_DOMAIN, self._body(signer))))

    def signature_problem(self, trust: tr.Trust) -> str | None:
        """None when the statement's own venue signed it with a key ``trust`` accepts for role
        ``solvency``; otherwise what is wrong."""
        s = self.signature
        if s is None:
            return "the statement is not signed (venue solvency sign --key)"
        if s.signer != self.venue:
            return f"signed by {s.signer}, not by the venue {self.venue}"
        why = trust.check(s.signer, s.public_key, "solvency")
        if why:
            return why
        if not tr.signature_ok(s.public_key, s.signature, STATEMENT_SIGNATURE_DOMAIN, self._body(s.signer)):
            return "signature does not verify (the statement was altered after signing?)"
        return None

    @classmethod
    def from_json(cls, doc, where="statement") -> "TreeStatement":
        doc = jio.expect_object(doc, where)
        if doc.get("format") == "zkmargin/venue-tree/v1":
            raise ProtocolError(f"{where}: a zkmargin/venue-tree/v1 statement names no batch key and cannot be "
                                "signed; build the tree again")
        if doc.get("format") != TREE_FORMAT:
            raise ProtocolError(f"{where}: not a {TREE_FORMAT} file")
        jio.expect_keys(doc, where, ("format", "venue", "epoch", "model", "params_digest", "shape", "buffer_bps",
                                     "insurance_fund", "accounts", "depth", "root", "assets", "totals",
                                     "total_shortfall", "leaves_sha256", "batch", "vk_fingerprint"), ("signature",))
        try:
            shape = Shape.from_dict(jio.expect_object(doc["shape"], f"{where}.shape"))
        except ValueError as e:
            raise ProtocolError(f"{where}.shape: {e}") from None
        assets = tuple(jio.string(a, f"{where}.assets", max_len=64)
                       for a in jio.array(doc["assets"], f"{where}.assets", max_len=shape.assets))
        return cls(jio.name(doc["venue"], f"{where}.venue"), jio.integer(doc["epoch"], f"{where}.epoch", 0, MAX_EPOCH),
                   jio.choice(doc["model"], f"{where}.model", tuple(MODEL_CODES)),
                   _fe(doc["params_digest"], f"{where}.params_digest"), shape,
                   jio.integer(doc["buffer_bps"], f"{where}.buffer_bps", 1, MAX_BUFFER_BPS + 1),
                   jio.integer(doc["insurance_fund"], f"{where}.insurance_fund", 0, MONEY_LIMIT),
                   jio.integer(doc["accounts"], f"{where}.accounts", 0, MAX_ACCOUNTS + 1),
                   jio.integer(doc["depth"], f"{where}.depth", 0, MAX_TREE_DEPTH + 1),
                   _fe(doc["root"], f"{where}.root"), assets,
                   tuple(jio.integer(t, f"{where}.totals", 0, 1 << (TOTAL_BITS + MAX_TREE_DEPTH))
                         for t in jio.array(doc["totals"], f"{where}.totals", length=shape.assets)),
                   jio.integer(doc["total_shortfall"], f"{where}.total_shortfall", 0, MONEY_LIMIT),
                   jio.hexstring(doc["leaves_sha256"], f"{where}.leaves_sha256", 32).hex(),
                   check_batch(jio.integer(doc["batch"], f"{where}.batch", 1, (1 << MAX_BATCH_BITS) + 1),
                               f"{where}.batch"),
                   fingerprint(doc["vk_fingerprint"], f"{where}.vk_fingerprint", empty_ok=True),
                   tr.Signature.from_json(doc["signature"], f"{where}.signature") if "signature" in doc else None)


def circuit_name(batch: int) -> str:
    """The name a setup record gives the batch circuit of ``batch`` accounts (keys.SetupRecord.circuit)."""
    return f"venue-batch/{batch}"


def check_batch(b: int, where: str = "batch") -> int:
    if b < 1 or b & (b - 1) or b > 1 << MAX_BATCH_BITS:
        raise ProtocolError(f"{where}: the batch size must be a power of two in 1..2^{MAX_BATCH_BITS}")
    return b


def fingerprint(v, where: str, *, empty_ok: bool = False) -> str:
    """A verifying-key fingerprint ``sha256:<64 hex>`` (printable: it reaches output lines)."""
    s = jio.string(v, where, max_len=80)
    if not (FINGERPRINT_RE.fullmatch(s) or (empty_ok and s == "")):
        raise ProtocolError(f"{where}: not a key fingerprint (sha256:<64 hex digits>)")
    return s


def read_statement(path) -> TreeStatement:
    p = Path(path)
    if p.is_dir():
        p = p / STATEMENT
    return TreeStatement.from_json(jio.read_object(p, "statement"), f"statement {p.name}")


def write_statement(path, st: TreeStatement) -> None:
    p = Path(path)
    if p.is_dir():
        p = p / STATEMENT
    jio.write_json(p, st.to_json())


def write_leaves(path, leaves) -> str:
    data = b"".join(int(v).to_bytes(32, "big") for v in leaves)
    jio.write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def read_leaves(path, st: TreeStatement) -> list[int]:
    """The leaves file, checked against the statement (size, SHA-256, every leaf < r)."""
    p = Path(path)
    if p.is_dir():
        p = p / LEAVES
    data = jio.read_capped(p, "leaves", cap=32 * st.accounts + 1)
    if len(data) != 32 * st.accounts:
        raise ProtocolError(f"leaves {p.name}: {len(data)} bytes, the statement's {st.accounts} accounts need "
                            f"{32 * st.accounts}")
    if hashlib.sha256(data).hexdigest() != st.leaves_sha256:
        raise ProtocolError(f"leaves {p.name}: SHA-256 does not match the statement")
    out = [int.from_bytes(data[i:i + 32], "big") for i in range(0, len(data), 32)]
    if any(v >= R for v in out):
        raise ProtocolError(f"leaves {p.name}: a leaf is not a field element")
    return out


@dataclass(frozen=True)
class BatchProof:
    index: int
    batch: int
    count: int
    root: int
    totals: tuple[int, ...]
    shortfall: int
    proof: Proof
    vk_fingerprint: str

    def to_json(self) -> dict:
        from zkmargin.formats.snarkjs_json import proof_to_json
        return {"format": BATCH_FORMAT, "index": self.index, "batch": self.batch, "count": self.count,
                "root": str(self.root), "totals": [str(t) for t in self.totals], "shortfall": str(self.shortfall),
                "proof": proof_to_json(self.proof), "vk_fingerprint": self.vk_fingerprint}

    @classmethod
    def from_json(cls, doc, where="batch proof") -> "BatchProof":
        from zkmargin.formats.snarkjs_json import proof_from_json
        doc = jio.expect_object(doc, where)
        if doc.get("format") != BATCH_FORMAT:
            raise ProtocolError(f"{where}: not a {BATCH_FORMAT} file")
        jio.expect_keys(doc, where, ("format", "index", "batch", "count", "root", "totals", "shortfall", "proof",
                                     "vk_fingerprint"))
        batch = jio.integer(doc["batch"], f"{where}.batch", 1, (1 << MAX_BATCH_BITS) + 1)
        try:
            proof = proof_from_json(doc["proof"])
        except ValueError as e:
            raise ProtocolError(f"{where}.proof: {e}") from None
        return cls(jio.integer(doc["index"], f"{where}.index", 0, MAX_ACCOUNTS),
                   batch, jio.integer(doc["count"], f"{where}.count", 0, batch + 1),
                   _fe(doc["root"], f"{where}.root"),
                   tuple(_fe(t, f"{where}.totals") for t in jio.array(doc["totals"], f"{where}.totals", max_len=256)),
                   _fe(doc["shortfall"], f"{where}.shortfall"), proof,
                   fingerprint(doc["vk_fingerprint"], f"{where}.vk_fingerprint"))


def proof_path(tree_dir, index: int) -> Path:
    return Path(tree_dir) / PROOFS / f"batch-{index:06d}.json"


def read_batch_proof(path) -> BatchProof:
    p = Path(path)
    return BatchProof.from_json(jio.read_object(p, "batch proof"), f"batch proof {p.name}")


@dataclass(frozen=True)
class Inclusion:
    venue: str
    epoch: int
    params_digest: int
    root: int
    depth: int
    index: int
    leaf: int
    siblings: tuple[int, ...]

    def to_json(self) -> dict:
        return {"format": INCLUSION_FORMAT, "venue": self.venue, "epoch": self.epoch,
                "params_digest": str(self.params_digest), "root": str(self.root), "depth": self.depth,
                "index": self.index, "leaf": str(self.leaf), "siblings": [str(s) for s in self.siblings]}

    @classmethod
    def from_json(cls, doc, where="inclusion") -> "Inclusion":
        doc = jio.expect_object(doc, where)
        if doc.get("format") != INCLUSION_FORMAT:
            raise ProtocolError(f"{where}: not a {INCLUSION_FORMAT} file")
        jio.expect_keys(doc, where, ("format", "venue", "epoch", "params_digest", "root", "depth", "index", "leaf",
                                     "siblings"))
        depth = jio.integer(doc["depth"], f"{where}.depth", 0, MAX_TREE_DEPTH + 1)
        return cls(jio.name(doc["venue"], f"{where}.venue"), jio.integer(doc["epoch"], f"{where}.epoch", 0, MAX_EPOCH),
                   _fe(doc["params_digest"], f"{where}.params_digest"), _fe(doc["root"], f"{where}.root"), depth,
                   jio.integer(doc["index"], f"{where}.index", 0, 1 << depth), _fe(doc["leaf"], f"{where}.leaf"),
                   tuple(_fe(s, f"{where}.siblings") for s in jio.array(doc["siblings"], f"{where}.siblings",
                                                                          length=depth)))


def read_inclusion(path) -> Inclusion:
    p = Path(path)
    return Inclusion.from_json(jio.read_object(p, "inclusion"), f"inclusion {p.name}")


def write_book(path, entries, leaves) -> None:
    """The private book: one line per account, ``{"format", "account", "opening"}`` (0600); the
    opening (its commitment is the leaf, already computed) keeps a venue-drawn salt's
    ``salt_from`` (the seed)."""
    import json
    lines = [json.dumps({"format": BOOK_FORMAT, "account": acct, "opening": op.secret_json(leaf)},
                        separators=(",", ":")) for (acct, op), leaf in zip(entries, leaves)]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    os.chmod(Path(path).parent, 0o700)
    jio.write_bytes(path, ("\n".join(lines) + "\n").encode(), secret=True)


def read_book_file(path, *, check_commitments: bool = True):
    """[(account id, Opening)] from the private book, in leaf order. ``check_commitments=False``
    skips recomputing each commitment (the prover's circuit recomputes every leaf and its root
    is compared with the published one, so a wrong line cannot go unnoticed)."""
    from zkmargin.circuits.margin_circuits import ACCOUNT_KINDS, Account

    from ..opening import Q_LIMIT, U_LIMIT, Opening, kind_code, opening_from_json, salt_from_json
    out = []
    p = Path(path)
    with open(p, "rb") as f:
        for n, line in enumerate(f, 1):
            where = f"book {p.name} line {n}"
            doc = jio.expect_keys(jio.expect_object(jio.loads_strict(line, where, cap=1 << 20), where), where,
                                  ("format", "account", "opening"))
            if doc["format"] != BOOK_FORMAT:
                raise ProtocolError(f"{where}: not a {BOOK_FORMAT} line")
            acct = jio.name(doc["account"], f"{where}.account")
            if check_commitments:
                op = opening_from_json(doc["opening"], f"{where}.opening")
            else:
                o = jio.expect_object(doc["opening"], f"{where}.opening")

                def ints(v, w, lo, hi):
                    return tuple(jio.integer(x, w, lo, hi) for x in jio.array(v, w, max_len=256))
                a = Account(ints(o["Q"], f"{where}.Q", -Q_LIMIT + 1, Q_LIMIT),
                            jio.integer(o["U"], f"{where}.U", -U_LIMIT + 1, U_LIMIT),
                            ints(o["A"], f"{where}.A", 0, Q_LIMIT), jio.integer(o["salt"], f"{where}.salt", 0, R),
                            kind_code(jio.choice(o["kind"], f"{where}.kind", ACCOUNT_KINDS)))
                op = Opening(a, jio.integer(o["params_digest"], f"{where}.params_digest", 0, R),
                             salt_from_json(o["salt_from"], f"{where}.salt_from") if "salt_from" in o else None)
            out.append((acct, op))
    return out


__all__ = ["TREE_FORMAT", "BATCH_FORMAT", "INCLUSION_FORMAT", "BOOK_FORMAT", "STATEMENT_SIGNATURE_DOMAIN",
           "TreeStatement", "BatchProof", "Inclusion", "read_statement", "write_statement", "check_batch",
           "fingerprint", "circuit_name", "read_leaves", "write_leaves", "read_batch_proof", "proof_path",
           "read_inclusion", "write_book", "read_book_file", "STATEMENT", "LEAVES", "BOOK", "PROOFS", "KEYS"]
