"""The verb and option reference of docs/CLI.md, generated from the typer app.

    python -m zkmargin.cli.docgen > verbs.md     # then paste between the markers of docs/CLI.md
    python -m zkmargin.cli.docgen --check docs/CLI.md   # exit 1 when the doc is stale

The hand-written parts of docs/CLI.md (exit codes, JSON schemas) live outside the markers
``<!-- verbs:begin -->`` / ``<!-- verbs:end -->``; only the part between them is generated.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

BEGIN, END = "<!-- verbs:begin -->", "<!-- verbs:end -->"
DEFAULT_EXIT = "Exit codes: 0 done, 2 bad input or usage."


def root() -> Any:
    """The click command tree of ``zkmargin`` (typer's group; duck-typed, as typer may vendor click)."""
    import typer

    from .main import app
    return typer.main.get_command(app)


def verbs(group: Any = None, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every runnable verb, as (``"venue solvency verify"``, command), in registration order."""
    group = group or root()
    for name, cmd in group.commands.items():
        if getattr(cmd, "hidden", False):
            continue
        full = f"{prefix}{name}"
        if hasattr(cmd, "commands"):
            yield from verbs(cmd, full + " ")
        else:
            yield full, cmd


def _first_paragraph(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


def _choices(p: Any) -> tuple:
    desc = getattr(p, "type_descriptor", None)
    found = getattr(desc, "choices", None) if desc is not None else getattr(getattr(p, "type", None), "choices", None)
    return tuple(found or ())


def _param_line(p: Any) -> str:
    if p.param_type_name == "argument":
        name = f"`{p.metavar or p.name.upper()}`" + ("..." if p.nargs != 1 and not p.metavar else "")
    else:
        names = list(p.opts) + list(getattr(p, "secondary_opts", []))
        name = " / ".join(f"`{n}`" for n in names)
    bits = [_first_paragraph(getattr(p, "help", None))]
    choices = _choices(p)
    if choices:
        bits.append("one of " + ", ".join(f"`{getattr(c, 'value', c)}`" for c in choices))
    if p.required:
        bits.append("required")
    elif not getattr(p, "is_flag", False) and p.default not in (None, (), [], False):
        default = getattr(p.default, "value", p.default)
        bits.append(f"default `{default}`")
    return f"- {name}: " + "; ".join(b for b in bits if b)


def markdown() -> str:
    """The generated section: one heading per verb, its summary and its parameters."""
    out = []
    for name, cmd in verbs():
        out.append(f"### `zkmargin {name}`\n")
        paras = [" ".join(p.split()) for p in (cmd.help or "").strip().split("\n\n")]
        if not any(p.startswith("Exit codes:") for p in paras):
            paras.append(DEFAULT_EXIT)
        out.append("\n\n".join(p for p in paras if p) + "\n")
        params = [_param_line(p) for p in cmd.params if p.name != "help" and not getattr(p, "hidden", False)]
        if params:
            out.append("\n".join(params) + "\n")
    return "\n".join(out)


def section_of(doc: str) -> str:
    """The generated part of a docs/CLI.md text (between the markers)."""
    return doc.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        doc = Path(argv[1]).read_text(encoding="utf-8")
        stale = section_of(doc) != markdown().strip()
        print(f"{argv[1]}: verb reference is {'STALE' if stale else 'current'}")
        return 1 if stale else 0
    if argv[:1] == ["--write"]:
        path = Path(argv[1])
        doc = path.read_text(encoding="utf-8")
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        path.write_text(f"{head}{BEGIN}\n\n{markdown().strip()}\n\n{END}{tail}", encoding="utf-8")
        return 0
    sys.stdout.write(markdown())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
