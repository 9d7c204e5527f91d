"""The README's Python example (section "From Python") runs as written, on files of an honest
session: a settlement layer verifies a bundle from paths."""

from __future__ import annotations

import re
from pathlib import Path

from solvency_flow import EPOCH, NONCE, make_flow

from zkmargin.formats.snarkjs_json import write_verifying_key
from zkmargin.solvency import trust as tr
from zkmargin.solvency.bundle import write_bundle
from zkmargin.solvency.keys import write_setup_record
from zkmargin.solvency.params import write_params


def _example(repo_root: Path) -> str:
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## From Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_verifies_a_bundle_from_paths(tmp_path, repo_root, monkeypatch, capsys):
    code = _example(repo_root)
    assert len(code.strip().splitlines()) <= 14 and "verify_files" in code
    assert f"nonce={NONCE}" in code and f"epoch={EPOCH}" in code
    flow = make_flow(tmp_path)
    write_bundle(flow.bundle, tmp_path / "bundle.json")
    write_verifying_key(tmp_path / "verification_key.json", flow.keys.vk)
    write_params(flow.pf, tmp_path / "params.json")
    tr.write_trust(tmp_path / "trust.json", flow.trust)
    write_setup_record(flow.record, tmp_path / "setup.json")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.startswith("VALID")
