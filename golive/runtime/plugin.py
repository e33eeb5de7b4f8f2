"""golive's pytest plugin: options, profile validation, the live preflight, the organisation
axis, capability tags and the per-organisation terminal summary. The evidence hooks live in
`evidence_hooks`.

With pytest-xdist (`-n`) one run stays one run: the controller validates the profiles, runs the
preflight, starts the sandbox and hands the run id and the sandbox to its workers; the workers
run scenarios and send each outcome back with its report; the controller alone writes the
run's files (summaries, fingerprints, SQL evidence), once per organisation.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from golive.clients.browser import default_browser
from golive.config import load_organisation
from golive.errors import ConfigError, GoliveError
from golive.evidence import checklist
from golive.evidence.run import RunDir, new_run_id
from golive.evidence.run_shape import foreign_entries, has_results
from golive.organisation import Organisation
from golive.runtime.preflight import run_preflight
from golive.runtime.registry import Targets, profile_environment, sandbox_slugs
from golive.runtime.run_secrets import run_secrets_path, share_discoveries
from golive.runtime.sandbox_process import STATE_ENV
from golive.runtime.state import ATTEST, STATE, RunState
from golive.secrets import REDACTOR

# The evidence hooks come with the plugin: a session of golive always leaves its evidence.
pytest_plugins = ["golive.runtime.evidence_hooks", "golive.runtime.ui_evidence", "golive.runtime.concurrency"]

_CREATED_RUN_DIR = pytest.StashKey[bool]()

CAPABILITY_MARKS = {
    "needs_api": "api",
    "needs_db": "db",
    "needs_n8n": "n8n",
    "needs_chatwoot": "chatwoot",
    "needs_control": "control",
    "needs_board": "board",
    "needs_secret": "secret",
    "needs_exports": "exports",
    "needs_ui": "ui",
    "needs_redis": "redis",
    "needs_provider_instagram": "provider_instagram",
    "needs_provider_whatsapp": "provider_whatsapp",
}
# What no setting can give a target: such a scenario is attested by a person instead.
CONTROL_ATTEST = (
    "the target offers no switch to take the CRM webhook down: block the webhook (or set a wrong "
    "secret) for a test conversation, restore it, replay the lost delivery and check it was "
    "processed exactly once (crm-contract §6.1 #5), then attest it"
)
OTHER_ORGANISATION_ATTEST = (
    "no second organisation of the same kind is in this run: run it with a second organisation's "
    "profile (--org {slug} --org OTHER), or attest that another tenant's data stayed apart"
)
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
    "needs_provider_instagram": "needs the Instagram inbox injected through Chatwoot's channel webhook",
    "needs_provider_whatsapp": "needs the WhatsApp inbox injected through Chatwoot's channel webhook",
    "needs_other_organisation": "needs a second organisation of the same kind",
    "needs_ui": "needs a browser (Chromium) and the QA user of the CRM's web app ([ui])",
    "ui": "captures the CRM's screens with a real browser (evidence; never decides the verdict)",
    # which crm-contract §7 divergence a @known_gap scenario probes (its number)
    **{
        f"crm-gap-{n}": f"probes crm-contract §7 #{n}, a verified divergence of the real CRM"
        for n in range(1, 19)
    },
    # divergences golive found beyond §7 (README "Known gaps"), numbered on from it
    "crm-gap-19": "probes a divergence found by golive: the real Integrações page shows no Chatwoot "
    "channel section (not yet in crm-contract §7)",
}
WORKER_KEYS = ("golive_run_id", "golive_sandbox_state", "golive_slugs")


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
    group.addoption(
        "--no-preflight",
        action="store_true",
        dest="golive_no_preflight",
        help="skip the live check of every integration before the scenarios (misconfiguration "
        "then shows as failing scenarios)",
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


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _distributed(config: pytest.Config) -> bool:
    """This process is a pytest-xdist controller: its workers run the scenarios."""
    return getattr(config.option, "dist", "no") != "no" and bool(getattr(config.option, "tx", None))


def _run_dir(config: pytest.Config, run_id: str) -> RunDir | None:
    if not _runs_features(config):
        return None
    reports = Path(config.getoption("golive_reports_dir"))
    return RunDir((reports if reports.is_absolute() else config.rootpath / reports) / run_id)


def _validate(config: pytest.Config, slugs: list[str], orgs_dir: Path, allow_production: bool) -> None:
    if not slugs:
        raise ConfigError(
            f"no organisation selected: pass --org SLUG, or add a profile to {orgs_dir}",
            setting="--org",
            where=str(orgs_dir),
        )
    sandboxed = set(sandbox_slugs(orgs_dir))
    for slug in slugs:
        if slug in sandboxed:
            continue  # written by the sandbox when it starts
        org = load_organisation(slug, orgs_dir=orgs_dir)
        if org.environment == "production" and not allow_production:
            raise ConfigError(
                f"organisation '{slug}' is marked production ({org.origin}); pass "
                "--allow-production to run its @readonly scenarios only",
                setting="environment",
                where=org.origin,
            )


def _preflight(state: RunState) -> list[str]:
    """Every organisation's integrations, live; the problems' lines (empty: all good)."""
    targets = state.get_targets()
    lines: list[str] = []
    for slug in state.slugs:
        try:
            org = targets.organisation(slug)
        except GoliveError as exc:
            lines.append(f"{slug}: {exc}")
            continue
        report = run_preflight(org)
        state.preflight[slug] = report
        if report.identity is not None:
            targets.identities[slug] = report.identity
        if state.run_dir is not None:
            report.write(state.run_dir.root / "preflight" / f"{slug}.json")
        lines += report.lines()
    return lines


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """Validate the selected profiles and check every integration live before anything runs:
    each problem is one line on stderr, and the exit code is 2."""
    if config.option.help or config.option.version:
        return None
    orgs_dir = _orgs_dir(config)
    allow_production = bool(config.getoption("golive_allow_production"))
    if _is_worker(config):
        given: dict[str, Any] = config.workerinput  # type: ignore[attr-defined]
        if given.get("golive_sandbox_state"):
            os.environ[STATE_ENV] = str(given["golive_sandbox_state"])
        run_id = str(given["golive_run_id"])
        state = RunState(
            list(given["golive_slugs"]), orgs_dir, config.rootpath, run_id, None, allow_production
        )
        state.run_dir, state.worker = _run_dir(config, run_id), True
        config.stash[STATE] = state
        _share_discoveries(state)
        return None
    slugs: list[str] = list(dict.fromkeys(config.getoption("golive_orgs"))) or sandbox_slugs(orgs_dir)
    try:
        _validate(config, slugs, orgs_dir, allow_production)
    except ConfigError as exc:
        sys.stderr.write(f"golive: {exc}\n")
        return 2
    run_id = config.getoption("golive_run_id") or os.environ.get("GOLIVE_RUN_ID") or new_run_id()
    state = RunState(slugs, orgs_dir, config.rootpath, run_id, _run_dir(config, run_id), allow_production)
    config.stash[STATE] = state
    _share_discoveries(state)
    if state.run_dir is None or config.option.collectonly:
        return None
    try:
        if _distributed(config) and set(slugs) & set(sandbox_slugs(orgs_dir)):
            state.get_targets().ensure_sandbox()  # one sandbox for every worker
        problems = [] if config.getoption("golive_no_preflight") else _preflight(state)
    except GoliveError as exc:
        problems = [str(exc).splitlines()[0]]
    if problems:
        for line in problems:  # each complete on its own: the setting and the fix
            sys.stderr.write(f"golive: {REDACTOR.redact(line)}\n")
        if state.targets is not None:
            state.targets.close()
        return 2
    return None


def _share_discoveries(state: RunState) -> None:
    """Secrets first seen in a response reach the run's other processes (see run_secrets)."""
    if state.run_dir is not None:
        share_discoveries(REDACTOR, run_secrets_path(state.root, state.run_dir.root))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """pytest-xdist: each worker joins this run (its id, its sandbox), never starts its own."""
    state = node.config.stash.get(STATE, None)
    if state is None:
        return
    sandbox = state.targets.sandbox if state.targets is not None else None
    node.workerinput["golive_run_id"] = state.run_id
    node.workerinput["golive_slugs"] = list(state.slugs)
    node.workerinput["golive_sandbox_state"] = (
        str(sandbox.state_dir) if sandbox else os.environ.get(STATE_ENV)
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    for item in checklist.ITEMS:
        config.addinivalue_line("markers", f"{item.tag}: checklist {item.id} — {item.text}")
    state = config.stash.get(STATE, None)
    if state is None or state.run_dir is None:
        return
    config.stash[_CREATED_RUN_DIR] = not state.run_dir.root.exists()
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


def _skip_unattainable(request: pytest.FixtureRequest, slug: str, why: str) -> None:
    """Skip a scenario no setting can make runnable on this target; a person attests it."""
    request.node.stash[ATTEST] = why
    pytest.skip(f"{slug}: {why}")


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
            if capability == "control":
                _skip_unattainable(request, slug, CONTROL_ATTEST)
            pytest.skip(f"{slug}: {missing[capability]}")
    if request.node.get_closest_marker("needs_ui"):
        no_browser = default_browser()
        if isinstance(no_browser, str):
            pytest.skip(f"{slug}: {no_browser}")
    needs_other = request.node.get_closest_marker("needs_other_organisation") is not None
    if needs_other and targets.other_organisation(slug, request.config.stash[STATE].slugs) is None:
        _skip_unattainable(request, slug, OTHER_ORGANISATION_ATTEST.format(slug=slug))
    problem = targets.unreachable(slug)
    if problem:
        pytest.fail(f"{slug}: target unreachable, not running its scenarios: {problem}", pytrace=False)
    return org


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    if not state.worker and exitstatus == 0 and state.unproven():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # skipped mandatory scenarios: not a pass
    if state.targets is not None:
        state.targets.close()  # and stops the sandbox this session started, if any


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """A session that created its run folder and finished no scenario (collect-only, nothing
    selected, interrupted early) leaves no empty folder behind. A folder `golive smoke` made
    is its to tidy: other organisations' sessions may still be writing into it."""
    state = config.stash.get(STATE, None)
    if state is None or state.run_dir is None or not config.stash.get(_CREATED_RUN_DIR, False):
        return
    folder = state.run_dir.root
    if folder.is_dir() and not has_results(folder) and not foreign_entries(folder):
        shutil.rmtree(folder, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or not state.outcomes:
        return
    terminalreporter.section("golive: per-organisation summary")
    for slug, outcomes in sorted(state.outcomes.items()):
        counts = Counter(outcome.outcome for outcome in outcomes)
        unproven = state.unproven().get(slug, [])
        verdict = "FAIL" if counts["failed"] else ("NOT PROVEN" if unproven else "PASS")
        terminalreporter.write_line(
            f"{verdict}  {slug}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped; {state.http_count[slug]} HTTP exchanges, "
            f"{state.http_ms[slug]:.0f} ms round-trip in total"
        )
        for outcome in outcomes:
            if outcome.outcome == "failed":
                terminalreporter.write_line(f"      ✗ {outcome.scenario}: {outcome.message[:300]}")
        if unproven:
            terminalreporter.write_line(
                f"      {len(unproven)} mandatory scenario(s) did not run, so {slug} is not proven:"
            )
            reasons = Counter(o.message.removeprefix(f"{slug}: ") for o in unproven)
            for reason, count in reasons.most_common():
                attest = (
                    " (a person can attest it)"
                    if any(o.attest for o in unproven if reason in o.message)
                    else ""
                )
                terminalreporter.write_line(f"      ⏭ {count}× {reason[:240]}{attest}")
    if state.run_dir is not None:
        terminalreporter.write_line(f"evidence: {state.run_dir.root}")
