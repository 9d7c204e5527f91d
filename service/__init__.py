"""The settlement gateway: a verification service for venues and settlement layers.

It issues fresh single-use nonces, verifies solvency bundles with exactly the checks of
``zkmargin verify`` (the Groth16 step batched), records every decision in a database
(SQLite embedded by default, PostgreSQL by URL) so a nonce is accepted at most once even
across restarts and concurrent submissions, tracks which account commitment is proven solvent
for which epoch, reports margin calls when an epoch closes, and shows operators a dashboard.

* :mod:`.gateway` -- the core (:class:`Gateway`, :class:`GatewayConfig`), no HTTP
* :mod:`.app`     -- the FastAPI app (``/v1/...``, ``/metrics``, ``/healthz``, ``/``)
* :mod:`.store`, :mod:`.schema` -- the database and its versioned migrations
* :mod:`.auth`    -- Ed25519-signed admin requests
* :mod:`.client`  -- the Python client (``zkmargin submit`` / ``challenge`` use it)
* :mod:`.server`  -- ``zkmargin serve``

docs/GATEWAY.md describes the API, the acceptance rules, the schema and operations.
"""

from __future__ import annotations

from .client import GatewayClient, GatewayClientError
from .gateway import Gateway, GatewayConfig, GatewayError

__all__ = ["Gateway", "GatewayConfig", "GatewayError", "GatewayClient", "GatewayClientError"]
