"""A client's inclusion proof: its leaf, its index and the sibling hashes up to the root.

The venue gives each client (``zkmargin venue solvency inclusion ACCOUNT``) the path of its
leaf and, when the venue drew the salt, the client's opening (SECRET). The client checks, by
name (:func:`verify_inclusion`):

* ``statement`` -- the path is for the published statement (venue, epoch, digest, root, depth);
* ``statement signature`` (with a trust file) -- the statement is the venue's own (role
  ``solvency``), so the root is the one the venue publishes and the auditor verifies; without a
  trust file, ``trust`` fails unless an unsigned statement is explicitly allowed;
* ``expected epoch`` -- the statement is for the epoch the client is checking;
* ``your commitment`` -- the leaf is the commitment of the client's own opening (the one it made
  with ``zkmargin commit``, or the one the venue handed it), so the account the batch proof
  evaluated is exactly the client's;
* ``your salt`` (with ``account``, the client's own account id at the venue; or whenever the
  opening says the venue drew its salt) -- the opening carries ``salt_from`` and its salt is
  :func:`~zkmargin.solvency.opening.derive_salt` of (the statement's venue, the statement's
  epoch, the client's **own** id, the seed): a leaf whose salt was derived for another account
  is not the client's, even when the two accounts hold identical portfolios (the venue cannot
  hand one opening and one leaf to two clients and count one account). A client that gave the
  venue a portfolio (the venue drew its salt) must pass ``account``; an opening that carries
  ``salt_from`` checked without ``account`` fails ``your salt`` ("give --account ID"). A
  client that made its own commitment (``zkmargin commit``, no ``salt_from``) is unaffected
  unless it passes ``account`` (then ``your salt`` fails: its opening has no derivation);
* ``your portfolio`` (with ``portfolio`` and the parameter file) -- the opening holds exactly the
  client's positions and collateral, quantized as the trader side does;
* ``path`` -- the leaf hashes up its path to the published root.

A client whose account was left out of the tree, or replaced, fails ``your commitment`` or
``path``. Together with ``zkmargin venue solvency verify`` (every batch proof) this shows the
client's own account is counted with its true margin requirement.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from zkmargin.circuits.venue_circuits import leaf_of
from zkmargin.formats import jsonio as jio

from ..bundle import Check
from ..opening import Opening, read_opening
from ..params import ParamsFile, ProtocolError
from . import files as fl
from .tree import levels, path, root_from_path
from .verify import TreeReport


def make_inclusion(tree_dir, account: str) -> tuple[fl.Inclusion, Opening]:
    """The inclusion proof of ``account`` (its id in the book) and its opening (SECRET)."""
    tree = Path(tree_dir)
    st = fl.read_statement(tree)
    jio.name(account, "account")
    entries = fl.read_book_file(tree / fl.BOOK, check_commitments=False)
    index = next((k for k, (a, _) in enumerate(entries) if a == account), None)
    if index is None:
        raise ProtocolError(f"account {account} is not in this tree's book")
    leaves = fl.read_leaves(tree, st)
    op = entries[index][1]
    if leaf_of(op.account) != leaves[index]:
        raise ProtocolError(f"account {account}: the private book and leaves.bin disagree")
    lv = levels(st.shape, leaves, st.depth)
    inc = fl.Inclusion(st.venue, st.epoch, st.params_digest, st.root, st.depth, index, leaves[index],
                       tuple(path(st.shape, lv, index, st.depth)))
    return inc, op


def verify_inclusion(inc: fl.Inclusion, st: fl.TreeStatement, *, opening: Optional[Opening] = None,
                     commitment: Optional[int] = None, portfolio: Optional[dict] = None,
                     pf: Optional[ParamsFile] = None, trust=None, epoch: Optional[int] = None,
                     allow_unsigned: bool = False, account: Optional[str] = None) -> TreeReport:
    """Check a client's inclusion proof against the published statement (module docstring)."""
    rep = TreeReport(statement=st)

    def add(name, ok, detail=""):
        rep.checks.append(Check(name, bool(ok), detail))

    add("statement", (inc.venue, inc.epoch, inc.params_digest, inc.root, inc.depth)
        == (st.venue, st.epoch, st.params_digest, st.root, st.depth),
        "the inclusion proof is for another statement (venue, epoch, parameters or root)")
    if trust is not None:
        why = st.signature_problem(trust)
        add("statement signature", why is None, why or "")
    elif allow_unsigned:
        rep.notes.append("no trust file: the statement was not checked to be the venue's")
    else:
        add("trust", False, "no trust file: the venue's signature over the statement cannot be checked (give a "
                            "trust file, or explicitly allow an unsigned statement)")
    if epoch is None:
        add("expected epoch", False, "no expected epoch given: last epoch's statement and path would pass (give "
                                     "the epoch you are checking)")
    else:
        add("expected epoch", st.epoch == int(epoch), f"the statement is for epoch {st.epoch}, expected {epoch}")
    if opening is None and commitment is None:
        raise ProtocolError("give your opening (or your commitment) to check that the leaf is yours")
    mine = opening.commitment if opening is not None else int(commitment)
    add("your commitment", mine == inc.leaf, "the leaf is not your commitment (your account is not this leaf)")
    if opening is not None and opening.params_digest != st.params_digest:
        add("your commitment", False, "your opening was made for another parameter file")
    sf = opening.salt_from if opening is not None else None
    if account is not None:
        account = jio.name(account, "account")
        if opening is None:
            add("your salt", False, "checking your salt needs your opening (not only your commitment)")
        elif sf is None:
            add("your salt", False, "your opening does not say how the venue drew its salt (no salt_from)")
        elif sf.account != account:
            add("your salt", False, f"your opening's salt was derived for another account, not {account}")
        else:
            add("your salt", sf.salt(st.venue, st.epoch) == opening.account.salt,
                f"your salt is not the one derived from venue {st.venue}, epoch {st.epoch}, account {account} "
                "and the opening's seed")
    elif sf is not None:
        add("your salt", False, "give --account ID: the venue drew your salt (it must be derived from your "
                                "own account id)")
    if portfolio is not None:
        if pf is None or pf.digest != st.params_digest:
            raise ProtocolError("checking your portfolio needs the statement's parameter file")
        from ..opening import make_opening
        try:
            again = make_opening(portfolio, pf, kind=opening.kind, salt=opening.account.salt)
            same = again.account == opening.account
        except (ValueError, ProtocolError):
            same = False
        add("your portfolio", same, "your opening does not hold exactly your portfolio")
    add("path", 0 <= inc.index < st.accounts and len(inc.siblings) == st.depth
        and root_from_path(inc.leaf, inc.index, inc.siblings) == st.root,
        "the leaf does not hash up to the published root at an account's position")
    rep.claim = (f"your account is leaf {inc.index} of the {st.accounts}-account tree of venue {st.venue}, "
                 f"epoch {st.epoch} (root {str(st.root)[:16]}...)")
    return rep


def verify_inclusion_files(inclusion, statement, *, opening=None, commitment=None, portfolio=None,
                           params=None, trust=None, epoch=None, allow_unsigned: bool = False,
                           account=None) -> TreeReport:
    """:func:`verify_inclusion` from file paths (each read strictly)."""
    from ..opening import read_commitment
    from ..params import read_params
    from ..trust import read_trust
    pdoc = jio.read_object(Path(portfolio), "portfolio") if portfolio is not None else None
    return verify_inclusion(fl.read_inclusion(inclusion), fl.read_statement(statement),
                            opening=read_opening(opening) if opening is not None else None,
                            commitment=read_commitment(commitment).commitment if commitment is not None else None,
                            portfolio=pdoc, pf=read_params(params) if params is not None else None,
                            trust=read_trust(trust) if trust is not None else None, epoch=epoch,
                            allow_unsigned=allow_unsigned, account=account)


__all__ = ["make_inclusion", "verify_inclusion", "verify_inclusion_files"]
