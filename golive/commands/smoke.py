"""`golive smoke`: the suite against every selected organisation, in parallel, one pytest
process per organisation sharing one run id (and one sandbox when the target is the sandbox)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from golive.commands.monitor import monitor_after_run
from golive.commands.preflight import preflight_all, unique
from golive.commands.prune import running
from golive.commands.subrun import SubRun
from golive.config import load_organisation
from golive.errors import ConfigError, GoliveError
from golive.evidence.allure_cli import DEFAULT_TOOLS_DIR, find_allure_cli
from golive.evidence.build import RunEvidence, build_run_evidence
from golive.evidence.run import RunDir, new_run_id
from golive.evidence.scrub import scrub_tree
from golive.evidence.signing import Signer, load_signer
from golive.evidence.summary import Outcome, RunSummary
from golive.runtime.registry import Targets, sandbox_slugs
from golive.runtime.run_secrets import load_discoveries, run_secrets_path, share_discoveries
from golive.runtime.sandbox_process import STATE_ENV, SandboxHandle, attach
from golive.runtime.sandbox_process import start as start_sandbox
from golive.secrets import REDACTOR, Secret

Say = Callable[[str], None]


@dataclass(frozen=True)
class OrgRun:
    slug: str
    exit_code: int
    seconds: float
    log: Path
    summary: RunSummary | None

    def counts(self) -> dict[Outcome, int]:
        return (self.summary or RunSummary(self.slug, self.slug, "unknown", "")).counts()


@dataclass(frozen=True)
class SandboxOptions:
    """How `golive smoke` starts the sandbox when it starts one (`--sandbox-orgs`, `--sandbox-latency`)."""

    organisations: int | None = None
    latency: str | None = None

    @property
    def asked(self) -> bool:
        return self.organisations is not None or bool(self.latency)


@dataclass(frozen=True)
class EvidenceRequest:
    attest_file: Path | None
    signed_off_by: str | None
    sign_key: Path | None = None

    def signer(self) -> Signer | None:
        """The signing key, loaded before anything runs; the signer is the key's identity."""
        if self.sign_key is None:
            return None
        signer = load_signer(self.sign_key)
        if self.signed_off_by and self.signed_off_by != signer.identity:
            raise ConfigError(
                f"--signed-off-by {self.signed_off_by!r} and --sign-key disagree: the signer is "
                f"the key's identity ({signer.identity}, {signer.fingerprint}); drop --signed-off-by",
                setting="--signed-off-by",
            )
        return signer


def run_smoke(
    *,
    root: Path,
    orgs: Sequence[str],
    run_id: str | None = None,
    pytest_args: Sequence[str] = (),
    parallel: int | None = None,
    evidence: EvidenceRequest | None = None,
    say: Callable[[str], None] = print,
    monitor_window: str | None = None,
    reports_dir: Path | None = None,
    api_check: bool = True,
    sandbox: SandboxOptions | None = None,
    scenarios_at_once: int | None = None,
) -> tuple[RunDir, list[OrgRun], RunEvidence | None]:
    slugs = unique(orgs)  # none: every sandbox organisation (known once the sandbox runs)
    signer = evidence.signer() if evidence is not None else None  # a bad key stops us before the run
    run = RunDir((reports_dir or root / "reports") / (run_id or new_run_id()))
    with running(run.root, on_discard=lambda folder: _say_why(folder, say)):
        run.create()
        (run.root / "logs").mkdir(exist_ok=True)
        return _run(
            root,
            run,
            slugs,
            pytest_args=pytest_args,
            parallel=parallel,
            evidence=evidence,
            signer=signer,
            say=say,
            monitor_window=monitor_window,
            api_check=api_check,
            sandbox_options=sandbox or SandboxOptions(),
            scenarios_at_once=scenarios_at_once,
        )


