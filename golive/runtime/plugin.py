"""golive's pytest plugin: options, the organisation axis, capability tags, evidence hooks.

Steps never record evidence: the hooks here attach every HTTP exchange to the Allure
step that made it, label each scenario with its organisation and checklist items, and
leave the run's files under reports/<run-id>/.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import allure
import pytest

from golive import __version__
from golive.clients.http import Exchange, ExchangeLog, recording
from golive.config import Organisation, load_organisation
from golive.errors import ConfigError, GoliveError
from golive.evidence import checklist
from golive.evidence.allure_files import write_environment, write_executor
from golive.evidence.run import RunDir, new_run_id
from golive.evidence.scrub import scrub_tree
from golive.runtime.evidence_hooks import attach_exchanges, attach_sql_evidence, write_sql_evidence
from golive.runtime.fingerprint import fingerprint, write_fingerprint
from golive.runtime.registry import Targets, profile_environment, sandbox_slugs
from golive.secrets import REDACTOR

CAPABILITY_MARKS = {
    "needs_api": "api",
    "needs_db": "db",
    "needs_n8n": "n8n",
    "needs_chatwoot": "chatwoot",
    "needs_control": "control",
    "needs_board": "board",
    "needs_secret": "secret",
    "needs_exports": "exports",
}
MARKERS = {
    "smoke": "part of the go-live smoke",
    "regression": "part of the nightly regression",
    "readonly": "writes nothing to the target (the only scenarios allowed against production)",
    "known_gap": "probes a documented divergence of the real CRM (crm-contract §7)",
    "needs_api": "needs the CRM public API key",
    "needs_db": "needs read-only SQL access to the CRM database",
    "needs_n8n": "needs the organisation's n8n (API + webhook)",
    "needs_chatwoot": "needs the Chatwoot Application API",
    "needs_control": "needs a target that can switch faults/outages (the sandbox)",
    "needs_board": "needs the profile's board key and target stage",
    "needs_secret": "needs the webhook signing secret",
    "needs_exports": "needs exported n8n workflow files in the profile",
    "needs_other_organisation": "needs a second organisation of the same kind",
}
SEVERITY = {"smoke": "critical", "regression": "normal"}
EPIC = "Instagram DM v2 rollout"
SQL_EVIDENCE_TAG = "checklist-8.3"  # scenarios that collect the go-live evidence


@dataclass
class RunState:
    slugs: list[str]
    orgs_dir: Path
    root: Path
    run_id: str
    run_dir: RunDir | None
    allow_production: bool
    started: float = field(default_factory=time.monotonic)
    targets: Targets | None = None
    outcomes: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    http_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    http_count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    scenario_http_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    logs: dict[str, tuple[ExchangeLog, Any]] = field(default_factory=dict)

    def get_targets(self) -> Targets:
        if self.targets is None:
            self.targets = Targets(orgs_dir=self.orgs_dir, run_id=self.run_id)
        return self.targets


STATE = pytest.StashKey[RunState]()
SCENARIO = pytest.StashKey[tuple[str, str]]()  # (scenario name, feature file stem)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("golive", "golive go-live verification")
    group.addoption(
        "--org",
        action="append",
        dest="golive_orgs",
        default=[],
        metavar="SLUG",
        help="organisation profile to run against (repeatable; default: the sandbox "
        "organisations). 'runbook' = the SMOKE_* variables / .env.smoke.local",
    )
    group.addoption(
        "--orgs-dir",
        dest="golive_orgs_dir",
        default="orgs",
        help="folder of organisation profiles (default: orgs)",
    )
    group.addoption(
        "--allow-production",
        action="store_true",
        dest="golive_allow_production",
        help="allow a profile marked production; only @readonly scenarios then run",
    )
    group.addoption(
        "--run-id",
        dest="golive_run_id",
        default=None,
        help="run id (default: UTC timestamp + random suffix; env GOLIVE_RUN_ID)",
    )
    group.addoption(
        "--reports-dir",
        dest="golive_reports_dir",
        default="reports",
        help="where reports/<run-id>/ goes (default: reports)",
    )


def _orgs_dir(config: pytest.Config) -> Path:
    path = Path(config.getoption("golive_orgs_dir"))
    return path if path.is_absolute() else config.rootpath / path


def _runs_features(config: pytest.Config) -> bool:
    features = (config.rootpath / "features").resolve()
    for arg in config.args:
        path = Path(arg.split("::")[0]).resolve()
        if path == features or features in path.parents:
            return True
    return bool(config.getoption("golive_orgs"))


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """Validate the selected profiles before anything runs: a bad profile exits 2 with one line."""
    if config.option.help or config.option.version:
        return None
    orgs_dir = _orgs_dir(config)
    slugs: list[str] = list(dict.fromkeys(config.getoption("golive_orgs"))) or sandbox_slugs(orgs_dir)
    allow_production = bool(config.getoption("golive_allow_production"))
    try:
        if not slugs:
            raise ConfigError(
                f"no organisation selected: pass --org SLUG, or add a profile to {orgs_dir}",
                setting="--org",
                where=str(orgs_dir),
            )
        for slug in slugs:
            path = orgs_dir / f"{slug}.toml"
            if path.is_file() and profile_environment(path) == "sandbox":
                continue  # written by the sandbox when it starts
            org = load_organisation(slug, orgs_dir=orgs_dir)
            if org.environment == "production" and not allow_production:
                raise ConfigError(
                    f"organisation '{slug}' is marked production ({org.origin}); pass "
                    "--allow-production to run its @readonly scenarios only",
                    setting="environment",
                    where=org.origin,
                )
    except ConfigError as exc:
        sys.stderr.write(f"golive: {exc}\n")
        return 2
    run_id = config.getoption("golive_run_id") or os.environ.get("GOLIVE_RUN_ID") or new_run_id()
    run_dir = None
    if _runs_features(config):
        reports = Path(config.getoption("golive_reports_dir"))
        run_dir = RunDir((reports if reports.is_absolute() else config.rootpath / reports) / run_id)
    config.stash[STATE] = RunState(slugs, orgs_dir, config.rootpath, run_id, run_dir, allow_production)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    for item in checklist.ITEMS:
        config.addinivalue_line("markers", f"{item.tag}: checklist {item.id} — {item.text}")
    state = config.stash.get(STATE, None)
    if state is None or state.run_dir is None:
        return
    state.run_dir.create()
    if not config.option.allure_report_dir:
        config.option.allure_report_dir = str(state.run_dir.allure_results)
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(state.run_dir.junit(state.slugs))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every scenario runs once per organisation: `organisation` is autouse, so it is in the
    closure of scenarios collected with `scenarios()`."""
    if "organisation" not in metafunc.fixturenames or "_pytest_bdd_example" not in metafunc.fixturenames:
        return  # not a scenario
    state = metafunc.config.stash[STATE]
    metafunc.parametrize("organisation", state.slugs, indirect=True, ids=state.slugs)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash.get(STATE, None)
    if state is None or not state.allow_production:
        return
    production = {
        s
        for s in state.slugs
        if (state.orgs_dir / f"{s}.toml").is_file()
        and profile_environment(state.orgs_dir / f"{s}.toml") == "production"
    }
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        slug: str | None = params.params.get("organisation") if params else None
        if slug in production and item.get_closest_marker("readonly") is None:
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def golive_targets(pytestconfig: pytest.Config) -> Targets:
    return pytestconfig.stash[STATE].get_targets()


