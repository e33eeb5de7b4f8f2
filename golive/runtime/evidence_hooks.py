"""Evidence hooks: steps never record evidence, these hooks do.

Every HTTP exchange is attached to the Allure step that made it (redacted by value), each
scenario is labelled with its organisation and checklist items, its outcome is recorded for
the run summary, and the run's files are left under reports/<run-id>/.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import allure
import pytest

from golive import __version__
from golive.clients.http import Exchange, ExchangeLog, recording
from golive.clients.sql import SqlVerifier
from golive.errors import GoliveError
from golive.evidence import checklist
from golive.evidence.allure_files import write_environment, write_executor
from golive.evidence.scrub import scrub_tree
from golive.evidence.summary import RunSummary, ScenarioOutcome
from golive.runtime.fingerprint import fingerprint, write_fingerprint
from golive.runtime.state import SCENARIO, STATE, RunState
from golive.secrets import REDACTOR

SEVERITY = {"smoke": "critical", "regression": "normal"}
EPIC = "Instagram DM v2 rollout"
SQL_EVIDENCE_TAG = "checklist-8.3"  # scenarios that collect the go-live evidence


def exchanges_json(exchanges: Sequence[Exchange]) -> str:
    return REDACTOR.redact(json.dumps([e.as_dict() for e in exchanges], indent=2, ensure_ascii=False))


def attach_exchanges(exchanges: Sequence[Exchange], title: str) -> None:
    if exchanges:
        allure.attach(
            exchanges_json(exchanges),
            name=f"{title} ({len(exchanges)})",
            attachment_type=allure.attachment_type.JSON,
        )


def sql_evidence(sql: SqlVerifier) -> dict[str, object]:
    return {
        "verification_queries": sql.verification_results(),
        "consistency_problems": sql.consistency_problems(),
    }


def attach_sql_evidence(sql: SqlVerifier) -> dict[str, object]:
    evidence = sql_evidence(sql)
    for name, rows in evidence["verification_queries"].items():  # type: ignore[attr-defined]
        allure.attach(
            REDACTOR.redact(json.dumps(rows, indent=2, default=str)),
            name=f"SQL {name}",
            attachment_type=allure.attachment_type.JSON,
        )
    return evidence


def write_sql_evidence(path: Path, sql: SqlVerifier) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(REDACTOR.redact(json.dumps(sql_evidence(sql), indent=2, default=str)), encoding="utf-8")


# --- hooks ------------------------------------------------------------------------------------


def _slug(request: pytest.FixtureRequest) -> str:
    callspec = getattr(request.node, "callspec", None)
    return str(callspec.params.get("organisation", "")) if callspec else ""


@pytest.hookimpl(trylast=True)
def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    slug = _slug(request)
    tags = set(scenario.tags) | set(feature.tags)
    allure.dynamic.label("organisation", slug)
    allure.dynamic.epic(EPIC)
    for tag in sorted(tags):
        item = checklist.BY_TAG.get(tag)
        if item:
            allure.dynamic.story(f"{item.id} {item.text}")
    severity = next((SEVERITY[t] for t in ("smoke", "regression") if t in tags), "normal")
    allure.dynamic.severity(getattr(allure.severity_level, severity.upper()))
    request.node.stash[SCENARIO] = (scenario.name, Path(str(feature.rel_filename)).stem)
    log = ExchangeLog()
    context = recording(log)
    context.__enter__()
    request.config.stash[STATE].logs[request.node.nodeid] = (log, context)


def _attach(request: pytest.FixtureRequest, exchanges: list[Exchange], title: str) -> None:
    state = request.config.stash[STATE]
    slug = _slug(request)
    spent = sum(e.elapsed_ms for e in exchanges)
    state.http_ms[slug] += spent
    state.scenario_http_ms[request.node.nodeid] += spent
    state.http_count[slug] += len(exchanges)
    attach_exchanges(exchanges, title)


def _attach_pending(request: pytest.FixtureRequest, title: str) -> None:
    entry = request.config.stash[STATE].logs.get(request.node.nodeid)
    if entry is not None:
        _attach(request, entry[0].drain(), title)


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_after_step(request: pytest.FixtureRequest, **_: Any) -> None:
    _attach_pending(request, "HTTP exchanges")


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_step_error(request: pytest.FixtureRequest, **_: Any) -> None:
    _attach_pending(request, "HTTP exchanges (failing step)")


def pytest_bdd_after_scenario(request: pytest.FixtureRequest, scenario: Any, **_: Any) -> None:
    state = request.config.stash[STATE]
    entry = state.logs.pop(request.node.nodeid, None)
    if entry is None:
        return
    log, context = entry
    _attach(request, log.drain(), "HTTP exchanges (after the steps)")
    context.__exit__(None, None, None)
    if SQL_EVIDENCE_TAG in scenario.tags and state.targets is not None:
        sql = state.targets.clients(_slug(request)).sql
        if sql is not None:  # the runbook's three queries, as the organisation stands now
            attach_sql_evidence(sql)


def _message(report: pytest.TestReport) -> str:
    """The one-line reason of a failure or skip, redacted."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if report.failed and crash is not None:
        return REDACTOR.redact(str(crash.message))
    if report.skipped and isinstance(report.longrepr, tuple):
        return REDACTOR.redact(str(report.longrepr[2]))
    return ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    state = item.config.stash.get(STATE, None)
    callspec = getattr(item, "callspec", None)
    slug = callspec.params.get("organisation") if callspec else None
    if state is None or slug is None:
        return report
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        name, feature = item.stash.get(SCENARIO, (item.name, ""))
        state.outcomes[slug].append(
            ScenarioOutcome(
                nodeid=item.nodeid,
                scenario=name,
                feature=feature,
                tags=tuple(sorted({m.name for m in item.iter_markers()})),
                outcome=report.outcome,
                duration_s=round(report.duration, 3),
                http_ms=round(state.scenario_http_ms.pop(item.nodeid, 0.0), 2),
                message=_message(report),
            )
        )
    return report


