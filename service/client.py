"""A Python client of the settlement gateway (what `zkmargin submit` and `zkmargin challenge` use).

    from zkmargin.service.client import GatewayClient

    gw = GatewayClient("http://127.0.0.1:8080")
    nonce = gw.challenge("VenueA", 20240524)["nonce"]        # prove with this nonce, then:
    result = gw.submit("bundle.json")                          # {"status": "accepted", "id": ...}
    gw.account(commitment, epoch=20240524)["status"]          # "solvent"

Admin calls are signed with a venue's key file (``zkmargin attest keygen``)::

    admin = GatewayClient("http://127.0.0.1:8080", key="venue_key.json")
    admin.register_params("params_next.json")
    admin.close_epoch("VenueA", 20240524)                      # margin calls for the unproven
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional, Union

import httpx

from zkmargin.errors import ZkmarginError
from zkmargin.formats import jsonio as jio

from .auth import sign_request

DocLike = Union[str, Path, dict, bytes]


class GatewayClientError(ZkmarginError):
    """The gateway could not be reached, or refused a request (``status``: the HTTP status)."""

    def __init__(self, message: str, status: Optional[int] = None):
        super().__init__(message)
        self.status = status


def _body(doc: DocLike, what: str) -> bytes:
    if isinstance(doc, bytes):
        return doc
    if isinstance(doc, dict):
        return json.dumps(doc).encode()
    if hasattr(doc, "to_json"):
        return json.dumps(doc.to_json()).encode()
    p = Path(doc)
    return jio.read_capped(p, what, jio.MAX_JSON_BYTES)


class GatewayClient:
    def __init__(self, url: str, *, key: Union[str, Path, None] = None, timeout: float = 120.0,
                 transport: Optional[httpx.BaseTransport] = None):
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport)
        self._key = None
        if key is not None:
            from zkmargin.solvency.trust import read_private_key
            self._key = read_private_key(key)

    def close(self) -> None:
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- plumbing

    def _request(self, method: str, path: str, *, body: Optional[bytes] = None, params=None,
                 headers=None, ok=(200, 201)) -> httpx.Response:
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        hdrs.update(headers or {})
        try:
            r = self._http.request(method, path, content=body, params=params, headers=hdrs)
        except httpx.HTTPError as e:
            raise GatewayClientError(f"gateway {self.url}: {type(e).__name__}: {str(e)[:200]}") from None
        if r.status_code not in ok:
            try:
                detail = r.json().get("detail") or r.text[:300]
            except ValueError:
                detail = r.text[:300]
            raise GatewayClientError(f"gateway answered {r.status_code}: {detail}", r.status_code)
        return r

    def _json(self, r: httpx.Response):
        try:
            return jio.loads_strict(r.content, "gateway answer", jio.SMALL_JSON_BYTES)
        except ZkmarginError as e:
            raise GatewayClientError(str(e), r.status_code) from None

    def _signed(self, path: str, body: bytes, method: str = "POST"):
        if self._key is None:
            raise GatewayClientError("admin requests need a signing key (key=...)")
        name, key = self._key
        r = self._request(method, path, body=body, headers=sign_request(key, name, method, path, body))
        return self._json(r)

    # -- the settlement API

    def challenge(self, venue: str, epoch: int) -> dict:
        """A fresh nonce: ``{"nonce": "<decimal>", "expires_at": ..., ...}``."""
        body = json.dumps({"venue": venue, "epoch": int(epoch)}).encode()
        return self._json(self._request("POST", "/v1/challenges", body=body))

    def submit(self, bundle: DocLike) -> dict:
        """Submit a bundle (path, dict, :class:`Bundle` or bytes). Returns the decision, accepted
        or rejected (``failures`` then names each failed check); raises only when the gateway
        gave no decision (unreachable, overloaded, body too large)."""
        r = self._request("POST", "/v1/bundles", body=_body(bundle, "bundle"), ok=(200, 201, 400, 422))
        out = self._json(r)
        if not isinstance(out, dict) or "status" not in out:
            raise GatewayClientError(f"gateway answered {r.status_code} without a decision", r.status_code)
        return out

    def submission(self, submission_id: str) -> dict:
        return self._json(self._request("GET", f"/v1/bundles/{submission_id}"))

    def account(self, commitment, epoch: int) -> dict:
        return self._json(self._request("GET", f"/v1/accounts/{commitment}", params={"epoch": str(epoch)}))

    def epoch(self, epoch: int, venue: Optional[str] = None) -> dict:
        params = {"venue": venue} if venue is not None else None
        return self._json(self._request("GET", f"/v1/epochs/{int(epoch)}", params=params))

    def margin_calls(self, epoch: int, venue: Optional[str] = None) -> list:
        params = {"venue": venue} if venue is not None else None
        return self._json(self._request("GET", f"/v1/epochs/{int(epoch)}/margin-calls", params=params))

    def events(self, **params) -> list:
        return self._json(self._request("GET", "/v1/events", params={k: v for k, v in params.items() if v is not None}))

    def health(self) -> dict:
        return self._json(self._request("GET", "/healthz"))

    def metrics(self) -> str:
        return self._request("GET", "/metrics").text

    # -- admin (signed with the key given to the constructor)

    def register_params(self, params: DocLike) -> dict:
        return self._signed("/v1/admin/params", _body(params, "params"))

    def register_vk(self, vk: DocLike) -> dict:
        return self._signed("/v1/admin/verifying-keys", _body(vk, "verification key"))

    def register_setup(self, record: DocLike) -> dict:
        return self._signed("/v1/admin/setup-records", _body(record, "setup record"))

    def register_trust(self, trust: DocLike) -> dict:
        return self._signed("/v1/admin/trust", _body(trust, "trust"))

    def close_epoch(self, venue: str, epoch: int, next_epoch: Optional[int] = None) -> dict:
        doc = {"venue": venue, "epoch": int(epoch)}
        if next_epoch is not None:
            doc["next_epoch"] = int(next_epoch)
        return self._signed("/v1/admin/epochs/close", json.dumps(doc).encode())


__all__ = ["GatewayClient", "GatewayClientError"]
