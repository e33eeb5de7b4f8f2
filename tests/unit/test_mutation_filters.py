"""The equivalence classes `golive mutation` leaves out, found by position in the source."""

from __future__ import annotations

import pytest

from golive.commands.mutation_filters import excluded_spans

SOURCE = """from __future__ import annotations
import logging
log = logging.getLogger("x")


def f(a: int | None, faults: object) -> str | None:
    limit: int = 3 + 1
    if faults.on("a-fault"):
        a = a - 1
    elif a > limit:
        log.error("%s", a + 1)
    b = a * 2 if self.faults.on("b") and a else a + 2
    return str(a)
"""


def _classes_at(line: int, col: int, end_col: int) -> set[str]:
    spans = excluded_spans(SOURCE, ("annotations", "logging", "fault-only"))
    return {s.why for s in spans if s.contains((line, col), (line, end_col))}


def test_annotations_logger_calls_and_fault_bodies_are_found() -> None:
    assert _classes_at(6, 9, 19) == {"annotations"}  # int | None
    assert _classes_at(6, 40, 50) == {"annotations"}  # the return annotation
    assert _classes_at(7, 11, 12) == {"annotations"}  # limit: int
    assert _classes_at(9, 8, 17) == {"fault-only"}  # a = a - 1, only with the fault on
    assert _classes_at(11, 8, 30) == {"logging"}
    assert _classes_at(12, 8, 13) == {"fault-only"}  # the IfExp's body


def test_what_matters_is_not_excluded() -> None:
    assert _classes_at(7, 17, 22) == set()  # 3 + 1
    assert _classes_at(8, 7, 24) == set()  # the fault switch itself
    assert _classes_at(10, 9, 18) == set()  # a > limit
    assert _classes_at(12, 48, 53) == set()  # the else branch of the IfExp
    assert _classes_at(13, 11, 17) == set()


def test_an_unknown_class_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown equivalence class"):
        excluded_spans(SOURCE, ("comments",))
