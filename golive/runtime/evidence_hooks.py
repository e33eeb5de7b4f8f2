"""Evidence hooks: steps never record evidence, these hooks do.

Every HTTP exchange is attached to the Allure step that made it — one attachment per exchange,
titled by its request (`POST /deals/{id}/move-stage → 200 (CRM API)`), pretty-printed, redacted
by name and by value. Step parameters show the step's own values, never fixture objects. Each
scenario is labelled with its organisation and checklist items; its outcome travels with its
report (so a pytest-xdist controller receives it from its workers) and is recorded for the run
summary; the run's files are left under reports/<run-id>/ by the one process that owns the run.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import allure
import psycopg
import pytest
from pytest_bdd.scenario import scenario_wrapper_template_registry

from golive import __version__
from golive.clients.http import Exchange, ExchangeLog, recording
from golive.clients.sql import SqlVerifier
from golive.errors import GoliveError
from golive.evidence import checklist
from golive.evidence.allure_files import write_environment, write_executor
from golive.evidence.scrub import scrub_tree
from golive.evidence.summary import RunSummary, ScenarioOutcome
from golive.organisation import Organisation
from golive.runtime.fingerprint import fingerprint, write_fingerprint
from golive.runtime.run_secrets import load_discoveries, run_secrets_path
from golive.runtime.state import ATTEST, SCENARIO, STATE, RunState
from golive.secrets import REDACTOR, Secret, redact_fields

SEVERITY = {"smoke": "critical", "regression": "normal"}
EPIC = "Instagram DM v2 rollout"
SQL_EVIDENCE_TAG = "checklist-8.3"  # scenarios that collect the go-live evidence


def _json(document: object) -> str:
    """Readable JSON (non-ASCII kept) that a UTF-8 file can hold: a lone surrogate a hostile
    scenario sent is written as its escape instead of failing the write."""
    text = json.dumps(document, indent=2, ensure_ascii=False)
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def exchanges_json(exchanges: Sequence[Exchange]) -> str:
    return REDACTOR.redact(_json([e.as_dict(parse_bodies=True) for e in exchanges]))


def exchange_json(exchange: Exchange) -> str:
    return REDACTOR.redact(_json(exchange.as_dict(parse_bodies=True)))


def attach_exchanges(exchanges: Sequence[Exchange], when: str = "") -> None:
    """One attachment per exchange, titled by its request (and `when`, outside a step)."""
    for exchange in exchanges:
        allure.attach(
            exchange_json(exchange),
            name=REDACTOR.redact(exchange.title + (f" — {when}" if when else "")),
            attachment_type=allure.attachment_type.JSON,
        )


def sql_evidence(sql: SqlVerifier) -> dict[str, object]:
    evidence: dict[str, object] = redact_fields(
        {
            "verification_queries": sql.verification_results(),
            "consistency_problems": sql.consistency_problems(),
        },
        "sql",
    )
    return evidence


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


def _attach(request: pytest.FixtureRequest, exchanges: list[Exchange], when: str = "") -> None:
    state = request.config.stash[STATE]
    nodeid = request.node.nodeid
    state.scenario_http_ms[nodeid] += sum(e.elapsed_ms for e in exchanges)
    state.scenario_http_count[nodeid] += len(exchanges)
    attach_exchanges(exchanges, when)


def _attach_pending(request: pytest.FixtureRequest, when: str = "") -> None:
    entry = request.config.stash[STATE].logs.get(request.node.nodeid)
    if entry is not None:
        _attach(request, entry[0].drain(), when)


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_after_step(request: pytest.FixtureRequest, **_: Any) -> None:
    _attach_pending(request)


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_step_error(request: pytest.FixtureRequest, **_: Any) -> None:
    _attach_pending(request)


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) and not isinstance(value, Secret)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_bdd_before_step_call(step_func_args: dict[str, Any], **_: Any) -> Any:
    """allure-pytest-bdd records every argument of a step function as a step parameter, by
    repr() (n8n-and-tooling §3.1): fixtures would show as `<CrmClient object at 0x…>`. While it
    looks, the arguments are only the step's own values (those parsed from its text); the step
    function itself still gets every argument."""
    hidden = {name: value for name, value in step_func_args.items() if not _plain(value)}
    for name in hidden:
        del step_func_args[name]
    try:
        return (yield)
    finally:
        step_func_args.update(hidden)


def pytest_bdd_after_scenario(request: pytest.FixtureRequest, scenario: Any, **_: Any) -> None:
    state = request.config.stash[STATE]
    entry = state.logs.pop(request.node.nodeid, None)
    if entry is None:
        return
    log, context = entry
    _attach(request, log.drain(), "after the steps")
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
        return REDACTOR.redact(str(report.longrepr[2]).removeprefix("Skipped: "))
    return ""


def _scenario_of(item: pytest.Item) -> tuple[str, str]:
    """(scenario name, feature file stem) of a scenario that never started (skipped at setup,
    so pytest_bdd_before_scenario never ran): from the template pytest-bdd bound it to."""
    template = scenario_wrapper_template_registry.get(getattr(item, "function", None))  # type: ignore[arg-type]
    if template is None:
        return item.name, ""
    return str(template.name), Path(str(template.feature.rel_filename)).stem


OUTCOME_ATTRIBUTE = "golive_outcome"  # carried by the report, so xdist sends it to the controller


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    state = item.config.stash.get(STATE, None)
    callspec = getattr(item, "callspec", None)
    slug = callspec.params.get("organisation") if callspec else None
    if state is None or slug is None:
        return report
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        name, feature = item.stash.get(SCENARIO, None) or _scenario_of(item)
        outcome = ScenarioOutcome(
            nodeid=item.nodeid,
            scenario=name,
            feature=feature,
            tags=tuple(sorted({m.name for m in item.iter_markers()})),
            outcome=report.outcome,
            duration_s=round(report.duration, 3),
            http_ms=round(state.scenario_http_ms.pop(item.nodeid, 0.0), 2),
            message=_message(report),
            attest=item.stash.get(ATTEST, "") if report.outcome == "skipped" else "",
        )
        count = state.scenario_http_count.pop(item.nodeid, 0)
        setattr(report, OUTCOME_ATTRIBUTE, {"slug": slug, "http_count": count, **asdict(outcome)})
    return report


class OutcomeRecorder:
    """Records the outcome a report carries: in the process that ran the scenario, or in the
    pytest-xdist controller that received the report from a worker."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, OUTCOME_ATTRIBUTE, None)
        state = self.config.stash.get(STATE, None)
        if not isinstance(data, dict) or state is None or state.worker:
            return
        entry = dict(data)
        slug, count = str(entry.pop("slug")), int(entry.pop("http_count", 0))
        outcome = ScenarioOutcome(**{**entry, "tags": tuple(entry.get("tags") or ())})
        state.record(slug, outcome, count)


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(OutcomeRecorder(config), "golive-outcome-recorder")


