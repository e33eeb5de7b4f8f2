"""The kill matrix: the suite against the sandbox with no fault (all green), then once per
fault profile (its intended scenarios must fail, with a message that names the problem).

One sandbox for the whole matrix; between runs it is reset to its seed data and the next
fault is switched on at run time — no cluster is rebuilt.

After the clean run, each organisation's monitoring window is watched (it must show no critical
error), then each after-run fault is switched on and the pilot's window watched again: it must
turn critical, which turns the dossier's GO into NO-GO.

A fault that breaks the configuration itself (a signature scheme that is not Chatwoot's) stops
the run at the preflight, before any scenario, which is what a real staging run must do. The
matrix records what the preflight said, then runs the suite again without it: the fault's
scenario must catch it on its own too.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from golive.clients.control import ControlClient, FaultInfo
from golive.clients.http import build_client
from golive.commands.monitor import monitor_after_run
from golive.commands.prune import running
from golive.commands.subrun import SubRun
from golive.config import load_profile_file
from golive.errors import GoliveError
from golive.evidence.monitoring import describe
from golive.evidence.run import new_run_id
from golive.evidence.summary import read_summaries
from golive.runtime.registry import sandbox_slugs
from golive.runtime.sandbox_process import STATE_ENV
from golive.runtime.sandbox_process import start as start_sandbox

CLEAN = "(no fault)"
# What a failure message must say for the fault to count as caught "with a message that
# names the problem" (case-insensitive regular expressions).
MESSAGE_MUST_MENTION: dict[str, str] = {
    "wa-new-contact": r"new contact|WhatsApp regression",
    "wa-raw-phone-identity": r"WHATSAPP identity|whatsapp:\+",
    "reentry-duplicate-link": r"conversation links?|unique key",
    "ig-no-identity": r"no INSTAGRAM identity",
    "igsid-from-identifier-only": r"INSTAGRAM identity|IGSID|instagram:",
    "key-without-prefix": r"key|instagram:|whatsapp:",
    "move-moves-siblings": r"moved .* although it was not the target",
    "identity-move-picks-newest": r"AMBIGUOUS_MATCH|ambiguous",
    "unsigned-webhook-accepted": r"refuse|signature",
    "foreign-inbox-processed": r"foreign_inbox|ignore|wrote",
    "n8n-move-by-phone": r"deal_id|move-stage-by-identity|R1",
    "n8n-name-memory-key": r"name|invalid|identifier",
    "crm-outage": r"503|unavailable|did not process",
    "stale-signature-accepted": r"refuse.*401|signature",
    "malformed-payload-crash": r"crashed|5xx",
    "api-key-not-required": r"AUTH_MISSING",
    "cross-tenant-deal-access": r"tenant leak",
    "ai-summary-dropped": r"ai_summary",
    "ui-deal-wrong-stage": r"screen contradicts|in stage .* but the CRM",
    "ui-token-rendered": r"secret|token",
    "rls-open-policies": r"row-level security|tenant leak|USING \(true\)",
    "backfill-drops-conflicts": r"backfill|conflict|E\.164",
    "errors-after-run": r"critical.*identity-resolution failures|identity-resolution failures.*>",
    # crm-contract §7
    "webhook-reads-nested-shape": r"acknowledged but wrote nothing",
    "org-id-header-trusted": r"tenant leak.*X-Organization-Id",
    "move-refuses-ai-summary": r"422.*ai_summary",
    "contact-upsert-nulls-unsent": r"nulls unsent fields",
    "contact-phone-exact-match": r"compares the stored text",
    "deal-create-unchecked": r"server error|tenant leak",
    "identity-race": r"orphan contact|re-pointed to the last writer",
    "stage-move-duplicate-500": r"duplicate-deal check surfaced as a server error",
    "replay-reenables-ai": r"replayed conversation_created .* turned it back on",
    "iso-created-at-500": r"crashed on message_created.*created_at",
    "placeholder-identity-accepted": r"placeholder .* was accepted as a (WHATSAPP|INSTAGRAM) identity",
    # behaviours beyond §7
    "wa-id-from-phone-only": r"no WHATSAPP identity",
    "message-replay-duplicated": r"delivered twice",
    "missing-labels-reenable-ai": r"without a `labels` key",
    "whatsapp-event-dropped": r"acknowledged but wrote nothing",
    "new-contact-fields-wrong": r"contacts\.(phone|source): expected",
    # Chatwoot's real traffic
    "assignee-not-recorded": r"assigned .* meta\.assignee",
    "sender-type-by-email-key": r"sender_type .*agent_bot",
    "attachments-dropped": r"attachments .* file is lost",
    "early-message-dropped": r"acknowledged but wrote nothing.*messaging_messages_cache",
    "org-from-top-level-account-only": r"acknowledged but wrote nothing.*no_matching_tenant",
    "api-unvalidated-input": r"server error",
    "crm-signature-scheme-legacy": r"signature scheme not Chatwoot's",
    "model-never-calls-tool": r"did not call its stage-move tool",
    "n8n-memory-by-conversation": r"conversation:\d+|keyed by the conversation id",
    "n8n-reply-wrong-conversation": r"answer the customer in conversation|went to conversation",
    # Chatwoot's channel webhooks
    "meta-event-old-contact-inbox": r"another customer's contact inbox",
}
# How the monitoring window after a run appears among the scenarios (faults name it in caught_by).
MONITOR_KEY = "monitor: No critical error in the window after the run"
MONITOR_WINDOW = "5s"  # long enough to see live traffic fail, short enough for the matrix's budget
# Feature files every fault run includes besides those of the scenarios the fault names: the
# first contact on each channel, so a fault's collateral on the core flows shows too.
CANARY_FEATURES = ("instagram_first_contact", "whatsapp_regression")


@dataclass
class RunResult:
    fault: str
    seconds: float
    exit_code: int
    outcomes: dict[str, str]  # scenario key -> passed | failed | skipped
    messages: dict[str, str]  # scenario key -> first failure message
    preflight: str = ""  # what the preflight said when it stopped the run before any scenario


@dataclass
class Verdict:
    fault: str
    intended: list[str]
    caught: bool
    missed: list[str]
    vague: list[str]  # intended scenarios that failed without naming the problem
    also_failed: list[str]
    seconds: float
    messages: dict[str, str] = field(default_factory=dict)
    preflight: str = ""  # the preflight stopped the run, saying this (before the scenarios ran)


@dataclass
class Matrix:
    clean: RunResult
    verdicts: list[Verdict]
    scenarios: list[str]
    runs: list[RunResult]
    seconds: float

    @property
    def ok(self) -> bool:
        clean_green = not [k for k, v in self.clean.outcomes.items() if v == "failed"]
        return (
            clean_green and self.clean.exit_code == 0 and all(v.caught and not v.vague for v in self.verdicts)
        )


def _collect(summary_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Worst outcome per scenario across organisations and outline examples; a scenario that
    ran somewhere counts as run (skipped where an organisation lacks what it needs, e.g. the
    provider path, passed where it has it)."""
    rank = {"skipped": 0, "passed": 1, "failed": 2}
    outcomes: dict[str, str] = {}
    messages: dict[str, str] = {}
    for summary in read_summaries(summary_dir):
        for entry in summary.scenarios:
            key = entry.key
            if key not in outcomes or rank[entry.outcome] > rank[outcomes[key]]:
                outcomes[key] = entry.outcome
            if entry.outcome == "failed" and key not in messages:
                messages[key] = entry.message
    return outcomes, messages


