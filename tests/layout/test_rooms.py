"""The rooms of golive and who may enter which: import rules, enforced.

Each room may import only the rooms listed for it (and itself). The sandbox is a separate
world: it and the suite are two implementations of one contract, so neither may import the
other's rules — a rule shared by both would hide its own bugs. What the sandbox itself may
import is guarded in test_sandbox_imports.py; here, that the suite never imports the sandbox.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOUNDATION = {
    "golive",
    "golive.config",
    "golive.settings",
    "golive.organisation",
    "golive.errors",
    "golive.secrets",
    "golive.waiting",
    "golive.identity",
}

# room -> the golive rooms it may import (besides itself and the foundation, unless noted)
ROOMS: dict[str, set[str]] = {
    "golive.clients": {"golive.payloads"},
    "golive.payloads": set(),
    "golive.n8n_lint": set(),
    "golive.evidence": set(),
    "golive.scenario": {"golive.clients", "golive.payloads", "golive.n8n_lint"},
    "golive.runtime": {"golive.clients", "golive.payloads", "golive.scenario", "golive.evidence"},
    # the window after a run: reads like the scenarios do, judges with the evidence's thresholds
    "golive.monitoring": {"golive.clients", "golive.scenario", "golive.evidence"},
    "golive.commands": {
        "golive.clients",
        "golive.monitoring",
        "golive.runtime",
        "golive.evidence",
        "golive.n8n_lint",
        "golive.sandbox.__main__",  # `golive sandbox` runs the stack in the foreground
    },
}


def _imports(source: str) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
            for alias in node.names:  # `from golive import scenario` imports golive.scenario
                yield node.lineno, f"{node.module}.{alias.name}"


def _golive_imports(source: str) -> Iterator[tuple[int, str]]:
    for line, name in _imports(source):
        if (name == "golive" or name.startswith("golive.")) and _is_module(name):
            yield line, name


def _is_module(name: str) -> bool:
    """`from golive.x import Name` also yields golive.x.Name; keep only real modules."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or path.is_dir()


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _room_of(name: str) -> str | None:
    """The room a golive module belongs to (longest matching prefix); None for the foundation."""
    for room in sorted((*ROOMS, "golive.sandbox"), key=len, reverse=True):
        if name == room or name.startswith(room + "."):
            return room
    return None


def _may_import(here: str | None, name: str) -> bool:
    there = _room_of(name)
    if here is None:  # the foundation imports only the foundation
        return name in FOUNDATION
    return there is None or there == here or there in ROOMS[here] or name in ROOMS[here]


def violations(module: str, source: str) -> list[str]:
    here = _room_of(module)
    return [
        f"{module}:{line} ({here or 'foundation'}) imports {name}"
        for line, name in _golive_imports(source)
        if not _may_import(here, name)
    ]


def _sources(*folders: str) -> Iterator[tuple[Path, str]]:
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path, path.read_text(encoding="utf-8")


def test_every_room_imports_only_the_rooms_it_may() -> None:
    found = [
        v
        for path, source in _sources("golive")
        if _room_of(_module_of(path)) != "golive.sandbox"
        for v in violations(_module_of(path), source)
    ]
    assert found == []


def test_steps_import_only_the_scenario_language() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path, source in _sources("steps")
        for line, name in _golive_imports(source)
        if _room_of(name) != "golive.scenario"
    ]
    assert bad == []


def test_nothing_outside_commands_imports_the_sandbox() -> None:
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path, source in _sources("golive", "steps", "fixtures")
        if _room_of(_module_of(path)) not in {"golive.sandbox", "golive.commands"}
        for line, name in _golive_imports(source)
        if _room_of(name) == "golive.sandbox"
    ]
    assert bad == []


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("golive.scenario.deals", "from golive.runtime.registry import Clients\n", "golive.runtime"),
        ("golive.evidence.dossier", "import golive.clients.crm\n", "golive.clients.crm"),
        ("golive.config", "from golive import scenario\n", "golive.scenario"),
        ("golive.runtime.plugin", "from golive.commands import smoke\n", "golive.commands"),
    ],
)
def test_a_forbidden_import_is_caught(module: str, source: str, expected: str) -> None:
    """The guard itself can fail: an import planted in each kind of room is reported."""
    found = violations(module, source)
    assert any(expected in line for line in found), found


LONG_MODULE = 600  # lines; a longer module says why in the first lines of its docstring


def test_a_long_module_says_why() -> None:
    unexplained = []
    for path in sorted((ROOT / "golive").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG_MODULE and "Longer than" not in "\n".join(text.splitlines()[:6]):
            unexplained.append(f"{path.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    assert not unexplained, (
        f"over {LONG_MODULE} lines without a reason ('Longer than …') at the top: {unexplained}"
    )
