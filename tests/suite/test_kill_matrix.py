"""The kill matrix: every fault profile is caught by the scenario meant to catch it, and a
run with no fault is green."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from golive.commands.kill_matrix import run_matrix
from golive.sandbox.n8n_side import choose

ROOT = Path(__file__).resolve().parents[2]
# Each fault run is a pytest start-up plus the scenarios of a few features. With a real n8n
# every message the suite sends also runs the organisation's agent flow (0.3–1 s of n8n, Redis
# and model double each, on the same 2 cores): ~8–15 s a fault run instead of ~4 s. The budget
# grows with the catalogue, so a fault added costs its share and no more.
BUDGET_BASE_S = 180  # the clean run of every organisation, and the monitoring windows
PER_FAULT_S = {"real": 15, "double": 8}

pytestmark = pytest.mark.slow


def test_every_fault_is_caught_and_the_clean_run_is_green() -> None:
    matrix, out = run_matrix(root=ROOT)
    report = (out / "kill-matrix.md").read_text()
    assert matrix.clean.exit_code == 0, report
    assert [k for k, v in matrix.clean.outcomes.items() if v != "passed"] == [], report
    survivors = [v.fault for v in matrix.verdicts if not v.caught]
    assert survivors == [], f"faults not caught: {survivors}\n{report}"
    vague = {v.fault: v.messages for v in matrix.verdicts if v.vague}
    assert vague == {}, f"caught, but the message does not name the problem: {vague}"
    data = json.loads((out / "kill-matrix.json").read_text())
    assert data["ok"] is True and len(data["faults"]) == len(matrix.verdicts) >= 40
    budget = BUDGET_BASE_S + PER_FAULT_S[choose()[0]] * len(matrix.verdicts)
    assert matrix.seconds < budget, f"the matrix took {matrix.seconds:.0f}s, the budget is {budget} s"