def run_matrix(
    *,
    root: Path,
    out_dir: Path | None = None,
    faults: Sequence[str] | None = None,
    pytest_args: Sequence[str] = (),
    say: Callable[[str], None] = print,
) -> tuple[Matrix, Path]:
    out = out_dir or root / "reports" / (new_run_id() + "-kill-matrix")
    with running(out):  # an unknown fault or Ctrl-C before the matrix is written leaves no folder
        return _run_matrix(root, out, faults, pytest_args, say)


def _run_matrix(
    root: Path,
    out: Path,
    faults: Sequence[str] | None,
    pytest_args: Sequence[str],
    say: Callable[[str], None],
) -> tuple[Matrix, Path]:
    started = time.monotonic()
    sandbox = start_sandbox(log_path=out / "sandbox.log")
    try:
        slugs = sandbox_slugs(root / "orgs")
        env = {**os.environ, STATE_ENV: str(sandbox.state_dir)}
        profile = load_profile_file(sandbox.profiles_dir / f"{slugs[0]}.toml", {**env, **sandbox.secrets})
        assert profile.control_url and profile.control_token
        http = build_client(
            "sandbox-control",
            base_url=profile.control_url,
            timeout=30,
            headers={"X-Golive-Control-Token": profile.control_token.reveal()},
        )
        control = ControlClient(http=http, organisation=slugs[0])
        catalogue = {f.name: f for f in control.catalogue()}
        wanted = list(faults) if faults else list(catalogue)
        after_run = [f for f in wanted if f in catalogue and catalogue[f].after_run]
        unknown = [f for f in wanted if f not in catalogue]
        if unknown:
            raise GoliveError(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(catalogue)}")
        runs = []
        during_run = [f for f in wanted if f not in after_run]
        for index, fault in enumerate([CLEAN, *during_run]):
            control.reset()
            if fault != CLEAN:
                control.set_faults([fault])
            # The clean run covers every organisation and scenario; a fault is global to the
            # sandbox, so one organisation and the features of the scenarios it names (plus the
            # canaries) are enough to see what it breaks.
            orgs = slugs if fault == CLEAN else slugs[:1]
            select = [] if fault == CLEAN else ["-k", selection(root, catalogue[fault].caught_by)]
            result = _run_suite(root, out, fault, f"run-{index:02d}", env, orgs, [*select, *pytest_args])
            runs.append(result)
            failed = sum(1 for v in result.outcomes.values() if v == "failed")
            say(
                f"[{index + 1}/{len(wanted) + 1}] {fault}: {failed} scenario(s) failed "
                f"in {result.seconds:.1f}s"
            )
            if fault == CLEAN:
                runs[0] = _watched(root, out / "runs" / "run-00", result, slugs, env, say, None)
                runs += [
                    _after_run(root, out, runs[0], name, slugs[:1], env, say, control) for name in after_run
                ]
        control.reset()
        http.close()
    finally:
        sandbox.stop()
    matrix = _judge(runs, catalogue, time.monotonic() - started)
    write_matrix(matrix, out, catalogue)
    return matrix, out


