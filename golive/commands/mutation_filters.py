"""The classes of mutants `golive mutation` leaves out as equivalent, by configuration
(`mutation/cosmic-ray.toml`, `[golive.mutation] exclude`), each for a reason that holds for every
mutant of the class:

* ``annotations`` — a change inside a type annotation. Every module has
  `from __future__ import annotations`: annotations are never evaluated, so no behaviour changes.
* ``logging`` — a change inside a call to the module's logger (`log.error(...)`, …). The line only
  reaches the sandbox's log file; what the suite sees of a 5xx comes from `log_header`, which is
  not a logger call and stays mutated.
* ``fault-only`` — a change in the body of an `if` (or conditional expression) whose condition is a
  fault switch (`faults.on("…")`): that code runs only while a fault profile is on, which the kill
  matrix exercises, never the clean suite run used as the test command. The condition itself stays
  mutated (turning a fault on by mistake must be caught).

The positions come from `ast`; cosmic-ray's work items carry the (line, column) span they mutate.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CLASSES = ("annotations", "logging", "fault-only")

Position = tuple[int, int]


@dataclass(frozen=True)
class Span:
    start: Position
    end: Position
    why: str

    def contains(self, start: Position, end: Position) -> bool:
        return self.start <= start and end <= self.end


def _span(node: ast.AST, why: str) -> Span | None:
    end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
    if end_line is None or end_col is None:
        return None
    return Span((node.lineno, node.col_offset), (end_line, end_col), why)  # type: ignore[attr-defined]


def _is_fault_switch(test: ast.expr) -> bool:
    """`x.faults.on(...)`, `faults.on(...)`, or an `and` of conditions one of which is."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_is_fault_switch(v) for v in test.values)
    if not (isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr == "on"):
        return False
    owner = test.func.value
    return (isinstance(owner, ast.Name) and owner.id == "faults") or (
        isinstance(owner, ast.Attribute) and owner.attr == "faults"
    )


def _annotation_nodes(tree: ast.AST) -> Iterable[ast.AST]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.returns is not None:
                yield node.returns
            args = node.args
            for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                if arg is not None and arg.annotation is not None:
                    yield arg.annotation
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation


def _logger_calls(tree: ast.AST) -> Iterable[ast.AST]:
    levels = {"debug", "info", "warning", "error", "exception", "critical"}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in levels
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in ("log", "logger")
        ):
            yield node


def _fault_only(tree: ast.AST) -> Iterable[ast.AST]:
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_fault_switch(node.test):
            yield from node.body
        elif isinstance(node, ast.IfExp) and _is_fault_switch(node.test):
            yield node.body


def excluded_spans(source: str, classes: Iterable[str]) -> list[Span]:
    """The spans of `source` whose mutants belong to the given equivalence classes."""
    chosen = set(classes)
    unknown = chosen - set(CLASSES)
    if unknown:
        raise ValueError(f"unknown equivalence class(es) {sorted(unknown)}; known: {', '.join(CLASSES)}")
    tree = ast.parse(source)
    found: list[Span | None] = []
    if "annotations" in chosen:
        found += [_span(n, "annotations") for n in _annotation_nodes(tree)]
    if "logging" in chosen:
        found += [_span(n, "logging") for n in _logger_calls(tree)]
    if "fault-only" in chosen:
        found += [_span(n, "fault-only") for n in _fault_only(tree)]
    return [s for s in found if s is not None]


class Exclusions:
    """Which equivalence class, if any, a mutation at (module, start, end) belongs to."""

    def __init__(self, root: Path, classes: Iterable[str]) -> None:
        self.root = root
        self.classes = tuple(classes)
        self._spans: dict[str, list[Span]] = {}

    def why(self, module: str, start: Position, end: Position) -> str | None:
        if module not in self._spans:
            source = (self.root / module).read_text(encoding="utf-8")
            self._spans[module] = excluded_spans(source, self.classes)
        for span in self._spans[module]:
            if span.contains(tuple(start), tuple(end)):  # type: ignore[arg-type]
                return span.why
        return None
