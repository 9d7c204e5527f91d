"""A worker task that dies on its first attempt at each batch (for the worker-loss test).

The marker file (``$ZKM_FAULT_MARKERS``, inherited by the worker processes) records every
batch whose first attempt killed its worker; the second attempt, on a restarted or other
worker, proves normally.
"""

from __future__ import annotations

import os
from pathlib import Path


class _Markers:
    def _path(self) -> Path:
        return Path(os.environ["ZKM_FAULT_MARKERS"])

    def write_text(self, s: str) -> None:
        self._path().write_text(s)

    def read_text(self) -> str:
        return self._path().read_text()


MARKERS = _Markers()


def die_once_then_prove(zkey_bytes, zkey_id, params, batch, accounts, ctx):
    from zkmargin.solvency.venue.prove import prove_batch_task
    seen = MARKERS.read_text().split()
    if str(ctx.batch_index) not in seen:
        with open(MARKERS._path(), "a") as f:
            f.write(f"{ctx.batch_index}\n")
        os._exit(1)                      # the worker process dies mid-task
    return prove_batch_task(zkey_bytes, zkey_id, params, batch, accounts, ctx)