def _python_name(scenario: str) -> str:
    """pytest-bdd's test function name for a scenario (`scenarios()` names them this way)."""
    return "test_" + re.sub(r"^\d+_*", "", re.sub(r"\W", "", scenario.replace(" ", "_"))).lower()


def scenario_names(feature: Path) -> list[str]:
    names = []
    for line in feature.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*Scenario(?: Outline)?:\s*(.+?)\s*$", line)
        if match:
            names.append(match.group(1))
    return names


def selection(root: Path, caught_by: Sequence[str]) -> str:
    """A `-k` expression for every scenario of the features `caught_by` names, and the canaries."""
    stems = dict.fromkeys([*(entry.split(":", 1)[0].strip() for entry in caught_by), *CANARY_FEATURES])
    names = [
        _python_name(name)
        for stem in stems
        if (root / "features" / f"{stem}.feature").is_file()
        for name in scenario_names(root / "features" / f"{stem}.feature")
    ]
    return " or ".join(dict.fromkeys(names)) or "no_scenario_selected"


def _run_suite(
    root: Path,
    out: Path,
    fault: str,
    name: str,
    env: dict[str, str],
    slugs: list[str],
    pytest_args: Sequence[str],
) -> RunResult:
    # `name` is neutral on purpose: test data carries the run id, and a fault's name in it would
    # make a vague failure message look as if it named the problem.
    sub = SubRun(root, slugs, name, reports_dir=out / "runs", pytest_args=["-p", "no:randomly", *pytest_args])
    started = time.monotonic()
    log = out / f"{'clean' if fault == CLEAN else fault}.log"
    code = sub.run(env=env, log=log)
    preflight = ""
    if code == 2 and not (sub.run_dir.root / "summary").is_dir():
        preflight = " ".join(preflight_lines(log))
        sub = replace(sub, run_id=f"{name}-scenarios", pytest_args=[*sub.pytest_args, "--no-preflight"])
        code = sub.run(env=env, log=log.with_suffix(".scenarios.log"))
    outcomes, messages = _collect(sub.run_dir.root / "summary")
    return RunResult(fault, time.monotonic() - started, code, outcomes, messages, preflight)


def preflight_lines(log: Path) -> list[str]:
    """The problems a run's preflight printed (`golive: <org>: …`), from its log."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    return [line.removeprefix("golive: ") for line in text.splitlines() if line.startswith("golive: ")]


def _watched(
    root: Path,
    run_dir: Path,
    result: RunResult,
    slugs: list[str],
    env: dict[str, str],
    say: Callable[[str], None],
    start: datetime | None,
) -> RunResult:
    """The run's result with the monitoring window after it, as one more "scenario"."""
    began = time.monotonic()
    run_dir.mkdir(parents=True, exist_ok=True)
    reports = monitor_after_run(
        root=root, run_dir=run_dir, organisations=slugs, env=env, say=say, start=start
    )
    critical = [r for r in reports.values() if r.verdict != "ok"]
    missing = [s for s in slugs if s not in reports]
    outcomes = {**result.outcomes, MONITOR_KEY: "failed" if critical or missing else "passed"}
    messages = dict(result.messages)
    if critical or missing:
        messages[MONITOR_KEY] = "; ".join(
            [*(f"{r.organisation}: {describe(r)}" for r in critical), *(f"{s}: not watched" for s in missing)]
        )
    return replace(
        result, outcomes=outcomes, messages=messages, seconds=result.seconds + time.monotonic() - began
    )


