"""What the kill matrix runs for each fault: the scenarios of the features its intended scenarios
belong to, plus the canaries, selected by pytest-bdd's test names; and every fault of the
catalogue names scenarios that exist and a message that must name the problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pytest_bdd.scenario import make_python_name

from golive.commands.kill_matrix import (
    CANARY_FEATURES,
    MESSAGE_MUST_MENTION,
    MONITOR_KEY,
    _python_name,
    scenario_names,
    selection,
)
from golive.sandbox.faults import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ROOT / "features"


def all_scenarios() -> dict[str, list[str]]:
    return {path.stem: scenario_names(path) for path in sorted(FEATURES.glob("*.feature"))}


@pytest.mark.parametrize(
    "name",
    [
        "A customer's media message is recorded with its attachment",
        "A reply from the agent bot is recorded as the bot's",
        "2 faults: one (per) run — 50,000 deep",
        "One organisation's key cannot read or move another organisation's deal",
    ],
)
def test_scenario_names_become_pytest_bdds_test_names(name: str) -> None:
    assert _python_name(name) == "test_" + make_python_name(name)


def test_a_fault_run_selects_its_features_and_the_canaries_only() -> None:
    expression = selection(ROOT, ["handoff: A replayed conversation event does not turn the AI back on"])

    selected = set(expression.split(" or "))
    scenarios = all_scenarios()
    wanted = {_python_name(n) for stem in ("handoff", *CANARY_FEATURES) for n in scenarios[stem]}
    assert selected == wanted
    assert _python_name(scenarios["stage_moves"][0]) not in selected


def test_every_fault_names_scenarios_that_exist_and_a_message_to_match() -> None:
    scenarios = all_scenarios()
    known = {f"{stem}: {name}" for stem, names in scenarios.items() for name in names} | {MONITOR_KEY}
    for fault in CATALOGUE:
        missing = [s for s in fault.caught_by if s not in known]
        assert missing == [], f"{fault.name} names scenarios that do not exist: {missing}"
        assert fault.name in MESSAGE_MUST_MENTION, f"{fault.name} has no MESSAGE_MUST_MENTION entry"
        re.compile(MESSAGE_MUST_MENTION[fault.name])


def test_every_known_gap_scenario_says_which_divergence_it_probes() -> None:
    for path in FEATURES.glob("*.feature"):
        for line in path.read_text(encoding="utf-8").splitlines():
            tags = line.split()
            if "@known_gap" in tags:
                gaps = [t for t in tags if re.fullmatch(r"@crm-gap-([1-9]|1[0-9])", t)]
                assert gaps, f"{path.name}: a @known_gap scenario without its @crm-gap-N tag: {line.strip()}"


def test_a_scenario_counts_by_its_worst_run_and_skipped_only_where_it_ran_nowhere(tmp_path: Path) -> None:
    from golive.commands.kill_matrix import _collect
    from golive.evidence.summary import RunSummary, ScenarioOutcome

    def summary(org: str, **outcomes: str) -> None:
        scenarios = tuple(
            ScenarioOutcome(f"{org}::{name}", name, "f", (), outcome, message=f"{name} {outcome}")  # type: ignore[arg-type]
            for name, outcome in outcomes.items()
        )
        RunSummary(org, org, "sandbox", "r", scenarios=scenarios).write(tmp_path / f"{org}.json")

    summary("a", provider="passed", broken="passed", nowhere="skipped")
    summary("b", provider="skipped", broken="failed", nowhere="skipped")

    outcomes, messages = _collect(tmp_path)

    assert outcomes == {"f: provider": "passed", "f: broken": "failed", "f: nowhere": "skipped"}
    assert messages == {"f: broken": "broken failed"}
