"""`golive bench`: figures, not tests. How a run grows with organisations (`scale`), and how fast
one organisation's run is against a sandbox with real-world latency (`latency`).

* **scale** — for each N: a sandbox seeded with N organisations (at least 2), then `golive smoke`
  for N of them as `make smoke` runs it (evidence and the sandbox's 10-s monitoring window
  included); its wall time, the CPU seconds and the peak memory of everything it ran (smoke,
  its pytest processes, their browsers and Allure, and
  the sandbox with its n8n, Redis and PostgreSQL), per organisation, and the ratio to N = 1.
* **latency** — one organisation against a sandbox started with `--latency` (default CRM 150 ms,
  model 2–5 s): the suite one scenario at a time (from the current code and, with `--before-ref`,
  from an earlier commit), then side by side. The critical path is the longest scenario of the
  one-at-a-time run of the current code: the chain of its own requests and of the answers they
  wait for (two agent turns of 2–5 s each), with nothing else running; the aim is a side-by-side
  run within 2× of it.

Each benchmark prints a table and writes `reports/bench/<kind>-<time>.json`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from golive.commands.bench_meter import Measured, measure, postgres_root
from golive.errors import ConfigError
from golive.evidence.summary import RunSummary
from golive.runtime.sandbox_process import STATE_ENV, SandboxHandle
from golive.runtime.sandbox_process import start as start_sandbox

Say = Callable[[str], None]
DEFAULT_LATENCY = "crm=150ms,model=2-5s"
PILOT = "sandbox-pilot"
ATTESTATIONS = Path("fixtures") / "attestations" / "example.toml"


def _roots(sandbox: SandboxHandle) -> list[int]:
    roots = [sandbox.process.pid] if sandbox.process is not None else []
    port = (sandbox.ready.get("database") or {}).get("port")
    postgres = postgres_root(int(port)) if port else None
    return roots + ([postgres] if postgres else [])


def _out_file(root: Path, kind: str) -> Path:
    folder = root / "reports" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"


def _slugs(sandbox: SandboxHandle, count: int) -> list[str]:
    """The sandbox's organisations in seed order (pilot, second, 03, …), the first `count`."""
    return [Path(p).stem for p in sandbox.ready.get("profiles", [])][:count]


def _every_organisation_attested(root: Path, folder: Path) -> Path:
    """The example attestations, answered for every organisation (the sandbox's added ones too)."""
    text = (root / ATTESTATIONS).read_text(encoding="utf-8")
    text = re.sub(r"organisations = \[[^\]]*\]", 'organisations = ["*"]', text)
    path = folder / "attestations-all.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- scale


@dataclass
class ScaleRow:
    organisations: int
    sandbox_start_s: float
    wall_s: float
    evidence_s: float
    cpu_s: float
    peak_mb: float
    exit_code: int
    verdicts: dict[str, int] = field(default_factory=dict)
    cpu_by_part: dict[str, float] = field(default_factory=dict)

    def per_org(self, value: float) -> float:
        return value / self.organisations


def bench_scale(
    root: Path,
    counts: Sequence[int],
    *,
    say: Say,
    parallel: int | None = None,
    scenarios_at_once: int | None = None,
) -> list[ScaleRow]:
    golive = str(Path(sys.executable).parent / "golive")
    rows: list[ScaleRow] = []
    work = Path(tempfile.mkdtemp(prefix="golive-bench-"))
    attest = _every_organisation_attested(root, work)
    for count in counts:
        say(f"— {count} organisation(s): starting a sandbox with {max(count, 2)}")
        began = time.monotonic()
        sandbox = start_sandbox(organisations=max(count, 2), log_path=work / f"sandbox-{count}.log")
        started = time.monotonic() - began
        try:
            argv = [golive, "smoke", "--attest", str(attest), "--keep", "0"]  # as make smoke: with its window
            argv += [f"--org={slug}" for slug in _slugs(sandbox, count)]
            argv += ["--parallel", str(parallel)] if parallel else []
            argv += ["--scenarios-at-once", str(scenarios_at_once)] if scenarios_at_once is not None else []
            env = {**_environ(), STATE_ENV: str(sandbox.state_dir)}
            log = work / f"smoke-{count}.log"
            measured = measure(argv, cwd=root, env=env, log=log, lasting=_roots(sandbox))
        finally:
            sandbox.stop()
        row = _scale_row(count, started, measured, log.read_text(encoding="utf-8", errors="replace"))
        rows.append(row)
        say(
            f"  {count}: {row.wall_s:.0f} s wall ({row.evidence_s:.0f} s evidence), {row.cpu_s:.0f} CPU s, "
            f"{row.peak_mb:.0f} MB peak, exit {row.exit_code}, verdicts {row.verdicts}; log {log}"
        )
        say(f"  CPU s by part: {row.cpu_by_part} (command: smoke, its pytest processes, browsers, Allure)")
    _report_scale(root, rows, say)
    return rows


def _environ() -> dict[str, str]:
    return dict(os.environ)


def _scale_row(count: int, started: float, measured: Measured, log: str) -> ScaleRow:
    evidence = re.search(r"evidence built in ([\d.]+)s", log)
    verdicts: dict[str, int] = {}
    for verdict in re.findall(r"^(GO|NO-GO)\s+\S+: ", log, flags=re.MULTILINE):
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    return ScaleRow(
        count,
        round(started, 1),
        round(measured.wall_s, 1),
        float(evidence.group(1)) if evidence else 0.0,
        round(measured.cpu_s, 1),
        round(measured.peak_bytes / 2**20, 1),
        measured.exit_code,
        verdicts,
        measured.cpu_by_part,
    )