def _run(
    root: Path,
    run: RunDir,
    slugs: list[str],
    *,
    pytest_args: Sequence[str],
    parallel: int | None,
    evidence: EvidenceRequest | None,
    signer: Signer | None,
    say: Say,
    monitor_window: str | None,
    api_check: bool = True,
    sandbox_options: SandboxOptions,
    scenarios_at_once: int | None = None,
) -> tuple[RunDir, list[OrgRun], RunEvidence | None]:
    orgs_dir = root / "orgs"
    sandbox: SandboxHandle | None = None
    env = dict(os.environ)
    needs_sandbox = sandbox_options.asked or not slugs or bool(set(slugs) & set(sandbox_slugs(orgs_dir, env)))
    share_discoveries(REDACTOR, run_secrets_path(root, run.root))
    try:
        if needs_sandbox and STATE_ENV not in env:
            started = time.monotonic()
            sandbox = start_sandbox(
                log_path=run.root / "logs" / "sandbox.log",
                organisations=sandbox_options.organisations,
                latency=sandbox_options.latency,
            )
            env[STATE_ENV] = str(sandbox.state_dir)
            say(f"sandbox up in {time.monotonic() - started:.1f}s: {', '.join(sandbox.urls.values())}")
        elif sandbox_options.asked:
            say(f"a sandbox is already running ({STATE_ENV}): its organisations and latency stay as they are")
        slugs = slugs or sandbox_slugs(orgs_dir, env)
        register_secrets(root, slugs, env)  # a bad profile stops the run here, before any test
        _preflight(root, run, slugs, env, say)  # so does a key, secret or host that does not work
        # two organisations per core: each one's run waits on its targets (the agent, n8n, a
        # browser) about half the time (README, "Performance")
        workers = max(1, min(len(slugs), parallel or 2 * (os.cpu_count() or 2)))
        inside = scenario_workers(scenarios_at_once, workers, slugs, orgs_dir, env, pytest_args)
        say(
            f"run {run.run_id}: {len(slugs)} organisation(s), {workers} in parallel, "
            + (f"{inside} scenarios at once in each" if inside > 1 else "one scenario at a time in each")
        )
        org_args = [*pytest_args, "-n", str(inside)] if inside > 1 else list(pytest_args)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda slug: _run_org(root, run, slug, env, org_args, say), slugs))
        # what the children first saw in responses, then their output, now complete
        load_discoveries(REDACTOR, run_secrets_path(root, run.root))
        for leak in scrub_tree(run.root / "logs", REDACTOR):
            say(f"secret(s) {', '.join(leak.secret_names)} redacted from {leak.path}")
        if monitor_window not in ("0", "off"):  # the window after the run (GO rule, §6.3)
            monitor_after_run(
                root=root, run_dir=run.root, organisations=slugs, env=env, say=say, window=monitor_window
            )
        if api_check:  # Schemathesis on the sandbox's CRM API, into the evidence (issue 16)
            # the two seeded organisations only (orgs/): every added one is served by the same
            # CRM double, so checking them too would cost minutes and prove nothing new
            seeded = sandbox_slugs(orgs_dir, {})
            api_check_sandboxes(root, run, [s for s in slugs if s in seeded], env, say)
        built = None
        if evidence is not None:  # while the sandbox runs: its secrets drive the leak scan
            built = build_evidence_for(root, run, slugs, evidence, say, signer)
    finally:
        if sandbox is not None:
            sandbox.stop()
    return run, results, built


def api_check_sandboxes(
    root: Path, run: RunDir, slugs: list[str], env: Mapping[str, str], say: Callable[[str], None]
) -> None:
    """`golive api-check` for the sandbox organisations, with a small budget; a failure to run
    it is said, never fatal to the smoke."""
    if not slugs:
        return
    from golive.commands.api_check import SMOKE_EXAMPLES, check_organisations

    try:
        check_organisations(root, run.root, slugs, env=env, max_examples=SMOKE_EXAMPLES, say=say)
    except GoliveError as exc:
        say(f"api-check not run: {exc}")


# pytest-xdist workers per organisation when the run waits on its targets (see scenario_workers)
WORKERS_BUDGET = 8


def scenario_workers(
    asked: int | None,
    parallel: int,
    slugs: Sequence[str],
    orgs_dir: Path,
    env: Mapping[str, str],
    pytest_args: Sequence[str],
) -> int:
    """How many scenarios of one organisation run at once (pytest-xdist workers, one run).

    Concurrency pays when the run waits on its targets — a real staging answers in tens to
    hundreds of milliseconds and its agent in seconds — and not when the CPU is the limit: the
    sandbox without latency answers in milliseconds, and on two cores extra workers only add
    their start-up (measured: README, "Performance"). So: what `--scenarios-at-once` asks;
    else none for sandbox organisations without latency; else WORKERS_BUDGET shared by the
    organisations that run at once. A `-n` among the pytest arguments wins."""
    if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in pytest_args):
        return 0
    if asked is not None:
        return asked
    sandboxed = set(sandbox_slugs(orgs_dir, env))
    if set(slugs) <= sandboxed and STATE_ENV in env and not attach(Path(env[STATE_ENV])).ready.get("latency"):
        return 0
    return WORKERS_BUDGET // max(1, parallel)


