"""`golive api-check`: Schemathesis against an organisation's CRM public API, using the OpenAPI
document that CRM serves (`/api/public/v1/openapi.json`), authenticated with the profile's key.

* A staging (or production) profile gets only the read-only operations (GET), positive and
  negative data, with the authentication checks: nothing is written.
* A sandbox profile gets every operation, the stateful phase included.

Results go into the run folder, `reports/<run-id>/api-check/<org>/`: `summary.json` (what golive
judged, read by the dossier's "API conformance" section), `junit.xml` (one case per operation,
failed only by unexplained findings), Schemathesis' own JUnit and Allure results, and its
Allure results labelled with the organisation in the run's `allure-results/` (so the
organisation's report and bundle show them). The key reaches Schemathesis through its config
file's `${ENV}` placeholder, never the command line, and Schemathesis filters it from its reports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from golive.commands.api_check_results import (
    DEFAULT_ALLOW_LIST,
    Finding,
    explain,
    junit,
    load_allow_list,
    read_findings,
)
from golive.errors import ConfigError, GoliveError
from golive.evidence.api_conformance import API_CHECK_DIR, SUMMARY_FILE
from golive.organisation import Organisation

SCHEMATHESIS_VERSION = "4.32.5"  # pinned in pyproject.toml; the summary records what ran
KEY_ENV = "GOLIVE_API_CHECK_KEY"
SPEC_PATH = "/api/public/v1/openapi.json"
SANDBOX_PHASES = "examples,coverage,fuzzing,stateful"
READONLY_PHASES = "examples,coverage,fuzzing"
# Checks that need a write to mean anything, or that Schemathesis only runs on write operations,
# stay on for the sandbox; on a staging they are moot (GET only).
TIMEOUT_S = 900
SMOKE_EXAMPLES = 10  # `golive smoke` on the sandbox: a bounded run (`golive api-check` defaults to 25)


@dataclass(frozen=True)
class ApiCheckResult:
    organisation: str
    out_dir: Path
    findings: tuple[Finding, ...]
    summary: Mapping[str, Any]

    @property
    def unexplained(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.explained_by is None)

    @property
    def ok(self) -> bool:
        return bool(self.summary.get("completed")) and not self.unexplained

    def line(self) -> str:
        s = self.summary
        explained = len(self.findings) - len(self.unexplained)
        return (
            f"{'✓' if self.ok else '✗'} api-check {self.organisation} ({s['mode']}): "
            f"{s['test_cases']} cases on {s['operations_tested']} operations in {s['seconds']:.1f}s, "
            f"{len(self.unexplained)} unexplained, {explained} explained finding(s)"
        )


def _config_toml(max_examples: int, seed: int | None, workers: int) -> str:
    lines = [
        f"workers = {workers}",
        'headers = { "X-Api-Key" = "${' + KEY_ENV + '}" }',
        "[generation]",
        f"max-examples = {max_examples}",
        # PostgreSQL text holds no NUL byte (the real CRM's PostgREST refuses them too); the
        # hostile-input scenarios prove NUL bytes get a 4xx, so generated data leaves them out.
        "allow-x00 = false",
        'database = "none"',
    ]
    if seed is not None:
        lines.insert(0, f"seed = {seed}")
    return "\n".join(lines) + "\n"


def run_api_check(
    org: Organisation,
    run_dir: Path,
    *,
    allow_list: Path = DEFAULT_ALLOW_LIST,
    max_examples: int = 25,
    seed: int | None = None,
    workers: int = 1,
    say: Callable[[str], None] = print,
) -> ApiCheckResult:
    """Run Schemathesis for one organisation and write its results under the run folder."""
    if org.api_key is None:
        raise ConfigError(
            f"{org.slug}: api-check needs the CRM API key", setting="crm.api_key_env", where=org.slug
        )
    entries = load_allow_list(allow_list)
    sandbox = org.environment == "sandbox"
    out = run_dir / API_CHECK_DIR / org.slug
    shutil.rmtree(out, ignore_errors=True)
    raw = out / "schemathesis"
    raw.mkdir(parents=True)
    spec_url = org.crm_base_url.rstrip("/") + SPEC_PATH
    argv = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--no-color",
        "--config-file",
        "",  # filled below
        "run",
        spec_url,
        "--checks",
        "all",
        "--phases",
        SANDBOX_PHASES if sandbox else READONLY_PHASES,
        "--report",
        "junit,allure,ndjson",
        "--report-junit-path",
        str(raw / "junit.xml"),
        "--report-allure-path",
        str(raw / "allure-results"),
        "--report-ndjson-path",
        str(raw / "events.ndjson"),
        "--request-timeout",
        str(max(1.0, org.timeout_s)),
    ]
    if not sandbox:  # a staging: read-only operations only, so the check writes nothing
        argv += ["--include-method", "GET"]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="golive-api-check-") as tmp:
        config = Path(tmp) / "schemathesis.toml"
        config.write_text(_config_toml(max_examples, seed, workers), encoding="utf-8")
        argv[argv.index("")] = str(config)
        env = {**os.environ, KEY_ENV: org.api_key.reveal(), "PYTHONUTF8": "1"}
        say(f"▶ api-check {org.slug}: {'every operation, stateful' if sandbox else 'GET only'} — {spec_url}")
        try:
            done = subprocess.run(
                argv, cwd=tmp, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise GoliveError(f"api-check {org.slug}: Schemathesis ran past {TIMEOUT_S}s") from None
    seconds = time.monotonic() - started
    (out / "schemathesis.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    events = raw / "events.ndjson"
    if not events.is_file():
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-4:])
        raise GoliveError(
            f"api-check {org.slug}: Schemathesis wrote no results (exit {done.returncode}): {tail}"
        )
    findings = tuple(explain(read_findings(events), entries, org.environment))
    stats = _stats(events)
    summary = {
        "organisation": org.slug,
        "environment": org.environment,
        "mode": "all operations + stateful" if sandbox else "read-only (GET) + negative + auth",
        "spec_url": spec_url,
        "schemathesis": SCHEMATHESIS_VERSION,
        "seed": stats["seed"],
        "max_examples": max_examples,
        "operations_tested": len(stats["operations"]),
        "operations": stats["operations"],
        "test_cases": stats["test_cases"],
        "phases": stats["phases"],
        "completed": stats["completed"],
        "exit_code": done.returncode,
        "seconds": round(seconds, 1),
        "allow_list": str(allow_list),
        "findings": [f.as_dict() for f in findings],
        "unexplained": sum(1 for f in findings if f.explained_by is None),
        "explained": sum(1 for f in findings if f.explained_by is not None),
    }
    (out / SUMMARY_FILE).write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / "junit.xml").write_bytes(junit(org.slug, stats["operations"], findings))
    _label_allure(raw / "allure-results", run_dir / "allure-results", org.slug, findings)
    if not result_unexplained(findings):
        events.unlink()  # every generated case: too big for the bundle when nothing needs a look
    result = ApiCheckResult(org.slug, out, findings, summary)
    say(result.line())
    for finding in result.unexplained:
        say(f"    {finding.operation}: {finding.code} {finding.title} ({finding.check})")
        say(f"      → {finding.status} {finding.error}")
    return result


def result_unexplained(findings: tuple[Finding, ...]) -> bool:
    return any(f.explained_by is None for f in findings)


def _stats(events: Path) -> dict[str, Any]:
    operations: list[str] = []
    phases: dict[str, str] = {}
    cases = 0
    seed = None
    completed = False
    for line in events.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        name, data = next(iter(event.items()))
        if name == "Initialize":
            seed = data.get("seed")
        elif name == "ScenarioFinished":
            recorder = data.get("recorder") or {}
            cases += len(recorder.get("cases") or {})
            label = recorder.get("label")
            if label and label not in operations:
                operations.append(label)
        elif name == "PhaseFinished":
            phase = data.get("phase") or {}
            phases[str(phase.get("name"))] = str(data.get("status"))
        elif name == "EngineFinished":
            completed = True
    return {
        "operations": sorted(operations),
        "phases": phases,
        "test_cases": cases,
        "seed": seed,
        "completed": completed,
    }


def _label_allure(source: Path, run_results: Path, organisation: str, findings: tuple[Finding, ...]) -> None:
    """Copy Schemathesis' Allure results into the run's, labelled with the organisation (the
    evidence splits results by it); an operation failed only by explained findings is shown
    passed, with the explanation."""
    if not source.is_dir():
        return
    run_results.mkdir(parents=True, exist_ok=True)
    unexplained = {f.operation for f in findings if f.explained_by is None}
    reasons: dict[str, list[str]] = {}
    for f in findings:
        if f.explained_by is not None:
            reasons.setdefault(f.operation, []).append(f"{f.code} → {f.status} {f.error}: {f.explained_by}")
    for path in sorted(source.iterdir()):
        if not path.name.endswith("-result.json"):
            shutil.copyfile(path, run_results / path.name)
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        labels = [x for x in data.get("labels", []) if x.get("name") != "organisation"]
        data["labels"] = [
            *labels,
            {"name": "organisation", "value": organisation},
            {"name": "suite", "value": "API conformance"},
        ]
        data.setdefault("parameters", []).append({"name": "organisation", "value": organisation})
        name = str(data.get("name"))
        if data.get("status") == "failed" and name not in unexplained and name in reasons:
            data["status"] = "passed"
            data["statusDetails"] = {"message": "explained by the allow-list:\n" + "\n".join(reasons[name])}
        (run_results / path.name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def check_organisations(
    root: Path,
    run_dir: Path,
    slugs: list[str],
    *,
    env: Mapping[str, str],
    allow_list: Path | None = None,
    max_examples: int = 25,
    seed: int | None = None,
    say: Callable[[str], None] = print,
    parallel: int = 2,
) -> list[ApiCheckResult]:
    """`run_api_check` for each organisation; a sandbox one is loaded from the running sandbox
    (`GOLIVE_SANDBOX_STATE` in `env`), which the caller started."""
    from golive.config import load_organisation, load_profile_file
    from golive.runtime.registry import sandbox_slugs
    from golive.runtime.sandbox_process import STATE_ENV, attach

    sandboxed = set(sandbox_slugs(root / "orgs"))
    orgs = []
    for slug in slugs:
        if slug in sandboxed:
            if STATE_ENV not in env:
                raise ConfigError(f"{slug}: no running sandbox ({STATE_ENV} is not set)", setting="--org")
            handle = attach(Path(env[STATE_ENV]))
            orgs.append(load_profile_file(handle.profiles_dir / f"{slug}.toml", {**env, **handle.secrets}))
        else:
            orgs.append(load_organisation(slug, orgs_dir=root / "orgs", env=env))

    def one(org: Organisation) -> ApiCheckResult:
        return run_api_check(
            org,
            run_dir,
            allow_list=allow_list or root / DEFAULT_ALLOW_LIST,
            max_examples=max_examples,
            seed=seed,
            say=say,
        )

    # One Schemathesis process per organisation, `parallel` at a time (each mostly waits on HTTP).
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(orgs)))) as pool:
        return list(pool.map(one, orgs))
