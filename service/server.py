"""``zkmargin serve``: load the venue's files, open the database, warm the verifier, listen.

The files given on the command line are registered in the database as the operator's (a file
that contradicts what the database already holds for the same venue and epoch stops the start,
rather than being silently replaced); more can be registered later through the signed admin
API. The server is one uvicorn process: the pairing batcher lives in it, and the database is
the only state shared across restarts (or with other gateway processes on one PostgreSQL).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Iterable, Optional

from zkmargin.formats import jsonio as jio

from .gateway import Gateway, GatewayConfig, GatewayError

log = logging.getLogger("zkmargin.service")


def bootstrap(gw: Gateway, *, trust: Optional[Path], params: Iterable[Path] = (), vks: Iterable[Path] = (),
              setups: Iterable[Path] = (), echo: Callable[[str], None] = lambda s: None) -> None:
    """Register the operator's files (trust first: the others are checked against it)."""
    def doc(p: Path, what: str):
        return jio.read_json(p, what, jio.MAX_JSON_BYTES)
    if trust is not None:
        r = gw.register_trust(doc(trust, "trust"), "operator")
        echo(f"trust file {trust.name}: version {r['version']} ({', '.join(r['attesters'])})")
    for p in vks:
        r = gw.register_vk(doc(p, "verification key"), "operator")
        echo(f"verifying key {p.name}: {r['fingerprint'][:23]}... ({r['public_inputs']} public inputs)")
    for p in setups:
        r = gw.register_setup(doc(p, "setup record"), "operator")
        why = r["production_problem"]
        echo(f"setup record {p.name}: " + (f"not production-grade ({why})" if why else "production-grade key"))
    for p in params:
        try:
            r = gw.register_params(doc(p, "params"), "operator")
        except GatewayError as e:
            raise GatewayError(f"{p.name}: {e}", e.status) from None
        echo(f"parameter file {p.name}: {r['venue']} epoch {r['epoch']}{'' if r['new'] else ' (already registered)'}")


def warm_up_verifier(gw: Gateway) -> None:
    """Load (or compile, once per machine) the batch verifier's kernels before the first request."""
    from sqlalchemy import select

    from zkmargin.algebra import G1_GEN, G2_GEN
    from zkmargin.formats.data_structures import Proof
    from zkmargin.verifier.batch import batch_verify

    from .schema import verifying_keys
    with gw.store.engine.connect() as c:
        fp = c.execute(select(verifying_keys.c.fingerprint).limit(1)).scalar()
    if fp is None:
        return
    _vk, pvk = gw.vk(fp)
    junk = Proof(G1_GEN, G2_GEN, G1_GEN)
    batch_verify(pvk, [([1] * pvk.n_public, junk)] * 2)


def serve(config: GatewayConfig, *, host: str, port: int, trust: Optional[Path], params=(), vks=(), setups=(),
          echo: Callable[[str], None] = print, log_level: str = "info") -> None:
    import uvicorn

    from .app import create_app
    logging.basicConfig(level=getattr(logging, log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    gw = Gateway(config)
    try:
        bootstrap(gw, trust=trust, params=params, vks=vks, setups=setups, echo=echo)
        echo("warming up the verifier (the first start on a machine compiles its kernels: about a minute)")
        warm_up_verifier(gw)
        app = create_app(gw)
        echo(f"zkmargin gateway on http://{host}:{port}  (database: {gw.store.dialect}; "
             f"{'development keys accepted' if config.allow_development else '--no-dev'})")
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                    timeout_keep_alive=5, limit_concurrency=512, backlog=1024,
                    h11_max_incomplete_event_size=64 * 1024)
    finally:
        gw.close()


__all__ = ["bootstrap", "serve", "warm_up_verifier"]