def _say_why(folder: Path, say: Callable[[str], None]) -> None:
    """The run left no result and its folder is removed: show what its logs said first."""
    for log in sorted((folder / "logs").glob("*.log")):
        text = log.read_text(encoding="utf-8", errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        if lines:
            say(f"{log.stem}: " + " | ".join(lines[-3:]))
    say(f"no scenario finished: {folder} removed")


def _preflight(root: Path, run: RunDir, slugs: Sequence[str], env: Mapping[str, str], say: Say) -> None:
    """Every organisation's integrations, live, before any scenario: each problem one line on
    the console, and the run stops (exit 2)."""
    targets = Targets(orgs_dir=root / "orgs", run_id=run.run_id, env=env)
    try:
        found = preflight_all(targets, slugs)
    finally:
        targets.close()
    for report in found.reports.values():
        report.write(run.root / "preflight" / f"{report.organisation}.json")
    if found.ok:
        return
    lines = found.lines()
    for line in lines:
        say(f"✗ preflight {line}")
    failed = sorted(slug for slug, report in found.reports.items() if not report.ok)
    raise ConfigError(
        f"preflight failed for {', '.join(failed)} ({len(lines)} problem(s) above): no scenario ran",
        setting="preflight",
    )


def register_secrets(
    root: Path, slugs: Sequence[str], env: Mapping[str, str], run_dir: Path | None = None
) -> None:
    """Register every secret the run's organisations use, for redaction and the leak scan:
    a profile's by loading it, a sandbox's from the running sandbox (they exist only while it
    runs), and those the run's processes first saw in responses (golive.runtime.run_secrets)."""
    if run_dir is not None:
        load_discoveries(REDACTOR, run_secrets_path(root, run_dir))
    sandboxed = set(sandbox_slugs(root / "orgs", env)) & set(slugs)
    for slug in slugs:
        if slug not in sandboxed:
            load_organisation(slug, orgs_dir=root / "orgs", env=env)
    if not sandboxed:
        return
    if STATE_ENV not in env:
        raise ConfigError(
            f"{', '.join(sorted(sandboxed))}: a sandbox run's secrets exist only while its sandbox "
            "runs, so its leak scan cannot be done now; `golive smoke` builds the evidence itself, "
            f"or set {STATE_ENV} to the running sandbox",
            setting="--org",
        )
    secrets = attach(Path(env[STATE_ENV])).secrets
    REDACTOR.register_all(Secret(name, value) for name, value in secrets.items())


def build_evidence_for(
    root: Path,
    run: RunDir,
    slugs: Sequence[str],
    request: EvidenceRequest,
    say: Callable[[str], None],
    signer: Signer | None = None,
) -> RunEvidence:
    """Dossier and bundle per organisation; `register_secrets` must have run for them."""
    started = time.monotonic()
    built = build_run_evidence(
        run.root,
        slugs,
        signed_off_by=request.signed_off_by,
        signer=signer,
        attest_file=request.attest_file,
        secrets=REDACTOR.known(),
        allure_cli=find_allure_cli(root / DEFAULT_TOOLS_DIR, version=None),
        history_dir=run.root.parent / ".history",
    )
    for result in built.results:
        say(f"{result.verdict:5} {result.organisation}: {result.bundle}")
        for warning in result.warnings:
            say(f"      warning: {warning}")
    for slug, message in built.errors.items():
        say(f"ERROR {slug}: {message}")
    say(f"evidence built in {time.monotonic() - started:.1f}s; CI summary: {built.ci_summary}")
    return built


def _run_org(
    root: Path,
    run: RunDir,
    slug: str,
    env: dict[str, str],
    pytest_args: Sequence[str],
    say: Callable[[str], None],
) -> OrgRun:
    log = run.root / "logs" / f"{slug}.log"
    say(f"▶ {slug}")
    started = time.monotonic()
    sub = SubRun(root, [slug], run.run_id, reports_dir=run.root.parent, pytest_args=pytest_args)
    code = sub.run(env=env, log=log)
    seconds = time.monotonic() - started
    summary_path = run.summary(slug)
    summary = RunSummary.read(summary_path) if summary_path.is_file() else None
    result = OrgRun(slug, code, seconds, log, summary)
    counts = result.counts()
    mark = "✓" if code == 0 else "✗"
    say(
        f"{mark} {slug}: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped in {seconds:.1f}s (exit {code}; log {log})"
    )
    if code != 0 and not counts["failed"]:  # the reason is not a failed scenario: say it here
        for reason in failure_reasons(log):
            say(f"      {reason}")
    return result


def failure_reasons(log: Path, limit: int = 5) -> list[str]:
    """Why a sub-run ended without a failed scenario: golive's own lines (a bad profile, the
    preflight, mandatory scenarios not run), else the end of its log."""
    text = REDACTOR.redact(log.read_text(encoding="utf-8", errors="replace")) if log.is_file() else ""
    lines = text.splitlines()
    own = [line for line in lines if line.startswith("golive: ")]
    unproven = [line.strip() for line in lines if "NOT PROVEN" in line or line.strip().startswith("⏭")]
    found = own + unproven
    if found:
        return found[:limit]
    tail = [line for line in lines if line.strip()][-limit:]
    return tail or [f"no output (see {log})"]
