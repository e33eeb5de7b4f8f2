"""The CI templates in ci/ are valid and say only what exists: parsed as YAML, their jobs wired
together (needs, outputs, extends, artifacts), every `golive` subcommand and option they call
and every make target and repository file they name exists, the per-organisation job's status
is golive's exit code, and the GitLab child pipeline `golive ci-matrix` generates fits them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from template_checks import (
    ROOT,
    golive_calls,
    golive_problems,
    repo_paths,
    script_problems,
)
from typer.testing import CliRunner

from golive.commands.cli import app

GITHUB = ROOT / "ci" / "github"
GITLAB = ROOT / "ci" / "gitlab"
GITHUB_FILES = sorted(GITHUB.glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def golive(*args: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


# --------------------------------------------------------------------------- the checks themselves


def test_the_script_checks_catch_what_does_not_exist() -> None:
    assert script_problems(".venv/bin/golive smoke --org x --suite smoke") == []
    assert script_problems('.venv/bin/golive smoke --org "$O" -- --maxfail=1') == []
    assert golive_problems(["smok", "--org", "x"]) == ["golive has no subcommand 'smok'"]
    assert golive_problems(["smoke", "--orgs", "x"]) == ["golive smoke has no option --orgs"]
    assert script_problems("make install toolz") == ["the Makefile has no target 'toolz'"]
    calls = list(golive_calls('echo "m=$(.venv/bin/golive ci-matrix --format github)" >> "$OUT"'))
    assert calls == [["ci-matrix", "--format", "github"]]
    continued = list(golive_calls(".venv/bin/golive merge a \\\n  --out o | tee log"))
    assert continued == [["merge", "a", "--out", "o"]]


# --------------------------------------------------------------------------- GitHub Actions


def github_scripts(workflow: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            if "run" in step:
                yield name, step


@pytest.mark.parametrize("path", GITHUB_FILES, ids=lambda p: p.name)
def test_a_github_workflow_is_wired_and_calls_only_what_exists(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("on", workflow.get(True)), "no trigger (`on:`)"  # YAML 1.1 reads `on` as true
    jobs: dict[str, dict[str, Any]] = workflow["jobs"]
    for name, job in jobs.items():
        assert job.get("runs-on") and job.get("steps"), f"job {name}: runs-on and steps"
        needs = job.get("needs", [])
        for need in [needs] if isinstance(needs, str) else needs:
            assert need in jobs, f"job {name} needs an unknown job {need!r}"
        for step in job["steps"]:
            if "uses" in step:
                assert re.search(r"@v\d+$", step["uses"]), f"{step['uses']}: pin a major version"
        step_ids = {s["id"] for s in job["steps"] if "id" in s}
        for output in job.get("outputs", {}).values():
            for step_id in re.findall(r"steps\.([\w-]+)\.outputs", output):
                assert step_id in step_ids, f"job {name}: output from an unknown step {step_id!r}"
        matrix = job.get("strategy", {}).get("matrix")
        if isinstance(matrix, str):
            found = re.fullmatch(r"\$\{\{ fromJSON\(needs\.([\w-]+)\.outputs\.(\w+)\) \}\}", matrix)
            assert found, f"job {name}: a matrix from another job's output, {matrix!r}"
            source, output = found.groups()
            assert source in job["needs"] and output in jobs[source]["outputs"]
    for name, step in github_scripts(workflow):
        assert not script_problems(step["run"]), (name, step["run"], script_problems(step["run"]))
    for repo_path in repo_paths(path.read_text(encoding="utf-8")):
        assert (ROOT / repo_path).exists(), f"{path.name} names {repo_path}, which does not exist"


@pytest.mark.parametrize("path", GITHUB_FILES, ids=lambda p: p.name)
def test_each_organisation_job_status_is_the_verdict_and_leaves_its_evidence(path: Path) -> None:
    workflow = load(path)
    (job,) = [j for j in workflow["jobs"].values() if "matrix" in j.get("strategy", {})]
    assert job["strategy"]["fail-fast"] is False, "one organisation's NO-GO must not cancel the others"
    smoke_steps = [s for s in job["steps"] if any(c[:1] == ["smoke"] for c in golive_calls(s.get("run", "")))]
    (smoke,) = smoke_steps
    (call,) = [c for c in golive_calls(smoke["run"]) if c[0] == "smoke"]
    assert "--org" in call and "--suite" in call
    assert "|| true" not in smoke["run"] and not smoke.get("continue-on-error"), (
        "the exit code is the verdict"
    )
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads and uploads[0]["if"] == "always()"
    paths = uploads[0]["with"]["path"]
    assert "evidence/" in paths and "summary/" in paths and "ledger/" in paths
    assert "${{ matrix.org }}" in uploads[0]["with"]["name"], "one artifact per organisation"
    junit = [s for s in job["steps"] if "junit" in json.dumps(s.get("with", {}))]
    assert junit and junit[0]["if"] == "always()"
    secrets_step = [
        s for s in job["steps"] if any(c[0] == "ci-secrets" for c in golive_calls(s.get("run", "")))
    ]
    assert secrets_step and "toJSON(secrets)" in json.dumps(secrets_step[0]["env"])


def test_the_matrix_keys_the_workflows_use_are_what_ci_matrix_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    entries = json.loads(golive("ci-matrix", "--format", "github", monkeypatch=monkeypatch))["include"]
    assert entries, "ci-matrix printed no organisation"
    for path in GITHUB_FILES:
        used = set(re.findall(r"(?<![.\w])matrix\.(\w+)", path.read_text(encoding="utf-8")))
        assert used, path
        for entry in entries:
            assert used <= set(entry), f"{path.name} uses matrix.{sorted(used - set(entry))}"


def test_the_nightly_merges_every_organisation_after_the_matrix() -> None:
    workflow = load(GITHUB / "golive-nightly.yml")
    on = workflow.get("on", workflow.get(True))
    assert on["schedule"][0]["cron"]
    merge_jobs = [
        (name, job)
        for name, job in workflow["jobs"].items()
        if any(
            c[0] == "merge" for _, s in github_scripts({"jobs": {name: job}}) for c in golive_calls(s["run"])
        )
    ]
    ((_name, job),) = merge_jobs
    matrix_job = next(n for n, j in workflow["jobs"].items() if "matrix" in j.get("strategy", {}))
    assert matrix_job in job["needs"] and job["if"].startswith("always()")
    downloads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/download-artifact@")]
    assert downloads and downloads[0]["with"]["pattern"] == "golive-*"
    run = next(s["run"] for s in job["steps"] if "golive merge" in s.get("run", ""))
    (call,) = [c for c in golive_calls(run) if c[0] == "merge"]
    assert downloads[0]["with"]["path"] in call and "--expect" in call


# --------------------------------------------------------------------------- GitLab CI


def _resolve(jobs: dict[str, Any], name: str) -> dict[str, Any]:
    """A job with its `extends` chain applied (a shallow merge, as far as these checks need)."""
    job = jobs[name]
    parents = job.get("extends", [])
    merged: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        assert parent in jobs, f"{name} extends an unknown job {parent!r}"
        merged.update(_resolve(jobs, parent))
    merged.update({k: v for k, v in job.items() if k != "extends"})
    return merged


def _gitlab_scripts(job: dict[str, Any]) -> Iterator[str]:
    for key in ("before_script", "script", "after_script"):
        value = job.get(key, [])
        yield from [value] if isinstance(value, str) else value


def _jobs(config: dict[str, Any]) -> dict[str, Any]:
    reserved = {"include", "stages", "variables", "default", "workflow"}
    return {k: v for k, v in config.items() if k not in reserved and isinstance(v, dict)}


def test_the_gitlab_pipeline_is_wired_and_calls_only_what_exists() -> None:
    main = load(GITLAB / "gitlab-ci.yml")
    jobs = _jobs(main)
    for include in main["include"]:
        path = ROOT / include["local"].lstrip("/")
        assert path.is_file(), f"include {include['local']} does not exist"
        jobs.update(_jobs(load(path)))
    for name in jobs:
        job = _resolve(jobs, name)
        if not name.startswith("."):
            assert job.get("stage") in main["stages"], f"{name}: stage {job.get('stage')!r}"
        for need in job.get("needs", []):
            assert (need["job"] if isinstance(need, dict) else need) in jobs
        for script in _gitlab_scripts(job):
            assert not script_problems(script), (name, script, script_problems(script))
    trigger = jobs["golive"]["trigger"]
    (artifact,) = trigger["include"]
    assert artifact["artifact"] in jobs[artifact["job"]]["artifacts"]["paths"]
    assert trigger["strategy"] == "depend", "the parent's status follows the organisations' jobs"
    for path in (GITLAB / "gitlab-ci.yml", GITLAB / "golive-jobs.yml"):
        for repo_path in repo_paths(path.read_text(encoding="utf-8")):
            assert (ROOT / repo_path).exists(), f"{path.name} names {repo_path}"


def test_the_generated_child_pipeline_runs_one_job_per_organisation_then_merges(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = golive(
        "ci-matrix",
        "--format",
        "gitlab-child",
        "--environment",
        "sandbox",
        "--suite",
        "regression",
        monkeypatch=monkeypatch,
    )
    child = yaml.safe_load(text)
    jobs = _jobs(child)
    slugs = golive(
        "ci-matrix", "--format", "list", "--environment", "sandbox", monkeypatch=monkeypatch
    ).split()
    org_jobs = {n: _resolve(jobs, n) for n in jobs if n.startswith("golive:") and n != "golive:merge"}
    assert sorted(j["variables"]["GOLIVE_ORG"] for j in org_jobs.values()) == sorted(slugs)
    for name, job in org_jobs.items():
        assert job["stage"] in child["stages"] and job["variables"]["GOLIVE_SUITE"] == "regression"
        assert job["artifacts"]["when"] == "always" and "junit" in job["artifacts"]["reports"]
        (call,) = [c for s in _gitlab_scripts(job) for c in golive_calls(s) if c[0] == "smoke"]
        assert "--org" in call and all("|| true" not in s for s in job["script"]), name
    merge = _resolve(jobs, "golive:merge")
    assert merge["when"] == "always" and merge["stage"] in child["stages"]
    assert {n["job"] for n in merge["needs"]} == set(org_jobs)
    (call,) = [c for s in _gitlab_scripts(merge) for c in golive_calls(s) if c[0] == "merge"]
    assert "--expect" in call
