"""What one pytest session of golive knows: its organisations, run folder, clients and outcomes.

Shared by the plugin (which creates it) and the evidence hooks (which fill it). Under
pytest-xdist each worker has its own (`worker=True`: it runs scenarios, writes no run files);
outcomes reach the controller's through the reports.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from golive.clients.http import ExchangeLog
from golive.evidence.checklist import is_mandatory
from golive.evidence.run import RunDir
from golive.evidence.summary import ScenarioOutcome
from golive.runtime.preflight import Report
from golive.runtime.registry import Targets


@dataclass
class RunState:
    slugs: list[str]
    orgs_dir: Path
    root: Path
    run_id: str
    run_dir: RunDir | None
    allow_production: bool
    started: float = field(default_factory=time.monotonic)
    worker: bool = False
    targets: Targets | None = None
    preflight: dict[str, Report] = field(default_factory=dict)
    outcomes: dict[str, list[ScenarioOutcome]] = field(default_factory=lambda: defaultdict(list))
    http_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    http_count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    scenario_http_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    scenario_http_count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    logs: dict[str, tuple[ExchangeLog, Any]] = field(default_factory=dict)

    def get_targets(self) -> Targets:
        if self.targets is None:
            ledger = self.run_dir.root / "ledger" if self.run_dir is not None else None
            self.targets = Targets(orgs_dir=self.orgs_dir, run_id=self.run_id, ledger_dir=ledger)
        return self.targets

    def record(self, slug: str, outcome: ScenarioOutcome, http_count: int) -> None:
        self.outcomes[slug].append(outcome)
        self.http_ms[slug] += outcome.http_ms
        self.http_count[slug] += http_count

    def unproven(self) -> dict[str, list[ScenarioOutcome]]:
        """Per organisation, the mandatory scenarios that were skipped (a run with any is no PASS)."""
        found: dict[str, list[ScenarioOutcome]] = {}
        for slug, outcomes in self.outcomes.items():
            skipped = [o for o in outcomes if o.outcome == "skipped" and is_mandatory(o.tags)]
            if skipped:
                found[slug] = skipped
        return found


STATE = pytest.StashKey[RunState]()
SCENARIO = pytest.StashKey[tuple[str, str]]()  # (scenario name, feature file stem)
ATTEST = pytest.StashKey[str]()  # why a skipped scenario cannot run here: a person attests it