@pytest.hookimpl(tryfirst=True)  # before the plugin closes the clients these files are read with
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is not None and state.run_dir is not None and not state.worker and state.outcomes:
        _write_run_files(state)


def _org_files(state: RunState, slug: str, env: dict[str, str]) -> Organisation | None:
    """The organisation's SQL evidence and fingerprint; a failure is one line, never a traceback."""
    assert state.run_dir is not None
    targets = state.get_targets()
    try:
        clients = targets.clients(slug)
    except GoliveError as exc:
        sys.stderr.write(f"golive: {slug}: no fingerprint or SQL evidence: {REDACTOR.redact(str(exc))}\n")
        return None
    org = clients.organisation
    env[f"{slug}.crm"] = org.crm_base_url
    env[f"{slug}.environment"] = org.environment
    env[f"{slug}.profile_sha256"] = org.fingerprint
    if clients.sql is not None:
        try:
            write_sql_evidence(state.run_dir.sql / f"{slug}.json", clients.sql)
        except (GoliveError, psycopg.Error) as exc:
            sys.stderr.write(
                f"golive: {slug}: the SQL evidence could not be read: {REDACTOR.redact(str(exc))}\n"
            )
    report = state.preflight.get(slug)
    identity = report.identity if report is not None else targets.identities.get(slug)
    write_fingerprint(state.run_dir.fingerprint(slug), fingerprint(clients, state.root, identity))
    return org


def _write_run_files(state: RunState) -> None:
    assert state.run_dir is not None
    wall = time.monotonic() - state.started
    env: dict[str, str] = {
        "golive.version": __version__,
        "run.id": state.run_id,
        "python": sys.version.split()[0],
    }
    for slug in state.outcomes:
        org = _org_files(state, slug, env)
        if org is None:
            continue
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
    if state is None or state.run_dir is None or state.worker:
        return
    # what the run's other processes (xdist workers) first saw in responses
    load_discoveries(REDACTOR, run_secrets_path(state.root, state.run_dir.root))
    # logs/ is still being written by `golive smoke`, which scrubs it itself; evidence/ comes later
    for leak in scrub_tree(state.run_dir.root, REDACTOR, skip={"logs", "evidence"}):
        action = "redacted" if leak.fixed else "NOT redactable (binary)"
        sys.stderr.write(
            f"golive: secret(s) {', '.join(leak.secret_names)} found in {leak.path} — {action}\n"
        )
