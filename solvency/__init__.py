"""The solvency protocol: parameter files, commitments, attestations, keys, proofs, bundles.

The package a venue, a trader, an auditor or a settlement layer uses from Python; the
``zkmargin`` command line is a thin layer over it. One module per concern:

* :mod:`.params`  -- the venue's signed parameter file (``zkmargin/params/v2``)
* :mod:`.opening` -- account commitments and secret openings
* :mod:`.trust`   -- Ed25519 keys, trust files, signed messages
* :mod:`.attest`  -- attestations and the attester's ledger
* :mod:`.keys`    -- Groth16 key setup for a shape, the setup record
* :mod:`.prove`   -- the trader's proof
* :mod:`.bundle`  -- the bundle format and its verification
* :mod:`.demo`    -- the whole flow on built-in data

Verifying a bundle, as a settlement layer would::

    from zkmargin.solvency import verify_files
    report = verify_files("bundle.json", vk="verification_key.json", params="params.json",
                          trust="trust.json", setup="setup.json", nonce=991)
    print(report.summary())        # "VALID: equity >= 1 x span16 ..." or "INVALID: <check>: <why>"
"""

from __future__ import annotations

from .attest import Attestation, Ledger, attest, read_attestation, sign_account
from .bundle import Bundle, Report, Statement, buffer_to_bps, read_bundle, venue_id, verify_bundle, write_bundle
from .keys import Keys, SetupRecord, read_setup_record, setup_keys, setup_record, vk_fingerprint, write_setup_record
from .opening import Opening, make_opening, read_opening, write_opening
from .params import ParamsFile, ProtocolError, make_params_file, read_params, write_params
from .prove import prove_solvency
from .trust import Trust, read_trust


def verify_files(bundle, *, vk, params, trust=None, setup=None, venue=None, epoch=None, nonce=None,
                 min_buffer="1.0", allow_development: bool = True, allow_unattested: bool = False) -> Report:
    """:func:`verify_bundle` from file paths (every file read strictly)."""
    from zkmargin.formats.snarkjs_json import read_verifying_key
    return verify_bundle(read_bundle(bundle), read_verifying_key(vk), read_params(params),
                         trust=read_trust(trust) if trust is not None else None,
                         setup=read_setup_record(setup) if setup is not None else None,
                         allow_unattested=allow_unattested, venue=venue, epoch=epoch, nonce=nonce,
                         min_buffer_bps=buffer_to_bps(min_buffer), allow_development=allow_development)


__all__ = ["Attestation", "Ledger", "attest", "read_attestation", "sign_account", "Bundle", "Report",
           "Statement", "buffer_to_bps", "read_bundle", "venue_id", "verify_bundle", "write_bundle", "Keys",
           "SetupRecord", "read_setup_record", "setup_keys", "setup_record", "vk_fingerprint",
           "write_setup_record", "Opening", "make_opening", "read_opening", "write_opening", "ParamsFile",
           "ProtocolError", "make_params_file", "read_params", "write_params", "prove_solvency", "Trust",
           "read_trust", "verify_files"]
