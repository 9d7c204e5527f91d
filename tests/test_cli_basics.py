"""The command line behaves like the tools its users know (issue 17): ``--version``, shell
completion, exit codes, typed options with ranges and choices, messages in the user's terms,
help without odd metavars, and docs/CLI.md covering every verb."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
from typer.testing import CliRunner

import zkmargin
from zkmargin.cli.docgen import markdown, section_of, verbs
from zkmargin.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def invoke(*args: str, env: dict | None = None):
    return runner.invoke(app, list(args), env={"COLUMNS": "80", **(env or {})})


# ---------------------------------------------------------------------------------------------
# version and completion


def test_version():
    r = invoke("--version")
    assert r.exit_code == 0 and r.stdout == f"zkmargin {zkmargin.__version__}\n"
    r = subprocess.run([sys.executable, "-m", "zkmargin.cli.main", "--version"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"zkmargin {zkmargin.__version__}"


def test_completion_show_and_install(tmp_path):
    r = invoke("--show-completion", "bash", env={"SHELL": "/bin/bash"})
    assert r.exit_code == 0 and "_zkmargin_completion" in r.stdout and "complete " in r.stdout
    r = invoke("--install-completion", "bash", env={"HOME": str(tmp_path), "SHELL": "/bin/bash"})
    assert r.exit_code == 0, r.output
    assert "completion installed" in r.output.lower()
    installed = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any("zkmargin" in p.read_text(errors="ignore") for p in installed), installed


def test_completion_lists_verbs():
    r = invoke(env={"_ZKMARGIN_COMPLETE": "complete_bash", "COMP_WORDS": "zkmargin ver", "COMP_CWORD": "1"})
    assert r.exit_code == 0
    assert {"verify", "verify-inclusion", "verify-many"} <= set(r.stdout.split())


# ---------------------------------------------------------------------------------------------
# exit codes and messages


def test_margin_exit_codes(samples, tmp_path):
    mkt = str(samples / "market.json")
    assert invoke("margin", str(samples / "portfolio.json"), "--market", mkt).exit_code == 0
    poor = json.loads((samples / "portfolio.json").read_text())
    poor["collateral"] = {"USDC": 10.0}
    (tmp_path / "poor.json").write_text(json.dumps(poor))
    r = invoke("margin", str(tmp_path / "poor.json"), "--market", mkt)
    assert r.exit_code == 1 and "BELOW MAINTENANCE (exit status 1)" in r.stdout
    r = invoke("margin", str(tmp_path / "missing.json"), "--market", mkt)
    assert r.exit_code == 2 and r.stdout == "" and r.stderr.startswith("error:") and r.stderr.count("\n") == 1
    assert invoke("margin", "--no-such-option").exit_code == 2


def test_unreadable_input_is_reported_one_way(samples, tmp_path):
    """A folder where a file is expected: one ``error:`` line in words, exit 2, for every verb."""
    folder = tmp_path / "adir"
    folder.mkdir()
    d = str(tmp_path)
    cases = [
        ["prove", "--params", str(folder), "--zkey", str(folder), "--opening", str(folder), "--nonce", "1",
         "--out", f"{d}/b.json"],
        ["groth16", "verify", str(folder), str(folder), str(folder)],
        ["groth16", "prove", str(folder), str(folder), f"{d}/p.json", f"{d}/q.json", "-q"],
        ["powersoftau", "verify", str(folder)],
        ["zkey", "export", "verificationkey", str(folder), f"{d}/vk.json"],
        ["margin", str(folder), "--market", str(samples / "market.json")],
        ["inspect", str(folder)],
        ["venue", "check", str(folder)],
    ]
    for args in cases:
        r = invoke(*args)
        assert r.exit_code == 2, (args, r.output)
        assert r.stdout == "" and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, (args, r.output)
        assert "is a directory" in r.stderr and "Errno" not in r.stderr and "INVALID" not in r.stderr, r.stderr


def test_prove_zkey_folder_is_named(samples, tmp_path):
    d = tmp_path
    assert invoke("venue", "params", str(samples / "portfolio.json"), "--market", str(samples / "market.json"),
                  "--venue", "V", "--epoch", "1", "--out", str(d / "p.json")).exit_code == 0
    assert invoke("commit", str(samples / "portfolio.json"), "--params", str(d / "p.json"), "--out",
                  str(d / "c.json"), "--opening", str(d / "o.json")).exit_code == 0
    (d / "keys").mkdir()
    r = invoke("prove", "--params", str(d / "p.json"), "--zkey", str(d / "keys"), "--opening", str(d / "o.json"),
               "--nonce", "1", "--out", str(d / "b.json"))
    assert r.exit_code == 2 and r.stderr == f"error: {d / 'keys'}: is a directory, not a file\n"


def test_venue_params_uses_the_models_scenario_count(samples, tmp_path):
    r = invoke("venue", "params", str(samples / "portfolio.json"), "--market", str(samples / "market.json"),
               "--model", "paradex", "--venue", "V", "--epoch", "1", "--out", str(tmp_path / "p.json"))
    assert r.exit_code == 0, r.output
    assert "x 28 scenarios" in r.stdout and "{" not in r.stdout


# ---------------------------------------------------------------------------------------------
# typed options


TYPED = [
    (["verify", "b.json", "--vk", "v", "--params", "p", "--epoch", "1", "--min-buffer", "abc"],
     "Invalid value for '--min-buffer': 'abc' is not a decimal number"),
    (["verify", "b.json", "--vk", "v", "--params", "p", "--epoch", "1", "--min-buffer", "0"],
     "0 is not in [0.0001, 1677.7216]"),
    (["prove", "--params", "p", "--zkey", "z", "--opening", "o", "--nonce", "1", "--buffer", "1.00001"],
     "1.00001 is not a multiple of 0.0001"),
    (["serve", "--params", "p", "--vk", "v", "--trust", "t", "--min-buffer", "x"], "'x' is not a decimal number"),
    (["venue", "solvency", "build", "b", "--params", "p", "--out", "o", "--insurance-fund", "-5"],
     "-5 is not a non-negative USD amount"),
    (["venue", "solvency", "build", "b", "--params", "p", "--out", "o", "--buffer", "nan"], "not a finite number"),
    (["margin", "p", "--market", "m", "--alpha", "1"], "Invalid value for '--alpha': 1 is not in [0.5, 1.0)"),
    (["margin", "p", "--market", "m", "--horizon", "0"], "Invalid value for '--horizon': 0 is not in (0.0, 3650.0]"),
    (["margin", "p", "--market", "m", "--model", "isolatd"], "'isolated', 'cross', 'span16'"),
    (["backtest", "p.csv", "--window", "0"], "Invalid value for '--window'"),
    (["backtest", "p.csv", "--alpha-es", "0.2"], "0.2 is not in [0.5, 1.0)"),
    (["venue", "params", "p", "--market", "m", "--venue", "V", "--epoch", "1", "--model", "isolated"],
     "'span16', 'paradex', 'deribit'"),
    (["venue", "params", "p", "--market", "m", "--venue", "V", "--epoch", "1", "--alpha", "0.3"],
     "0.3 is not in [0.5, 1)"),
    (["serve", "--params", "p", "--vk", "v", "--trust", "t", "--log-level", "loud"], "'info'"),
]


@pytest.mark.parametrize("args,message", TYPED)
def test_typed_option_errors(args, message):
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert r.stdout == "" and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert message in r.stderr and "--help')" in r.stderr, r.stderr
    assert "Fraction" not in r.stderr and "Traceback" not in r.stderr and "Value error" not in r.stderr


def test_margin_model_names_are_the_librarys():
    from zkmargin.cli.options import MARGIN_MODELS
    from zkmargin.margin.models import MODELS
    assert tuple(MODELS) == MARGIN_MODELS


# ---------------------------------------------------------------------------------------------
# help and docs


def test_help_has_no_bool_metavar_and_names_exit_codes():
    r = invoke("--help")
    assert r.exit_code == 0 and "<bool>" not in r.stdout and "Exit codes:" in r.stdout
    for name, _ in verbs():
        r = invoke(*name.split(), "--help")
        assert r.exit_code == 0, name
        assert "<bool>" not in r.stdout, name


@pytest.mark.parametrize("verb", ["margin", "backtest", "verify", "prove", "serve", "groth16 verify", "inspect"])
def test_help_words_are_not_cut_at_80_columns(verb):
    r = invoke(*verb.split(), "--help")
    assert "…" not in r.stdout, r.stdout


def test_docs_list_every_verb_and_are_current():
    doc = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    for name, _ in verbs():
        assert f"### `zkmargin {name}`" in doc, name
    assert section_of(doc) == markdown().strip(), "run: python -m zkmargin.cli.docgen --write docs/CLI.md"
    assert "docs/CLI.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_license_is_an_spdx_expression():
    """No setuptools ``project.license`` table deprecation: an SPDX string, and a setuptools
    that reads it (77+)."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert isinstance(meta["project"]["license"], str)
    assert not any(c.startswith("License ::") for c in meta["project"].get("classifiers", []))
    req = next(r for r in meta["build-system"]["requires"] if r.startswith("setuptools"))
    assert int(req.split(">=")[1].split(".")[0]) >= 77


def test_venue_params_names_the_scenario_count_it_needs(samples, tmp_path):
    r = invoke("venue", "params", str(samples / "portfolio.json"), "--market", str(samples / "market.json"),
               "--model", "paradex", "--scenarios", "16", "--venue", "V", "--epoch", "1", "--out", str(tmp_path / "p.json"))
    assert r.exit_code == 2 and "use --scenarios 28" in r.stderr and r.stderr.count("\n") == 1, r.output
