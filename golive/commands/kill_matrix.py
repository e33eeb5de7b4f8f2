"""The kill matrix: the suite against the sandbox with no fault (all green), then once per
fault profile (its intended scenarios must fail, with a message that names the problem).

One sandbox for the whole matrix; between runs it is reset to its seed data and the next
fault is switched on at run time — no cluster is rebuilt.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from golive.clients.control import ControlClient, FaultInfo
from golive.clients.http import build_client
from golive.commands.subrun import SubRun
from golive.config import load_profile_file
from golive.errors import GoliveError
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
    "model-never-calls-tool": r"did not call its stage-move tool",
    "n8n-memory-by-conversation": r"conversation:\d+|keyed by the conversation id",
    "n8n-reply-wrong-conversation": r"answer the customer in conversation|went to conversation",
}


@dataclass
class RunResult:
    fault: str
    seconds: float
    exit_code: int
    outcomes: dict[str, str]  # scenario key -> passed | failed | skipped
    messages: dict[str, str]  # scenario key -> first failure message


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
    """Worst outcome per scenario across organisations and outline examples."""
    rank = {"passed": 0, "skipped": 1, "failed": 2}
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
    started = time.monotonic()
    run_id = new_run_id() + "-kill-matrix"
    out = out_dir or root / "reports" / run_id
    out.mkdir(parents=True, exist_ok=True)
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
        unknown = [f for f in wanted if f not in catalogue]
        if unknown:
            raise GoliveError(f"unknown fault(s): {', '.join(unknown)}; known: {', '.join(catalogue)}")
        runs = []
        for index, fault in enumerate([CLEAN, *wanted]):
            control.reset()
            if fault != CLEAN:
                control.set_faults([fault])
            # The clean run covers every organisation; a fault is global to the sandbox, so one
            # organisation is enough to see what it breaks, at half the cost.
            orgs = slugs if fault == CLEAN else slugs[:1]
            result = _run_suite(root, out, fault, f"run-{index:02d}", env, orgs, pytest_args)
            runs.append(result)
            failed = sum(1 for v in result.outcomes.values() if v == "failed")
            say(
                f"[{index + 1}/{len(wanted) + 1}] {fault}: {failed} scenario(s) failed "
                f"in {result.seconds:.1f}s"
            )
        control.reset()
        http.close()
    finally:
        sandbox.stop()
    matrix = _judge(runs, catalogue, time.monotonic() - started)
    write_matrix(matrix, out, catalogue)
    return matrix, out


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
    code = sub.run(env=env, log=out / f"{'clean' if fault == CLEAN else fault}.log")
    outcomes, messages = _collect(sub.run_dir.root / "summary")
    return RunResult(fault, time.monotonic() - started, code, outcomes, messages)


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
    mark = {"passed": "·", "failed": "✗", "skipped": "s"}
    clean_failed = [k for k, v in matrix.clean.outcomes.items() if v == "failed"]
    lines = [
        "# Kill matrix",
        "",
        f"Verdict: **{'OK' if matrix.ok else 'FAILED'}** — clean run "
        f"{'green' if not clean_failed else 'NOT green: ' + ', '.join(clean_failed)}; "
        f"{sum(v.caught for v in matrix.verdicts)}/{len(matrix.verdicts)} faults caught by their "
        f"intended scenarios; wall time {matrix.seconds:.0f} s. The clean run covers every sandbox "
        "organisation; each fault run, the pilot's (faults are global to the sandbox).",
        "",
        "| fault | caught | intended scenario(s) failed with | also failed |",
        "|---|---|---|---|",
    ]
    for v in matrix.verdicts:
        caught = "yes" if v.caught and not v.vague else ("vague message" if v.caught else "**NO**")
        said = "; ".join(f"{s} — “{m[:160]}”" for s, m in v.messages.items()) or ", ".join(v.missed)
        lines.append(f"| `{v.fault}` | {caught} | {said.replace('|', '/')} | {len(v.also_failed)} |")
    lines += ["", "## Fault × scenario (✗ failed, · passed, s skipped)", ""]
    header = "| scenario | clean | " + " | ".join(f"`{v.fault}`" for v in matrix.verdicts) + " |"
    lines += [header, "|---" * (len(matrix.verdicts) + 2) + "|"]
    for scenario in matrix.scenarios:
        row = [mark.get(r.outcomes.get(scenario, ""), "?") for r in matrix.runs]
        lines.append(f"| {scenario} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"
