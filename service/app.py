"""The gateway's HTTP API (FastAPI): a thin layer over :class:`.gateway.Gateway`.

Every request body is read by :func:`read_body` -- at most the configured number of bytes
(``Content-Length`` is checked before anything is read, a longer stream is cut off at the
limit: 413), within a deadline (408) -- and then parsed by the strict JSON reader. Bad input
is answered with a 4xx and a one-line reason; an unexpected error with a bare 500 (the
traceback goes to the server's log only). Blocking work (database, verification) runs in the
thread pool, so the event loop keeps accepting requests while a pairing batch runs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Optional

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from zkmargin.errors import ZkmarginError
from zkmargin.formats import jsonio as jio

from . import dashboard, models
from .auth import AuthError
from .gateway import Gateway, GatewayError
from .schema import HEAD

log = logging.getLogger("zkmargin.service")

_BUNDLE_SCHEMA = {
    "type": "object",
    "description": "a zkmargin/solvency-bundle version 2 file (docs/PROTOCOL.md), as `zkmargin prove` writes it",
    "required": ["format", "version", "statement", "public_inputs", "proof", "vk_fingerprint", "attestations"],
}


def _body_doc(description: str, schema: Optional[dict] = None) -> dict:
    return {"requestBody": {"required": True, "description": description,
                            "content": {"application/json": {"schema": schema or {"type": "object"}}}}}


class BodyError(GatewayError):
    pass


async def read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The request body, at most ``limit`` bytes, within ``timeout_s`` (module docstring)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit() or len(declared) > 18:
            raise BodyError("Content-Length is not a number", 400)
        if int(declared) > limit:
            raise BodyError(f"request body larger than {limit} bytes", 413)

    async def collect() -> bytes:
        chunks, total = [], 0
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise BodyError(f"request body larger than {limit} bytes", 413)
            chunks.append(chunk)
        return b"".join(chunks)
    try:
        return await asyncio.wait_for(collect(), timeout_s)
    except asyncio.TimeoutError:
        raise BodyError(f"request body not received within {timeout_s:g} s", 408) from None


def _json(body: bytes, what: str, cap: int):
    return jio.loads_strict(body, what, cap)


def create_app(gw: Gateway) -> FastAPI:
    app = FastAPI(title="zkmargin settlement gateway", version="1",
                  description="Fresh challenges, verification of solvency bundles (Groth16/BN254), "
                              "single-use nonces, per-epoch solvency of accounts. See docs/GATEWAY.md.")
    app.state.gateway = gw
    cfg = gw.config

    # -- errors: always a 4xx with a reason, or a bare 500 ----------------------------------------

    @app.exception_handler(GatewayError)
    async def _gw_error(_req, exc: GatewayError):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(AuthError)
    async def _auth_error(_req, exc: AuthError):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.exception_handler(ZkmarginError)
    async def _zk_error(_req, exc: ZkmarginError):
        return JSONResponse({"detail": str(exc)[:500]}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req, exc: RequestValidationError):
        errs = exc.errors()
        first = errs[0] if errs else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid request')}"[:300]}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req, exc: StarletteHTTPException):
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception):
        log.error("internal error on %s %s: %s", req.method, req.url.path, type(exc).__name__, exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    # -- public API ------------------------------------------------------------------------------

    @app.post("/v1/challenges", response_model=models.Challenge, tags=["settlement"],
              responses={404: {"model": models.Problem}},
              openapi_extra=_body_doc("the venue and epoch to be challenged for",
                                      models.ChallengeRequest.model_json_schema()))
    async def post_challenge(request: Request):
        """Issue a fresh, single-use, expiring nonce (< 2^128) for one venue and epoch."""
        body = await read_body(request, 4096, cfg.body_timeout_s)
        doc = jio.expect_keys(jio.expect_object(_json(body, "challenge request", 4096), "challenge request"),
                              "challenge request", ("venue", "epoch"))
        return await run_in_threadpool(gw.issue_challenge, doc["venue"], doc["epoch"])

    @app.post("/v1/bundles", response_model=models.Submission, status_code=201, tags=["settlement"],
              responses={200: {"model": models.Submission, "description": "accepted before (duplicate)"},
                         400: {"model": models.Submission, "description": "not a bundle"},
                         413: {"model": models.Problem}, 422: {"model": models.Submission,
                                                               "description": "rejected: the failed checks"}},
              openapi_extra=_body_doc("a solvency bundle", _BUNDLE_SCHEMA))
    async def post_bundle(request: Request):
        """Verify a bundle; `accepted` only once the acceptance is committed to the database."""
        received = gw.now_ms()
        body = await read_body(request, cfg.max_bundle_bytes, cfg.body_timeout_s)
        res = await run_in_threadpool(gw.submit, body, received)
        return JSONResponse(res.to_json(), status_code=res.http)

    @app.get("/v1/bundles/{submission_id}", tags=["settlement"], responses={404: {"model": models.Problem}})
    async def get_submission(submission_id: str):
        """A past submission's decision (accepted or rejected, with the failed checks)."""
        import json
        if not (len(submission_id) == 32 and all(c in "0123456789abcdef" for c in submission_id)):
            raise GatewayError("not a submission id", 400)
        row = await run_in_threadpool(gw.store.submission, submission_id)
        if row is None:
            raise GatewayError("no such submission", 404)
        return {"id": row["id"], "status": row["status"], "venue": row["venue"], "epoch": row["epoch"],
                "nonce": row["nonce"], "buffer_bps": row["buffer_bps"], "received_at_ms": row["received_at_ms"],
                "decided_at_ms": row["decided_at_ms"], "failures": json.loads(row["reasons"])}

    @app.get("/v1/accounts/{commitment}", response_model=models.Account, response_model_exclude_none=True,
             tags=["settlement"])
    async def get_account(commitment: str, epoch: str = Query(..., description="the epoch asked about")):
        """`solvent` (with the proven buffer), `expired` (proven only for an earlier epoch),
        `rejected` (only rejected proofs for this epoch) or `unknown`."""
        return await run_in_threadpool(gw.account, commitment, epoch)

    @app.get("/v1/epochs/{epoch}", response_model=models.EpochSummary, tags=["settlement"])
    async def get_epoch(epoch: str, venue: Optional[str] = None):
        """Accepted / rejected / outstanding counts and latency percentiles of one epoch."""
        return await run_in_threadpool(gw.epoch, epoch, venue)

    @app.get("/v1/epochs/{epoch}/margin-calls", response_model=list[models.Event], tags=["settlement"])
    async def get_margin_calls(epoch: str, venue: Optional[str] = None, after: int = 0, limit: int = 1000):
        """Accounts proven solvent in this epoch without an accepted proof for the next one at close."""
        return await run_in_threadpool(lambda: gw.events(venue=venue, epoch=epoch, kind="margin_call",
                                                         after=after, limit=limit))

    @app.get("/v1/events", response_model=list[models.Event], tags=["settlement"])
    async def get_events(venue: Optional[str] = None, epoch: Optional[str] = None, kind: Optional[str] = None,
                         after: int = 0, limit: int = 100):
        """The event log (epoch closes, margin calls), oldest first; page with `after` = last id."""
        return await run_in_threadpool(lambda: gw.events(venue=venue, epoch=epoch, kind=kind, after=after,
                                                         limit=limit))

    # -- admin (signed) --------------------------------------------------------------------------

    async def _admin(request: Request, action):
        body = await read_body(request, cfg.max_admin_bytes, cfg.body_timeout_s)
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        signer = await run_in_threadpool(gw.authenticate, request.headers, request.method, path, body)
        doc = _json(body, "request body", cfg.max_admin_bytes)
        return await run_in_threadpool(action, doc, signer)

    signed = {401: {"model": models.Problem, "description": "unsigned, wrongly signed, stale or replayed"},
              403: {"model": models.Problem}}

    @app.post("/v1/admin/params", response_model=models.Registered, tags=["admin"], responses=signed,
              openapi_extra=_body_doc("a signed zkmargin/params/v2 file"))
    async def admin_params(request: Request):
        """Register a venue's parameter file for an epoch (signed by that venue)."""
        return await _admin(request, gw.register_params)

    @app.post("/v1/admin/verifying-keys", response_model=models.Registered, tags=["admin"], responses=signed,
              openapi_extra=_body_doc("a snarkjs verification_key.json"))
    async def admin_vk(request: Request):
        """Register a Groth16 verifying key."""
        return await _admin(request, gw.register_vk)

    @app.post("/v1/admin/setup-records", response_model=models.Registered, tags=["admin"], responses=signed,
              openapi_extra=_body_doc("a signed zkmargin setup record"))
    async def admin_setup(request: Request):
        """Register the setup record of a verifying key."""
        return await _admin(request, gw.register_setup)

    @app.post("/v1/admin/trust", response_model=models.Registered, tags=["admin"], responses=signed,
              openapi_extra=_body_doc("a zkmargin/trust/v2 file"))
    async def admin_trust(request: Request):
        """Replace the gateway's trust file (the signer must stay trusted for `params`)."""
        return await _admin(request, gw.register_trust)

    @app.post("/v1/admin/epochs/close", response_model=models.EpochCloseResult, tags=["admin"],
              responses=signed, openapi_extra=_body_doc("venue, epoch, next_epoch",
                                                        models.CloseEpoch.model_json_schema()))
    async def admin_close(request: Request):
        """Close an epoch: accounts without an accepted proof for the next epoch get margin calls."""
        return await _admin(request, gw.close_epoch)

    # -- operations ------------------------------------------------------------------------------

    @app.get("/healthz", response_model=models.Health, tags=["operations"])
    async def healthz():
        def probe():
            from sqlalchemy import text
            with gw.store.reader.connect() as c:
                c.execute(text("SELECT 1"))
        await run_in_threadpool(probe)
        return {"status": "ok", "database": gw.store.dialect, "schema_version": HEAD,
                "uptime_s": round(gw.clock() - gw.started_at, 3)}

    @app.get("/metrics", response_class=PlainTextResponse, tags=["operations"])
    async def metrics():
        """Prometheus text format."""
        text = await run_in_threadpool(metrics_text, gw)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/", response_class=HTMLResponse, tags=["operations"])
    async def index(window: int = Query(3600, ge=60, le=30 * 86400, description="chart window, seconds")):
        """The operators' dashboard."""
        page = await run_in_threadpool(dashboard.render, gw, window_s=window)
        return HTMLResponse(page, headers={"Content-Security-Policy": dashboard.CSP,
                                           "X-Content-Type-Options": "nosniff"})

    return app


