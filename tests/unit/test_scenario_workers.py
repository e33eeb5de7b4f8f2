"""How many scenarios of one organisation `golive smoke` runs at once: where it pays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from golive.commands.smoke import WORKERS_BUDGET, scenario_workers
from golive.runtime.sandbox_process import STATE_ENV


def _sandbox(
    tmp_path: Path, latency: dict[str, str], slugs: tuple[str, ...] = ("sandbox-pilot",)
) -> dict[str, str]:
    state = tmp_path / "state"
    (state / "orgs").mkdir(parents=True)
    for slug in slugs:
        (state / "orgs" / f"{slug}.toml").write_text('environment = "sandbox"\n', encoding="utf-8")
    (state / "secrets.env").write_text("", encoding="utf-8")
    ready = {"latency": latency, "secrets_env": str(state / "secrets.env")}
    (state / "ready.json").write_text(json.dumps(ready), encoding="utf-8")
    return {STATE_ENV: str(state)}


@pytest.fixture
def orgs_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "orgs"
    folder.mkdir()
    (folder / "coronel.toml").write_text('environment = "staging"\n', encoding="utf-8")
    return folder


def test_none_against_a_sandbox_without_latency(tmp_path: Path, orgs_dir: Path) -> None:
    env = _sandbox(tmp_path, {})
    assert scenario_workers(None, 1, ["sandbox-pilot"], orgs_dir, env, []) == 0


def test_the_budget_shared_by_the_organisations_in_parallel_against_latency(
    tmp_path: Path, orgs_dir: Path
) -> None:
    env = _sandbox(tmp_path, {"crm": "150ms"})
    assert scenario_workers(None, 1, ["sandbox-pilot"], orgs_dir, env, []) == WORKERS_BUDGET
    assert scenario_workers(None, 2, ["sandbox-pilot"], orgs_dir, env, []) == WORKERS_BUDGET // 2


def test_a_real_staging_gets_workers(orgs_dir: Path) -> None:
    assert scenario_workers(None, 1, ["coronel"], orgs_dir, {}, []) == WORKERS_BUDGET


def test_what_is_asked_wins_and_a_dash_n_after_the_double_dash_wins_over_all(
    tmp_path: Path, orgs_dir: Path
) -> None:
    env = _sandbox(tmp_path, {})
    assert scenario_workers(3, 1, ["sandbox-pilot"], orgs_dir, env, []) == 3
    assert scenario_workers(None, 1, ["coronel"], orgs_dir, {}, ["-n", "2"]) == 0
    assert scenario_workers(5, 1, ["coronel"], orgs_dir, {}, ["-n4"]) == 0
