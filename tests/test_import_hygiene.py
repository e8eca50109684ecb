"""content/ and scheduler/ never import the TUI toolkit: the TUI is a thin face over them.

content/ui/ is the TUI's own home (its screens and widgets), so it alone is exempt."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import content
import scheduler


def _modules() -> list[str]:
    names = []
    for package in (content, scheduler):
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            skip = (".migrations", "content.ui")
            if not any(p in info.name for p in skip) and not info.name.endswith("__main__"):
                names.append(info.name)
    return names


@pytest.mark.parametrize("module", _modules())
def test_library_module_does_not_pull_in_textual(module: str):
    code = f"import sys, {module}; print(any(m.split('.')[0] == 'textual' for m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_content_does_not_import_scheduler_or_sandbox():
    code = (
        "import sys, pkgutil, importlib, content\n"
        "for i in pkgutil.walk_packages(content.__path__, 'content.'):\n"
        "    if not any(p in i.name for p in ('.migrations', 'content.ui')):\n"
        "        importlib.import_module(i.name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'scheduler', 'sandbox'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