_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def metrics_text(gw: Gateway) -> str:
    with gw._lock:
        counts = dict(gw.counts)
        fails = dict(gw.failure_counts)
        lat = list(gw.latencies)
    totals = gw.store.totals()
    b = gw.batcher
    sizes = list(b.sizes)
    out = ["# HELP zkmargin_gateway_submissions_total Submissions decided by this process, by outcome.",
           "# TYPE zkmargin_gateway_submissions_total counter"]
    for k in ("accepted", "rejected", "duplicate"):
        out.append(f'zkmargin_gateway_submissions_total{{outcome="{k}"}} {counts[k]}')
    out += ["# HELP zkmargin_gateway_check_failures_total Failed checks of rejected submissions, by check.",
            "# TYPE zkmargin_gateway_check_failures_total counter"]
    for k, v in sorted(fails.items()):
        name = k.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
        out.append(f'zkmargin_gateway_check_failures_total{{check="{name}"}} {v}')
    out += ["# HELP zkmargin_gateway_decision_seconds Time from a body's receipt to its decision "
            "(the last 10000 submissions of this process).",
            "# TYPE zkmargin_gateway_decision_seconds histogram"]
    for le in _BUCKETS:
        out.append(f'zkmargin_gateway_decision_seconds_bucket{{le="{le}"}} {sum(1 for x in lat if x <= le)}')
    out.append(f'zkmargin_gateway_decision_seconds_bucket{{le="+Inf"}} {len(lat)}')
    out.append(f"zkmargin_gateway_decision_seconds_sum {sum(lat):.6f}")
    out.append(f"zkmargin_gateway_decision_seconds_count {len(lat)}")
    out += ["# HELP zkmargin_gateway_pairing_batches_total Batched Groth16 checks run.",
            "# TYPE zkmargin_gateway_pairing_batches_total counter",
            f"zkmargin_gateway_pairing_batches_total {b.batches}",
            "# HELP zkmargin_gateway_pairing_proofs_total Proofs checked in pairing batches.",
            "# TYPE zkmargin_gateway_pairing_proofs_total counter",
            f"zkmargin_gateway_pairing_proofs_total {b.proofs}",
            "# HELP zkmargin_gateway_pairing_batch_size_mean Mean size of the last 1000 batches.",
            "# TYPE zkmargin_gateway_pairing_batch_size_mean gauge",
            f"zkmargin_gateway_pairing_batch_size_mean {sum(sizes) / len(sizes) if sizes else 0:.3f}",
            "# HELP zkmargin_gateway_stored_submissions Submissions in the database, by status.",
            "# TYPE zkmargin_gateway_stored_submissions gauge",
            f'zkmargin_gateway_stored_submissions{{status="accepted"}} {totals["accepted"]}',
            f'zkmargin_gateway_stored_submissions{{status="rejected"}} {totals["rejected"]}',
            "# HELP zkmargin_gateway_challenges_outstanding Issued nonces neither used nor expired.",
            "# TYPE zkmargin_gateway_challenges_outstanding gauge",
            f"zkmargin_gateway_challenges_outstanding {totals['challenges_outstanding']}",
            "# HELP zkmargin_gateway_uptime_seconds Seconds since this process started.",
            "# TYPE zkmargin_gateway_uptime_seconds gauge",
            f"zkmargin_gateway_uptime_seconds {gw.clock() - gw.started_at:.3f}"]
    return "\n".join(out) + "\n"


__all__ = ["create_app", "read_body", "metrics_text"]