@pytest.hookimpl(tryfirst=True)  # before the plugin closes the clients these files are read with
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is not None and state.run_dir is not None and state.targets is not None:
        _write_run_files(state)


def _write_run_files(state: RunState) -> None:
    assert state.run_dir is not None and state.targets is not None
    wall = time.monotonic() - state.started
    env: dict[str, str] = {
        "golive.version": __version__,
        "run.id": state.run_id,
        "python": sys.version.split()[0],
    }
    for slug in state.outcomes:
        try:
            clients = state.targets.clients(slug)
        except GoliveError:
            continue
        org = clients.organisation
        env[f"{slug}.crm"] = org.crm_base_url
        env[f"{slug}.environment"] = org.environment
        env[f"{slug}.profile_sha256"] = org.fingerprint
        if clients.sql is not None:
            write_sql_evidence(state.run_dir.sql / f"{slug}.json", clients.sql)
        write_fingerprint(state.run_dir.fingerprint(slug), fingerprint(clients, state.root))
        summary = RunSummary(
            organisation=slug,
            name=org.name,
            environment=org.environment,
            run_id=state.run_id,
            wall_s=round(wall, 3),
            http_ms_total=round(state.http_ms[slug], 2),
            http_exchanges=state.http_count[slug],
            scenarios=tuple(state.outcomes[slug]),
        )
        state.run_dir.summary(slug).write_text(REDACTOR.redact(summary.to_json()), encoding="utf-8")
    write_environment(state.run_dir.allure_results, env)
    write_executor(state.run_dir.allure_results, state.run_id)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or state.run_dir is None:
        return
    # logs/ is still being written by `golive smoke`, which scrubs it itself; evidence/ comes later
    for leak in scrub_tree(state.run_dir.root, REDACTOR, skip={"logs", "evidence"}):
        action = "redacted" if leak.fixed else "NOT redactable (binary)"
        sys.stderr.write(
            f"golive: secret(s) {', '.join(leak.secret_names)} found in {leak.path} — {action}\n"
        )