def _after_run(
    root: Path,
    out: Path,
    clean: RunResult,
    fault: str,
    slugs: list[str],
    env: dict[str, str],
    say: Callable[[str], None],
    control: ControlClient,
) -> RunResult:
    """An after-run fault: on after the clean run, its window watched from that moment."""
    control.set_faults([fault])
    try:
        base = RunResult(fault, 0.0, 0, {k: v for k, v in clean.outcomes.items() if k != MONITOR_KEY}, {})
        watched = _watched(root, out / "runs" / f"after-{fault}", base, slugs, env, say, datetime.now(UTC))
    finally:
        control.set_faults([])
    outcome = watched.outcomes[MONITOR_KEY]
    say(f"[after the run] {fault}: monitoring window {outcome} in {watched.seconds:.1f}s")
    return watched


def _judge(runs: list[RunResult], catalogue: dict[str, FaultInfo], seconds: float) -> Matrix:
    clean, fault_runs = runs[0], runs[1:]
    scenarios = sorted({k for r in runs for k in r.outcomes})
    verdicts = []
    for run in fault_runs:
        info = catalogue[run.fault]
        intended = list(info.caught_by)
        failed = [k for k, v in run.outcomes.items() if v == "failed"]
        missed = [s for s in intended if s not in failed]
        pattern = MESSAGE_MUST_MENTION.get(run.fault, "(?!)")  # unknown fault: nothing names it
        vague = [
            s
            for s in intended
            if s in failed and not re.search(pattern, run.messages.get(s, ""), re.IGNORECASE)
        ]
        verdicts.append(
            Verdict(
                fault=run.fault,
                intended=intended,
                caught=not missed,
                missed=missed,
                vague=vague,
                also_failed=sorted(set(failed) - set(intended)),
                seconds=run.seconds,
                messages={s: run.messages.get(s, "") for s in intended if s in failed},
                preflight=run.preflight,
            )
        )
    return Matrix(clean, verdicts, scenarios, runs, seconds)


def write_matrix(matrix: Matrix, out: Path, catalogue: dict[str, FaultInfo]) -> None:
    data = {
        "ok": matrix.ok,
        "seconds": round(matrix.seconds, 1),
        "clean": {"exit_code": matrix.clean.exit_code, "outcomes": matrix.clean.outcomes},
        "faults": [
            {
                **v.__dict__,
                "seconds": round(v.seconds, 1),
                "stands_for": catalogue[v.fault].stands_for,
                "breaks": catalogue[v.fault].breaks,
            }
            for v in matrix.verdicts
        ],
        "matrix": {r.fault: r.outcomes for r in matrix.runs},
    }
    (out / "kill-matrix.json").write_text(json.dumps(data, indent=2), encoding="utf-8")
    (out / "kill-matrix.md").write_text(render_markdown(matrix), encoding="utf-8")


def render_markdown(matrix: Matrix) -> str:
    mark = {"passed": "·", "failed": "✗", "skipped": "s", "": "–"}
    clean_failed = [k for k, v in matrix.clean.outcomes.items() if v == "failed"]
    lines = [
        "# Kill matrix",
        "",
        f"Verdict: **{'OK' if matrix.ok else 'FAILED'}** — clean run "
        f"{'green' if not clean_failed else 'NOT green: ' + ', '.join(clean_failed)}; "
        f"{sum(v.caught for v in matrix.verdicts)}/{len(matrix.verdicts)} faults caught by their "
        f"intended scenarios; wall time {matrix.seconds:.0f} s. The clean run covers every sandbox "
        "organisation and scenario; each fault run, the pilot's scenarios of the features its "
        f"intended scenarios belong to, plus {', '.join(CANARY_FEATURES)} (faults are global to the "
        "sandbox).",
        "",
        "| fault | caught | intended scenario(s) failed with | also failed |",
        "|---|---|---|---|",
    ]
    for v in matrix.verdicts:
        caught = "yes" if v.caught and not v.vague else ("vague message" if v.caught else "**NO**")
        said = "; ".join(f"{s} — “{m[:160]}”" for s, m in v.messages.items()) or ", ".join(v.missed)
        if v.preflight:
            said = f"preflight, before any scenario — “{v.preflight[:160]}”; then {said}"
        lines.append(f"| `{v.fault}` | {caught} | {said.replace('|', '/')} | {len(v.also_failed)} |")
    lines += ["", "## Fault × scenario (✗ failed, · passed, s skipped, – not part of that run)", ""]
    header = "| scenario | clean | " + " | ".join(f"`{v.fault}`" for v in matrix.verdicts) + " |"
    lines += [header, "|---" * (len(matrix.verdicts) + 2) + "|"]
    for scenario in matrix.scenarios:
        row = [mark.get(r.outcomes.get(scenario, ""), "–") for r in matrix.runs]
        lines.append(f"| {scenario} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"
