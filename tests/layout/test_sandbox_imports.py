"""The sandbox is a second implementation of the systems the suite checks, so a mistake in one
is caught by the other: every module under golive/sandbox/ may import only its own package and
generic plumbing (golive.errors, golive.waiting), never the suite's oracle (identity rules,
payload builders, clients, scenario language, runtime, commands, evidence, n8n lint).

Imports are read with `ast`, so an import inside a function, a relative import and
`importlib.import_module("golive...")` with a literal name count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SANDBOX = ROOT / "golive" / "sandbox"
ALLOWED = ("golive.sandbox", "golive.errors", "golive.waiting")
ORACLE = (
    "golive.identity",
    "golive.payloads",
    "golive.clients",
    "golive.scenario",
    "golive.runtime",
    "golive.commands",
    "golive.evidence",
    "golive.n8n_lint",
)
MODULES = sorted(SANDBOX.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module name the source imports, relative imports resolved against `module`.

    `from a.b import c` yields `a.b.c` (c may be a module: `from golive import identity`)."""
    package = module if is_package else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - (node.level - 1)])
                base = f"{anchor}.{base}" if base else anchor
            names |= {base if alias.name == "*" else f"{base}.{alias.name}" for alias in node.names}
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def forbidden(names: set[str]) -> list[str]:
    """The golive imports outside the sandbox's allowance (oracle packages first in mind)."""
    return sorted(n for n in names if _within(n, ("golive",)) and not _within(n, ALLOWED))


def test_the_walk_covers_every_double_and_the_shared_plumbing() -> None:
    packages = {module_name(p) for p in MODULES if p.name == "__init__.py"}
    assert {"golive.sandbox.crm", "golive.sandbox.chatwoot", "golive.sandbox.n8n"} <= packages
    assert {"golive.sandbox.stack", "golive.sandbox.worker"} <= {module_name(p) for p in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SANDBOX)))
def test_a_sandbox_module_imports_only_its_own_package_and_generic_plumbing(path: Path) -> None:
    names = imported_names(
        path.read_text(encoding="utf-8"), module_name(path), is_package=path.name == "__init__.py"
    )
    assert forbidden(names) == []


@pytest.mark.parametrize(
    "source",
    [
        "from golive.payloads import chatwoot",
        "from golive import identity",
        "import golive.clients.crm as crm",
        "from ...scenario import webhooks",
        "from ... import runtime",
        "def later():\n    from golive.commands import cli",
        "import importlib\nimportlib.import_module('golive.evidence.bundle')",
        "from golive.n8n_lint import lint",
    ],
)
def test_the_guard_catches_every_way_to_import_the_oracle(source: str) -> None:
    names = imported_names(source, "golive.sandbox.chatwoot.payloads")
    assert forbidden(names) and all(_within(n, ORACLE) for n in forbidden(names)), names


@pytest.mark.parametrize(
    "source",
    [
        "from golive.errors import SandboxError",
        "from golive.waiting import eventually",
        "from golive.sandbox.crm.rules import dig",
        "from ..worker import JobQueue",
        "from . import wire",
        "import httpx",
    ],
)
def test_the_guard_lets_the_sandbox_use_its_own_modules_and_generic_plumbing(source: str) -> None:
    assert forbidden(imported_names(source, "golive.sandbox.chatwoot.payloads")) == []