@pytest.fixture(autouse=True)
def organisation(request: pytest.FixtureRequest) -> Organisation | None:
    """The organisation this scenario runs against (None outside scenarios)."""
    slug = getattr(request, "param", None)
    if slug is None:
        return None
    targets: Targets = request.getfixturevalue("golive_targets")
    try:
        org = targets.organisation(slug)
    except GoliveError as exc:
        pytest.exit(f"golive: {exc}", returncode=2)
    missing = org.capabilities()
    for mark, capability in CAPABILITY_MARKS.items():
        if request.node.get_closest_marker(mark) and missing[capability]:
            pytest.skip(f"{slug}: {missing[capability]}")
    problem = targets.unreachable(slug)
    if problem:
        pytest.fail(f"{slug}: target unreachable, not running its scenarios: {problem}", pytrace=False)
    return org


# --- evidence hooks --------------------------------------------------------------------------


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
            {
                "nodeid": item.nodeid,
                "scenario": name,
                "feature": feature,
                "tags": sorted(m.name for m in item.iter_markers()),
                "outcome": report.outcome,
                "duration_s": round(report.duration, 3),
                "http_ms": round(state.scenario_http_ms.pop(item.nodeid, 0.0), 2),
                "message": _message(report),
            }
        )
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    try:
        if state.run_dir is not None and state.targets is not None:
            _write_run_files(state)
    finally:
        if state.targets is not None:
            state.targets.close()


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
        summary = {
            "organisation": slug,
            "name": org.name,
            "environment": org.environment,
            "run_id": state.run_id,
            "wall_s": round(wall, 3),
            "http_ms_total": round(state.http_ms[slug], 2),
            "http_exchanges": state.http_count[slug],
            "scenarios": state.outcomes[slug],
        }
        path = state.run_dir.summary(slug)
        path.write_text(REDACTOR.redact(json.dumps(summary, indent=2)), encoding="utf-8")
    write_environment(state.run_dir.allure_results, env)
    write_executor(state.run_dir.allure_results, state.run_id)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or not state.outcomes:
        return
    terminalreporter.section("golive: per-organisation summary")
    for slug, outcomes in sorted(state.outcomes.items()):
        counts: dict[str, int] = defaultdict(int)
        for outcome in outcomes:
            counts[outcome["outcome"]] += 1
        verdict = "PASS" if not counts["failed"] else "FAIL"
        terminalreporter.write_line(
            f"{verdict}  {slug}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped; {state.http_count[slug]} HTTP exchanges, "
            f"{state.http_ms[slug]:.0f} ms round-trip in total"
        )
        for outcome in outcomes:
            if outcome["outcome"] == "failed":
                terminalreporter.write_line(f"      ✗ {outcome['scenario']}: {outcome['message'][:300]}")
    if state.run_dir is not None:
        terminalreporter.write_line(f"evidence: {state.run_dir.root}")


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
