"""One exception base: every exception class the package defines derives from
:class:`zkmargin.errors.ZkmarginError` (itself a ``ValueError``), so the command line's guard
(:func:`zkmargin.cli.common.guard`) and an integrator each catch one class."""

from __future__ import annotations

import importlib
import inspect

import pytest
import typer
from test_architecture import _modules

from zkmargin.errors import ZkmarginError

#: Modules that only load with optional extras or build something on import.
_OPTIONAL = ()


def _exception_classes():
    found = []
    for name in sorted(_modules()):
        if name.startswith(_OPTIONAL):
            continue
        module = importlib.import_module(name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            # errors (Exception); a SystemExit subclass is control flow (an exit code), not an error
            if obj.__module__ == name and issubclass(obj, BaseException) and not issubclass(obj, SystemExit):
                found.append(obj)
    return found


def test_every_exception_derives_from_the_base():
    classes = _exception_classes()
    assert len(classes) >= 20  # the scan found the package's errors
    stray = [f"{c.__module__}.{c.__qualname__}" for c in classes if not issubclass(c, ZkmarginError)]
    assert not stray, f"exception classes outside ZkmarginError: {stray}"


def test_the_cli_guard_catches_the_base():
    from zkmargin.cli.common import guard

    class Custom(ZkmarginError):
        pass

    def boom():
        raise Custom("a user-facing problem")

    with pytest.raises(typer.Exit) as e:
        guard(boom)
    assert e.value.exit_code == 2
