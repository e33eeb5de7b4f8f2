"""The run summary: one file per organisation per run (`summary/<org>.json`), written by the
pytest plugin and read by everything that reads runs (smoke, the kill matrix, the dossier).

One typed definition, so that a field renamed on one side cannot silently read as empty on
the other: reading validates and names the file and entry that is wrong.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, cast, get_args

from golive.errors import EvidenceError

Outcome = Literal["passed", "failed", "skipped"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


@dataclass(frozen=True)
class ScenarioOutcome:
    """One scenario run (one Scenario Outline example) against one organisation."""

    nodeid: str
    scenario: str
    feature: str  # the feature file's stem
    tags: tuple[str, ...]
    outcome: Outcome
    duration_s: float = 0.0
    http_ms: float = 0.0
    message: str = ""  # the one-line reason of a failure or skip, redacted
    # Skipped because the target cannot run it (no outage switch, no second organisation):
    # what a person must attest instead. Empty for every other outcome.
    attest: str = ""

    @property
    def key(self) -> str:
        """`<feature>: <scenario>` — how fault profiles name the scenarios that catch them."""
        return f"{self.feature}: {self.scenario}"


@dataclass(frozen=True)
class RunSummary:
    organisation: str
    name: str
    environment: str
    run_id: str
    wall_s: float = 0.0
    http_ms_total: float = 0.0
    http_exchanges: int = 0
    scenarios: tuple[ScenarioOutcome, ...] = field(default=())

    def counts(self) -> dict[Outcome, int]:
        found = Counter(s.outcome for s in self.scenarios)
        return {outcome: found.get(outcome, 0) for outcome in OUTCOMES}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> RunSummary:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EvidenceError(f"{path}: the run summary is not readable JSON ({exc})") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "summary") -> RunSummary:
        if not isinstance(data, dict):
            raise EvidenceError(f"{source}: the run summary is not a JSON object")
        organisation = data.get("organisation")
        if not isinstance(organisation, str) or not organisation:
            raise EvidenceError(f"{source}: 'organisation' is missing")
        raw = data.get("scenarios")
        if not isinstance(raw, list):
            raise EvidenceError(f"{source}: 'scenarios' is missing or not a list")
        return cls(
            organisation=organisation,
            name=str(data.get("name") or organisation),
            environment=str(data.get("environment") or "unknown"),
            run_id=str(data.get("run_id") or ""),
            wall_s=float(data.get("wall_s") or 0.0),
            http_ms_total=float(data.get("http_ms_total") or 0.0),
            http_exchanges=int(data.get("http_exchanges") or 0),
            scenarios=tuple(_scenario(entry, index, source) for index, entry in enumerate(raw, start=1)),
        )


def _scenario(entry: Any, index: int, source: str) -> ScenarioOutcome:
    if not isinstance(entry, dict):
        raise EvidenceError(f"{source}: scenario #{index} is not an object")
    outcome = entry.get("outcome")
    if outcome not in OUTCOMES:
        raise EvidenceError(
            f"{source}: scenario #{index} has outcome {outcome!r} (expected {', '.join(OUTCOMES)})"
        )
    tags = entry.get("tags", [])
    if not isinstance(tags, list):
        raise EvidenceError(f"{source}: scenario #{index}: 'tags' is not a list")
    nodeid = str(entry.get("nodeid") or f"scenario-{index}")
    return ScenarioOutcome(
        nodeid=nodeid,
        scenario=str(entry.get("scenario") or nodeid),
        feature=str(entry.get("feature") or ""),
        tags=tuple(sorted(str(t) for t in tags)),
        outcome=cast(Outcome, outcome),
        duration_s=float(entry.get("duration_s") or 0.0),
        http_ms=float(entry.get("http_ms") or 0.0),
        message=str(entry.get("message") or ""),
        attest=str(entry.get("attest") or ""),
    )


def read_summaries(folder: Path) -> list[RunSummary]:
    """Every organisation's summary in a run's `summary/` folder, by organisation."""
    return [RunSummary.read(path) for path in sorted(folder.glob("*.json"))]
