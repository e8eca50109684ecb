"""content/ and scheduler/ never import the TUI toolkit: the TUI is a thin face over them.

content/ui/ is the TUI's own home (its screens and widgets), so it alone is exempt.

And every third-party distribution the product imports is declared in pyproject.toml: one
that only arrives as another's requirement disappears the day that one stops needing it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import pkgutil
import re
import subprocess
import sys
import tomllib

import pytest

import content
import scheduler
from tests.conftest import REPO

#: The product's own top-level names (the checkout), never a distribution.
OWN = {"content", "scheduler", "sandbox", "tui", "tests"}
#: Extras the product may import from (lazily, saying which extra to install when missing).
PRODUCT_EXTRAS = ("postgres",)


def _modules() -> list[str]:
    names = []
    for package in (content, scheduler):
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            skip = (".migrations", "content.ui")
            if not any(p in info.name for p in skip) and not info.name.endswith("__main__"):
                names.append(info.name)
    return names


#: Libraries many product modules import, none of them textual: loaded once before the forks.
_SHARED = ("sqlalchemy", "sqlmodel", "alembic", "pydantic", "httpx", "argon2", "apscheduler")

#: Imports each module named on stdin in a fork of one interpreter, which has loaded only
#: _SHARED and the modules found clean before it: whether textual gets loaded is what a
#: fresh interpreter would say (everything loaded before the fork was loaded without
#: textual), at a fraction of a start-up each (125 interpreters took minutes here).
_PROBE = """
import importlib, json, os, sys, traceback
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError:
        pass
assert not any(m.split(".")[0] == "textual" for m in sys.modules), "textual before the forks"
found = {}
for module in sys.stdin.read().split():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            said = str(any(m.split(".")[0] == "textual" for m in sys.modules))
        except BaseException:
            said = traceback.format_exc()
        os.write(write, said.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        found[module] = answer.read().decode()
    os.waitpid(pid, 0)
    if found[module] == "False":
        importlib.import_module(module)  # the next forks start with it (and without textual)
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def textual_imported() -> dict[str, str]:
    """Module -> "True"/"False" (did importing it alone load textual?) or its traceback."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *_SHARED],
        input="\n".join(_modules()),
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# One worker runs them all: the probe behind them (a few seconds) then runs once, not once
# per worker that happens to get one of the modules.
@pytest.mark.xdist_group("import_hygiene")
@pytest.mark.parametrize("module", _modules())
def test_library_module_does_not_pull_in_textual(module: str, textual_imported: dict[str, str]):
    assert textual_imported[module] == "False"


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


def _requirement_names(requirements: list[str]) -> set[str]:
    return {_normal(re.match(r"[A-Za-z0-9._-]+", r).group()) for r in requirements}  # type: ignore[union-attr]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level module -> the files importing it (lazy imports inside functions too)."""
    files = [
        *REPO.glob("content/**/*.py"),
        *REPO.glob("scheduler/**/*.py"),
        *REPO.glob("sandbox/**/*.py"),
        REPO / "tui.py",
    ]
    found: dict[str, set[str]] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in OWN and top != "__future__" and top not in sys.stdlib_module_names:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_imported_distribution_is_declared_in_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = _requirement_names(project["dependencies"])
    for extra in PRODUCT_EXTRAS:
        declared |= _requirement_names(project["optional-dependencies"][extra])
    providers = importlib.metadata.packages_distributions()
    undeclared = []
    for module, files in sorted(_third_party_imports().items()):
        distributions = providers.get(module)
        where = ", ".join(sorted(files)[:3])
        if not distributions:
            undeclared.append(f"{module} (no installed distribution provides it; {where})")
        elif not any(_normal(d) in declared for d in distributions):
            undeclared.append(f"{module} from {distributions[0]} ({where})")
    assert not undeclared, "imported but not declared in pyproject.toml: " + "; ".join(undeclared)
