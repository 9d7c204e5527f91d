"""The operators' dashboard (``GET /``): one server-rendered page, no script.

Totals, epochs (accepted / rejected / closed), a bar chart of accepted and rejected
submissions over the last window (inline SVG), and the most recent rejections with the name
and reason of every failed check. Every value that came from a request is HTML-escaped; the
page is served with a Content-Security-Policy that allows no script and no external load.
"""

from __future__ import annotations

import html
import time

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'"


def _e(v) -> str:
    return html.escape(str(v), quote=True)


def _t(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + " UTC"


def chart_svg(timeline, since_ms: int, bucket_ms: int, n_buckets: int) -> str:
    """Stacked bars (accepted below, rejected above) per time bucket."""
    acc = [0] * n_buckets
    rej = [0] * n_buckets
    for start, status, n in timeline:
        k = (start - since_ms) // bucket_ms
        if 0 <= k < n_buckets:
            (acc if status == "accepted" else rej)[k] += n
    top = max([a + r for a, r in zip(acc, rej)] + [1])
    w, h, pad, left = 720, 220, 24, 48
    bw = (w - left - pad) / n_buckets
    scale = (h - 2 * pad) / top
    parts = [f'<svg id="chart" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'viewBox="0 0 {w} {h}" role="img" aria-label="accepted and rejected submissions over time">',
             f'<line x1="{left}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#555"/>',
             f'<line x1="{left}" y1="{pad}" x2="{left}" y2="{h - pad}" stroke="#555"/>',
             f'<text x="{left - 6}" y="{pad + 4}" text-anchor="end" font-size="11">{top}</text>',
             f'<text x="{left - 6}" y="{h - pad}" text-anchor="end" font-size="11">0</text>']
    for k in range(n_buckets):
        x = left + k * bw + 1
        ha, hr = acc[k] * scale, rej[k] * scale
        if acc[k]:
            parts.append(f'<rect class="bar accepted" x="{x:.1f}" y="{h - pad - ha:.1f}" width="{bw - 2:.1f}" '
                         f'height="{ha:.1f}" fill="#2e7d32"><title>{acc[k]} accepted</title></rect>')
        if rej[k]:
            parts.append(f'<rect class="bar rejected" x="{x:.1f}" y="{h - pad - ha - hr:.1f}" width="{bw - 2:.1f}" '
                         f'height="{hr:.1f}" fill="#c62828"><title>{rej[k]} rejected</title></rect>')
    parts.append(f'<text x="{left}" y="{h - 6}" font-size="11">{_e(_t(since_ms))}</text>')
    parts.append(f'<text x="{w - pad}" y="{h - 6}" text-anchor="end" font-size="11">now</text>')
    parts.append("</svg>")
    return "".join(parts)


def render(gw, *, window_s: int = 3600, n_buckets: int = 30) -> str:
    st = gw.store
    now = gw.now_ms()
    bucket_ms = max(1000, window_s * 1000 // n_buckets)
    since = now - bucket_ms * n_buckets
    totals = st.totals()
    epochs = st.epoch_rows()
    rejections = st.recent_rejections()
    chart = chart_svg(st.timeline(since, bucket_ms), since, bucket_ms, n_buckets)
    cfg = gw.config
    rows_e = "".join(
        f'<tr><td>{_e(r["venue"])}</td><td>{_e(r["epoch"])}</td><td class="num">{r["accepted"]}</td>'
        f'<td class="num">{r["rejected"]}</td><td>{"closed" if r["closed"] else "open"}</td></tr>' for r in epochs) \
        or '<tr><td colspan="5">no submissions yet</td></tr>'
    rows_r = "".join(
        f'<tr class="rejection"><td>{_e(_t(r["at_ms"]))}</td><td>{_e(r["venue"] or "-")}</td>'
        f'<td>{_e(r["epoch"] if r["epoch"] is not None else "-")}</td><td><ul>'
        + "".join(f'<li><b>{_e(f["name"])}</b>: {_e(f["reason"])}</li>' for f in r["failures"][:8])
        + "</ul></td></tr>" for r in rejections) or '<tr><td colspan="4">no rejections</td></tr>'
    mode = "only production-grade keys accepted (--no-dev)" if not cfg.allow_development else \
        "development keys accepted (start with --no-dev to refuse them)"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>zkmargin settlement gateway</title>
<style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}}
h1{{font-size:22px}} h2{{font-size:17px;margin-top:28px}}
table{{border-collapse:collapse;width:100%}} td,th{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}}
.num{{text-align:right}} .tiles{{display:flex;gap:16px}} .tile{{border:1px solid #ccc;border-radius:6px;padding:10px 16px}}
.tile b{{display:block;font-size:22px}} ul{{margin:0;padding-left:18px}} .legend span{{margin-right:16px}}
</style></head><body>
<h1>zkmargin settlement gateway</h1>
<p>{_e(mode)}; minimum buffer {cfg.min_buffer_bps / 10_000:g}; nonces expire after {cfg.nonce_ttl_s} s;
database {_e(st.dialect)}.</p>
<div class="tiles">
<div class="tile" id="accepted">accepted<b>{totals["accepted"]}</b></div>
<div class="tile" id="rejected">rejected<b>{totals["rejected"]}</b></div>
<div class="tile" id="outstanding">open challenges<b>{totals["challenges_outstanding"]}</b></div>
<div class="tile">challenges issued<b>{totals["challenges_issued"]}</b></div>
</div>
<h2>Submissions over the last {window_s // 60} minutes</h2>
<p class="legend"><span style="color:#2e7d32">&#9632; accepted</span><span style="color:#c62828">&#9632; rejected</span></p>
{chart}
<h2>Epochs</h2>
<table id="epochs"><tr><th>venue</th><th>epoch</th><th class="num">accepted</th><th class="num">rejected</th><th>state</th></tr>
{rows_e}</table>
<h2>Recent rejections</h2>
<table id="rejections"><tr><th>received</th><th>venue</th><th>epoch</th><th>failed checks</th></tr>
{rows_r}</table>
<p><a href="/docs">API documentation</a> &middot; <a href="/metrics">metrics</a></p>
</body></html>
"""


__all__ = ["render", "chart_svg", "CSP"]
