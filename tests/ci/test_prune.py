"""Report retention: old runs go, golive's own folders only; runs in progress, reports/.history
and anything golive did not write stay; a run that ends without a result leaves no folder."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from golive.commands import prune as retention
from golive.commands.prune import MARKER, keep_default, plan_prune, prune, running
from golive.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def a_run(reports: Path, run_id: str, *, results: bool = True) -> Path:
    folder = reports / run_id
    for sub in ("allure-results", "sql", "exchanges", "summary", "logs"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    if results:
        (folder / "summary" / "sandbox-pilot.json").write_text("{}", encoding="utf-8")
        (folder / "junit-sandbox-pilot.xml").write_text("<testsuites/>", encoding="utf-8")
    return folder


def age(folder: Path, seconds: float) -> None:
    past = time.time() - seconds
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (past, past), follow_symlinks=False)


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_keep_deletes_the_oldest_runs_and_keeps_the_newest(tmp_path: Path) -> None:
    runs = [a_run(tmp_path, f"2026113{d}T120000Z-abc{d}") for d in range(5)]
    plan = prune(tmp_path, keep=2)
    assert [p.name for p in plan.delete] == [r.name for r in runs[:3]]
    assert sorted(p.name for p in tmp_path.iterdir()) == [r.name for r in runs[3:]]


def test_keep_zero_keeps_every_run(tmp_path: Path) -> None:
    runs = [a_run(tmp_path, f"2026113{d}T120000Z-abc{d}") for d in range(3)]
    assert prune(tmp_path, keep=0).delete == ()
    assert all(r.is_dir() for r in runs)


def test_what_is_not_a_golive_run_is_never_deleted(tmp_path: Path) -> None:
    history = tmp_path / ".history"
    history.mkdir()
    (history / "sandbox-pilot.jsonl").write_text("{}\n", encoding="utf-8")
    overview = tmp_path / "overview"
    overview.mkdir()
    notes = a_run(tmp_path, "20261101T120000Z-0001")
    (notes / "my-notes.txt").write_text("keep me", encoding="utf-8")
    elsewhere = tmp_path.parent / "elsewhere"
    a_run(elsewhere, "20261101T120000Z-0002")
    (tmp_path / "20261101T120000Z-0002").symlink_to(elsewhere / "20261101T120000Z-0002")
    (tmp_path / "README.md").write_text("output only", encoding="utf-8")
    newest = [a_run(tmp_path, f"2026113{d}T120000Z-abc{d}") for d in range(2)]

    plan = prune(tmp_path, keep=1)

    assert plan.delete == (newest[0],)
    refused = {p.name: why for p, why in plan.refused}
    assert "my-notes.txt" in refused["20261101T120000Z-0001"]
    assert "symlink" in refused["20261101T120000Z-0002"]
    assert (notes / "my-notes.txt").is_file() and (history / "sandbox-pilot.jsonl").is_file()
    assert overview.is_dir() and (elsewhere / "20261101T120000Z-0002" / "summary").is_dir()
    with pytest.raises(ValueError, match="not a golive run folder"):
        retention.delete_run(notes)


def test_a_run_in_progress_is_left_alone_however_old(tmp_path: Path) -> None:
    busy = a_run(tmp_path, "20261101T120000Z-0001")
    (busy / MARKER).write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
    later = [a_run(tmp_path, f"2026113{d}T120000Z-abc{d}") for d in range(2)]
    plan = prune(tmp_path, keep=1)
    assert busy in plan.busy and busy.is_dir()
    assert plan.delete == (later[0],)


def test_strays_go_once_their_process_is_gone_or_they_stopped_changing(tmp_path: Path) -> None:
    aborted = a_run(tmp_path, "20261101T120000Z-0001", results=False)
    (aborted / MARKER).write_text(json.dumps({"host": socket.gethostname(), "pid": dead_pid()}))
    forgotten = a_run(tmp_path, "20261101T120000Z-0002", results=False)
    age(forgotten, retention.STRAY_GRACE_S + 60)
    maybe_running = a_run(tmp_path, "20261101T120000Z-0003", results=False)

    plan = prune(tmp_path, keep=0)

    assert set(plan.strays) == {aborted, forgotten} and set(plan.delete) == {aborted, forgotten}
    assert plan.busy == (maybe_running,) and maybe_running.is_dir()


def test_a_run_that_ends_without_a_result_leaves_no_folder(tmp_path: Path) -> None:
    folder = tmp_path / "20261130T120000Z-0001"
    discarded: list[Path] = []
    with pytest.raises(KeyboardInterrupt), running(folder, on_discard=discarded.append):
        (folder / "logs").mkdir()
        (folder / "logs" / "sandbox-pilot.log").write_text("collecting ...", encoding="utf-8")
        assert retention.in_progress(folder)
        raise KeyboardInterrupt
    assert not folder.exists() and discarded == [folder]

    kept = tmp_path / "20261130T120000Z-0002"
    with running(kept):
        a_run(tmp_path, kept.name)
    assert (kept / "summary").is_dir() and not (kept / MARKER).exists()


def test_the_default_cap_comes_from_the_environment() -> None:
    assert keep_default({}) == retention.DEFAULT_KEEP
    assert keep_default({"GOLIVE_KEEP_RUNS": "3"}) == 3
    with pytest.raises(ConfigError, match="GOLIVE_KEEP_RUNS"):
        keep_default({"GOLIVE_KEEP_RUNS": "lots"})


def test_plan_prune_refuses_a_negative_keep(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        plan_prune(tmp_path, keep=-1)


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "orgs", project / "orgs")
    (project / "features").mkdir()
    (project / "reports").mkdir()
    return project


def golive(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from golive.commands.cli import main; main()", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith(("CORONEL_", "GOLIVE_"))},
    )


def test_a_configuration_error_before_any_test_leaves_no_run_folder(tmp_path: Path) -> None:
    project = _project(tmp_path)
    result = golive(project, "smoke", "--org", "example-staging", "--no-evidence")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "CORONEL_CRM_API_KEY" in result.stderr and "Traceback" not in result.stderr
    assert [p.name for p in (project / "reports").iterdir()] == []


def test_golive_prune_says_what_it_deleted_and_what_it_left(tmp_path: Path) -> None:
    project = _project(tmp_path)
    reports = project / "reports"
    runs = [a_run(reports, f"2026113{d}T120000Z-abc{d}") for d in range(3)]
    (reports / ".history").mkdir()
    dry = golive(project, "prune", "--keep", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"would delete reports/{runs[0].name}" in dry.stdout and runs[0].is_dir()
    done = golive(project, "prune", "--keep", "1")
    assert done.returncode == 0, done.stderr
    assert "kept 1 run(s); deleted 2" in done.stdout
    assert sorted(p.name for p in reports.iterdir()) == [".history", runs[2].name]
    assert golive(project, "prune", "--keep", "-1").returncode == 2


def test_a_kill_matrix_stopped_by_an_unknown_fault_leaves_no_folder(tmp_path: Path) -> None:
    project = _project(tmp_path)
    result = golive(project, "kill-matrix", "--fault", "no-such-fault")
    assert result.returncode == 2 and "unknown fault" in result.stderr
    assert [p.name for p in (project / "reports").iterdir()] == []
