"""`zkmargin samples`, `zkmargin cache info|clear` and the progress display (issue 11)."""

from __future__ import annotations

import io
import json

from rich.console import Console
from typer.testing import CliRunner

from zkmargin.cli.main import app
from zkmargin.cli.progress import _LineTicks, reporter

runner = CliRunner()


def test_samples_writes_the_session_files_and_never_overwrites(tmp_path):
    out = tmp_path / "s"
    r = runner.invoke(app, ["samples", str(out)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["book.json", "market.json", "portfolio.json"]
    book = json.loads((out / "book.json").read_text())
    assert len(book["instruments"]) == 64
    assert {i["underlying"] for i in book["instruments"]} == {"BTC", "ETH"}
    (out / "market.json").write_text("{}")
    r = runner.invoke(app, ["samples", str(out)])
    assert r.exit_code == 2 and "--force" in r.output
    assert (out / "market.json").read_text() == "{}"
    assert runner.invoke(app, ["samples", str(out), "--force"]).exit_code == 0
    assert json.loads((out / "market.json").read_text())["as_of"] == "2024-05-24T08:00:00Z"


def test_the_book_holds_the_sample_portfolio_and_gives_the_documented_shape(tmp_path):
    """The documented session: `venue params book.json --instruments-slots 64` then `commit
    portfolio.json` (every position of the portfolio is an instrument of the book)."""
    from zkmargin.solvency.opening import make_opening
    from zkmargin.solvency.params import read_params

    d = tmp_path
    assert runner.invoke(app, ["samples", str(d)]).exit_code == 0
    r = runner.invoke(app, ["venue", "params", str(d / "book.json"), "--market", str(d / "market.json"),
                            "--model", "span16", "--venue", "VenueA", "--epoch", "20240524",
                            "--instruments-slots", "64", "--out", str(d / "params.json")])
    assert r.exit_code == 0, r.output
    pf = read_params(d / "params.json")
    assert (pf.shape.instruments, pf.shape.groups, pf.shape.scenarios, pf.shape.assets) == (64, 2, 16, 3)
    assert len(pf.instruments) == 64
    make_opening(json.loads((d / "portfolio.json").read_text()), pf, salt=1)   # raises if not


def test_cache_info_and_clear(tmp_path, monkeypatch):
    from zkmargin.prover import dev_cache

    monkeypatch.setenv("ZKMARGIN_CACHE", str(tmp_path))
    dev_cache.publish(tmp_path / "dev-power3.ptau", b"x" * 1000,
                      dev_cache.make_record(tmp_path / "dev-power3.ptau", "dev_ptau", ["s"], "c", 0.1, power=3))
    (tmp_path / "dev-old.zkey").write_bytes(b"y" * 500)             # an older file: no record
    (tmp_path / "native").mkdir()
    (tmp_path / "native" / "keep.so").write_bytes(b"z")
    r = runner.invoke(app, ["cache", "info"])
    assert r.exit_code == 0, r.output
    assert "dev-power3.ptau" in r.output and "powers of tau, power 3" in r.output
    assert "dev-old.zkey" in r.output and "no record" in r.output
    assert "numba JIT cache" in r.output and "native prover and verifier kernels" in r.output
    r = runner.invoke(app, ["cache", "clear"])
    assert r.exit_code == 0 and "removed 3 development file(s)" in r.output, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["native"]   # the rest is kept
    assert (tmp_path / "native" / "keep.so").exists()


def test_jit_cache_listing_covers_every_cached_kernel_module(repo_root):
    from zkmargin.cli.cmd_local import JIT_MODULES

    with_cache = sorted("zkmargin." + ".".join(p.relative_to(repo_root).with_suffix("").parts)
                        for folder in ("algebra", "prover", "verifier", "circuits", "margin", "cli")
                        for p in (repo_root / folder).glob("*.py")
                        if "cache=True" in p.read_text() and p.name != "caches.py")
    assert sorted(JIT_MODULES) == with_cache


def test_stage_lines_for_logs():
    lines = []
    ticks = _LineTicks("setup", lines.append, indent="")
    ticks("A", 0, 10)
    ticks("A", 1, 10)             # same stage: no line
    ticks("done", 10, 10)         # the end is always shown
    assert len(lines) == 2
    assert lines[0].endswith("setup: A (0%)") and "setup: done (100%)" in lines[1]


def test_reporter_without_a_terminal_prints_lines():
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=200)
    with reporter("build", console=console, indent="") as rep:
        rep.say("starting")
        rep.ticks("kernel a", 0, 4)
        rep.ticks("done", 4, 4)
    out = buf.getvalue()
    assert "starting" in out and "build: kernel a (0%)" in out and "build: done (100%)" in out
    with reporter("build", console=console, quiet=True) as rep:
        assert rep.ticks is None