def _report_scale(root: Path, rows: list[ScaleRow], say: Say) -> None:
    base = rows[0] if rows and rows[0].organisations == 1 else None
    say(
        "organisations | sandbox start s | wall s | wall/org s | vs 1 org | CPU s | CPU/org s | peak MB"
        " | MB/org"
    )
    for row in rows:
        ratio = f"{row.wall_s / base.wall_s:.1f}×" if base else "—"
        say(
            f"{row.organisations} | {row.sandbox_start_s:.0f} | {row.wall_s:.0f} | "
            f"{row.per_org(row.wall_s):.1f} | {ratio} | {row.cpu_s:.0f} | {row.per_org(row.cpu_s):.1f} | "
            f"{row.peak_mb:.0f} | {row.per_org(row.peak_mb):.0f}"
        )
    out = _out_file(root, "scale")
    out.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n", encoding="utf-8")
    say(f"written: {out}")


# --------------------------------------------------------------------------- latency


@dataclass
class LatencyRun:
    name: str
    workers: int
    wall_s: float
    cpu_s: float
    peak_mb: float
    exit_code: int
    passed: int
    failed: int
    scenarios_s: float  # the sum of the scenarios' durations
    longest_s: float
    longest: str
    longest_http_ms: float
    cpu_by_part: dict[str, float] = field(default_factory=dict)


def bench_latency(
    root: Path,
    *,
    say: Say,
    latency: str = DEFAULT_LATENCY,
    workers: int = 8,
    before_ref: str | None = None,
) -> list[LatencyRun]:
    work = Path(tempfile.mkdtemp(prefix="golive-bench-latency-"))
    plans: list[tuple[str, Path, int]] = []
    if before_ref:
        plans.append((f"before ({before_ref}), one at a time", _checkout(root, before_ref, work), 0))
    plans += [("one at a time", root, 0), (f"{workers} at once", root, workers)]
    say(f"sandbox with latency {latency}")
    sandbox = start_sandbox(latency=latency, log_path=work / "sandbox.log")
    runs: list[LatencyRun] = []
    try:
        env = {**_environ(), STATE_ENV: str(sandbox.state_dir)}
        for number, (name, project, n) in enumerate(plans):
            run_id = f"bench-latency-{number}"
            argv = [sys.executable, "-m", "pytest", "features", "-q", "-p", "no:randomly", "--color=no"]
            argv += [f"--org={PILOT}", "--run-id", run_id, "--reports-dir", str(work)]
            argv += ["-n", str(n)] if n else ["-p", "no:xdist"]
            say(f"— {name}")
            measured = measure(
                argv, cwd=project, env=env, log=work / f"{run_id}.log", lasting=_roots(sandbox)
            )
            runs.append(_latency_run(name, n, measured, work / run_id / "summary" / f"{PILOT}.json"))
            say(f"  {runs[-1].wall_s:.0f} s wall, {runs[-1].passed} passed, {runs[-1].failed} failed")
    finally:
        sandbox.stop()
    _report_latency(root, latency, runs, say)
    return runs


def _checkout(root: Path, ref: str, work: Path) -> Path:
    """The project as it was at `ref` (git archive), to run its suite as it was."""
    target = work / "before"
    target.mkdir()
    archive = work / "before.tar"
    done = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", "-o", str(archive), ref],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise ConfigError(
            f"--before-ref {ref}: git archive failed: {done.stderr.strip()}", setting="--before-ref"
        )
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


def _latency_run(name: str, workers: int, measured: Measured, summary_path: Path) -> LatencyRun:
    summary = RunSummary.read(summary_path) if summary_path.is_file() else None
    scenarios = list(summary.scenarios) if summary is not None else []
    longest = max(scenarios, key=lambda s: s.duration_s, default=None)
    counts = summary.counts() if summary is not None else {"passed": 0, "failed": 0}
    return LatencyRun(
        name,
        workers,
        round(measured.wall_s, 1),
        round(measured.cpu_s, 1),
        round(measured.peak_bytes / 2**20, 1),
        measured.exit_code,
        counts["passed"],
        counts["failed"],
        round(sum(s.duration_s for s in scenarios), 1),
        round(longest.duration_s, 2) if longest else 0.0,
        longest.scenario if longest else "",
        round(longest.http_ms, 1) if longest else 0.0,
        measured.cpu_by_part,
    )


def _report_latency(root: Path, latency: str, runs: list[LatencyRun], say: Say) -> None:
    current = next((r for r in runs if r.name == "one at a time"), None)
    critical = current.longest_s if current else 0.0
    if current is not None:
        say(
            f"critical path: {critical:.1f} s — the longest scenario run alone ({current.longest!r}; "
            f"{current.longest_http_ms / 1000:.1f} s of it in its own HTTP round trips)"
        )
    say("run | workers | wall s | × critical path | scenarios' sum s | CPU s | peak MB | passed/failed")
    for run in runs:
        times = f"{run.wall_s / critical:.1f}×" if critical else "—"
        say(
            f"{run.name} | {run.workers or 1} | {run.wall_s:.0f} | {times} | {run.scenarios_s:.0f} | "
            f"{run.cpu_s:.0f} | {run.peak_mb:.0f} | {run.passed}/{run.failed}"
        )
    out = _out_file(root, "latency")
    body: dict[str, Any] = {
        "latency": latency,
        "critical_path_s": critical,
        "runs": [asdict(r) for r in runs],
    }
    out.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    say(f"written: {out}")
