"""The README's Python example (section "From Python") runs as written, on files of an honest
session: a settlement layer verifies a bundle from paths."""

from __future__ import annotations

import re
from pathlib import Path

from solvency_flow import EPOCH, NONCE, make_flow, write_flow_files


def _example(repo_root: Path) -> str:
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## From Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_verifies_a_bundle_from_paths(tmp_path, repo_root, monkeypatch, capsys):
    code = _example(repo_root)
    assert len(code.strip().splitlines()) <= 14 and "verify_files" in code
    assert f"nonce={NONCE}" in code and f"epoch={EPOCH}" in code
    write_flow_files(make_flow(tmp_path), tmp_path, vk_name="verification_key.json")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.startswith("VALID")
