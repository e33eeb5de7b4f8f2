"""golive's pytest plugin: options, profile validation, the organisation axis, capability tags
and the per-organisation terminal summary. The evidence hooks live in `evidence_hooks`."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from golive.config import Organisation, load_organisation
from golive.errors import ConfigError, GoliveError
from golive.evidence import checklist
from golive.evidence.run import RunDir, new_run_id
from golive.runtime.registry import Targets, profile_environment, sandbox_slugs
from golive.runtime.state import STATE, RunState

# The evidence hooks come with the plugin: a session of golive always leaves its evidence.
pytest_plugins = ["golive.runtime.evidence_hooks"]

CAPABILITY_MARKS = {
    "needs_api": "api",
    "needs_db": "db",
    "needs_n8n": "n8n",
    "needs_chatwoot": "chatwoot",
    "needs_control": "control",
    "needs_board": "board",
    "needs_secret": "secret",
    "needs_exports": "exports",
    "needs_redis": "redis",
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
    "needs_redis": "needs read-only access to the agent flows' Redis",
    "needs_other_organisation": "needs a second organisation of the same kind",
}


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


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is not None and state.targets is not None:
        state.targets.close()  # and stops the sandbox this session started, if any


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or not state.outcomes:
        return
    terminalreporter.section("golive: per-organisation summary")
    for slug, outcomes in sorted(state.outcomes.items()):
        counts = Counter(outcome.outcome for outcome in outcomes)
        verdict = "PASS" if not counts["failed"] else "FAIL"
        terminalreporter.write_line(
            f"{verdict}  {slug}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped; {state.http_count[slug]} HTTP exchanges, "
            f"{state.http_ms[slug]:.0f} ms round-trip in total"
        )
        for outcome in outcomes:
            if outcome.outcome == "failed":
                terminalreporter.write_line(f"      ✗ {outcome.scenario}: {outcome.message[:300]}")
    if state.run_dir is not None:
        terminalreporter.write_line(f"evidence: {state.run_dir.root}")
