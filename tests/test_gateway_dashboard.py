"""The operators' dashboard in a real headless Chromium (Debian's chromium + chromium-driver),
driven over the W3C WebDriver protocol by chromedriver, with a screenshot.

The gateway runs as ``zkmargin serve`` on loopback with accepted and rejected submissions in
its database; the test loads ``/`` in Chromium, reads the rendered page (tiles, the chart's
bars, the rejection reasons -- a hostile name included, which must appear as text, not as
markup) and saves a screenshot (``dashboard.png`` in the test's folder, or in
``$ZKMARGIN_SCREENSHOT_DIR`` when set). Skips, saying why, when Chromium or chromedriver is
not installed (``.ci/run`` installs both).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from gateway_support import LoadKey, ServerProcess, free_port, venue_files

from zkmargin.formats import jsonio as jio
from zkmargin.service.client import GatewayClient

CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1100,1400"]


def _binary(*names):
    for n in names:
        p = shutil.which(n)
        if p:
            return p
    return None


class WebDriver:
    """The few WebDriver commands the test needs, over HTTP."""

    def __init__(self, driver: str, chromium: str, profile: Path):
        self.port = free_port()
        self.proc = subprocess.Popen([driver, f"--port={self.port}"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"
        self.http = httpx.Client(timeout=60)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self.http.get(self.base + "/status").json()["value"]["ready"]:
                    break
            except (httpx.HTTPError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.2)
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium, "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]}}}}
        r = self.http.post(self.base + "/session", json=caps).json()
        if "sessionId" not in r.get("value", {}):
            self.close()
            raise RuntimeError(f"chromedriver could not start Chromium: {str(r)[:500]}")
        self.session = f"{self.base}/session/{r['value']['sessionId']}"

    def cmd(self, method: str, path: str, body=None):
        r = self.http.request(method, self.session + path, json=body)
        v = r.json()["value"]
        if r.status_code != 200:
            raise RuntimeError(f"webdriver {path}: {str(v)[:300]}")
        return v

    def go(self, url: str):
        self.cmd("POST", "/url", {"url": url})

    def run(self, script: str):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": []})

    def screenshot(self) -> bytes:
        return base64.b64decode(self.cmd("GET", "/screenshot"))

    def close(self):
        try:
            if hasattr(self, "session"):
                self.http.delete(self.session)
        except httpx.HTTPError:
            pass
        self.http.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = _binary("chromium", "chromium-browser")
    driver = _binary("chromedriver")
    if not chromium or not driver:
        pytest.skip("Chromium or chromedriver not installed (Debian: apt-get install chromium chromium-driver; "
                    ".ci/run installs them)")
    wd = WebDriver(driver, chromium, tmp_path_factory.mktemp("chromium-profile"))
    yield wd
    wd.close()


def test_dashboard_in_headless_chromium(browser, tmp_path_factory, tmp_path):
    vf = venue_files(tmp_path_factory.mktemp("dashboard-venue"))
    lk = LoadKey(vf.flow)
    jio.write_json(vf.dir / "load_vk.json", lk.vk_json())
    jio.write_json(vf.dir / "load_setup.json", lk.record_json())
    db = f"sqlite:///{tmp_path / 'dash.db'}"
    with ServerProcess(vf, db, tmp_path / "server.log",
                       extra=["--vk", "load_vk.json", "--setup", "load_setup.json"]) as srv, \
            GatewayClient(srv.url) as gc:
        for k in range(6):
            assert gc.submit(lk.bundle_bytes(int(gc.challenge(vf.venue, vf.epoch)["nonce"])))["status"] == "accepted"
        assert gc.submit(lk.bundle_bytes(int(gc.challenge(vf.venue, vf.epoch)["nonce"]), bad_proof=True))[
            "status"] == "rejected"
        assert gc.submit(lk.bundle_bytes(12345))["status"] == "rejected"          # nonce never issued
        hostile = json.loads(lk.bundle_bytes(1))
        hostile["<script>alert(1)</script>"] = 1                               # an unknown field
        assert gc.submit(json.dumps(hostile).encode())["status"] == "rejected"

        browser.go(srv.url + "/")
        page = browser.run("""
            const t = id => document.querySelector('#' + id + ' b').textContent;
            const chart = document.querySelector('svg#chart').getBoundingClientRect();
            return {title: document.title, accepted: t('accepted'), rejected: t('rejected'),
                    bars_ok: document.querySelectorAll('svg#chart rect.accepted').length,
                    bars_bad: document.querySelectorAll('svg#chart rect.rejected').length,
                    chart_w: chart.width, chart_h: chart.height,
                    reasons: Array.from(document.querySelectorAll('#rejections tr.rejection')).map(r => r.innerText),
                    scripts: document.querySelectorAll('script').length,
                    epochs: document.querySelector('#epochs').innerText};""")
        png = browser.screenshot()
    out_dir = Path(os.environ.get("ZKMARGIN_SCREENSHOT_DIR") or tmp_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "dashboard.png").write_bytes(png)

    assert page["title"] == "zkmargin settlement gateway"
    assert page["accepted"] == "6" and page["rejected"] == "3"
    assert page["bars_ok"] >= 1 and page["bars_bad"] >= 1 and page["chart_w"] > 500 and page["chart_h"] > 100
    text = "\n".join(page["reasons"])
    assert len(page["reasons"]) == 3
    assert "groth16" in text and "gateway nonce" in text and "did not issue" in text
    assert "<script>alert(1)</script>" in text         # shown as text, never run
    assert page["scripts"] == 0
    assert "VenueA" in page["epochs"] and "20240524" in page["epochs"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
