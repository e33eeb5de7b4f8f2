"""`golive monitor`: the window after a run, for one organisation, written where the dossier
reads it (`reports/<run>/monitor/<org>--<window>.json`).

The window starts when the organisation's run ended (its run summary was written). Asked after
the window's end, the monitor judges it at once from what the target kept; asked earlier, it
watches until the end (the 72 h pilot window too), printing progress. Ctrl-C leaves a report of
what was seen, marked incomplete.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from golive.config import parse_duration
from golive.errors import ConfigError
from golive.evidence.monitoring import MonitorReport
from golive.monitoring.watch import Watched, watch
from golive.runtime.registry import Targets
from golive.runtime.sandbox_process import STATE_ENV, attach
from golive.secrets import REDACTOR, Secret

MAX_WINDOW_S = 7 * 24 * 3600  # bounded: the longest window the runbook watches is the 7-day pilot exit


def window_seconds(text: str) -> float:
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise ConfigError(f"--window: {exc}", setting="--window") from None
    if seconds > MAX_WINDOW_S:
        raise ConfigError("--window: at most 7d (the pilot exit window)", setting="--window")
    return seconds


def run_end(run_dir: Path, organisation: str) -> datetime:
    """When the organisation's run ended: its run summary is the last file the run writes."""
    summary = run_dir / "summary" / f"{organisation}.json"
    if not summary.is_file():
        raise ConfigError(
            f"no run of '{organisation}' in {run_dir} ({summary} is missing): run the suite for it first",
            setting="--run",
            where=str(run_dir),
        )
    return datetime.fromtimestamp(summary.stat().st_mtime, UTC)


def targets_for(root: Path, run_id: str, env: Mapping[str, str]) -> Targets:
    """The run's targets; a sandbox only while it runs (its state folder in the env)."""
    targets = Targets(orgs_dir=root / "orgs", run_id=run_id, env=env)
    if STATE_ENV in env:
        targets.sandbox = attach(Path(env[STATE_ENV]))
        REDACTOR.register_all(Secret(k, v) for k, v in targets.sandbox.secrets.items())
    return targets


def run_monitor(
    *,
    root: Path,
    run_dir: Path,
    organisation: str,
    window: str,
    interval: str | None = None,
    start: datetime | None = None,
    env: Mapping[str, str] | None = None,
    say: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> tuple[MonitorReport, Path]:
    env = dict(os.environ if env is None else env)
    window_s = window_seconds(window)
    every = parse_duration(interval) if interval else None
    anchor = start or run_end(run_dir, organisation)
    targets = targets_for(root, run_dir.name, env)
    try:
        if targets.is_sandbox(organisation) and targets.sandbox is None:
            raise ConfigError(
                f"'{organisation}' is a sandbox organisation: its sandbox lives only as long as its run, "
                f"so `golive smoke` watches its window itself (or set {STATE_ENV} to a running sandbox)",
                setting="--org",
            )
        clients = targets.clients(organisation)
        if clients.sql is None:
            raise ConfigError(
                f"'{organisation}': the monitor reads the resolution log and the conversation links, "
                "it needs the read-only database (database.dsn_env)",
                setting="database.dsn_env",
                where=clients.organisation.origin,
            )
        say(
            f"monitoring {organisation} for {window} from {anchor.isoformat(timespec='seconds')} "
            f"(run {run_dir.name})"
        )
        report = watch(
            Watched(clients.organisation, clients.sql, clients.n8n),
            run_id=run_dir.name,
            window_s=window_s,
            window_label=window.strip().replace(" ", ""),
            start=anchor,
            interval_s=every,
            say=say,
            stop=stop,
        )
    finally:
        targets.sandbox = None  # attached, not started here: never stop it
        targets.close()
    path = report.write(run_dir)
    return report, path


def watch_organisations(
    *,
    root: Path,
    organisations: list[str],
    window: str,
    run: str | None,
    interval: str | None,
    say: Callable[[str], None] = print,
) -> int:
    """Every organisation at once (one thread each); Ctrl-C stops them all, each leaving its
    report. 0 when every window ended without critical error, 1 on one, 130 when interrupted."""
    from golive.evidence.build import find_run
    from golive.evidence.monitoring import describe

    window_seconds(window)  # a bad window or a missing run stops here, before anything runs
    run_dir = find_run(root / "reports", run)
    for slug in organisations:
        run_end(run_dir, slug)
    stop = threading.Event()
    results: dict[str, MonitorReport | BaseException] = {}

    done = {slug: threading.Event() for slug in organisations}

    def one(slug: str) -> None:
        try:
            results[slug] = run_monitor(
                root=root,
                run_dir=run_dir,
                organisation=slug,
                window=window,
                interval=interval,
                say=say,
                stop=stop,
            )[0]
        except BaseException as exc:  # reported by the main thread
            results[slug] = exc
        finally:
            done[slug].set()

    # Ctrl-C sets `stop` instead of raising: a KeyboardInterrupt may land anywhere in the main
    # thread (even between two waits), and every watcher must still end its window and write.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: stop.set()) if main else None
    try:
        for slug in organisations:
            threading.Thread(target=one, args=(slug,), name=f"monitor-{slug}", daemon=True).start()
        for event in done.values():
            event.wait()
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    codes = []
    for slug in organisations:
        outcome = results.get(slug)
        if isinstance(outcome, ConfigError):
            raise outcome
        if isinstance(outcome, BaseException) or outcome is None:
            say(f"ERROR {slug}: {outcome}")
            codes.append(2)
            continue
        say(f"{outcome.verdict.upper():10} {slug}: {describe(outcome)}")
        codes.append({"ok": 0, "critical": 1}.get(outcome.verdict, 130))
    say(f"reports: {run_dir / 'monitor'}")
    return max(codes, default=0)


def monitor_after_run(
    *,
    root: Path,
    run_dir: Path,
    organisations: list[str],
    env: Mapping[str, str],
    say: Callable[[str], None] = print,
    window: str | None = None,
    start: datetime | None = None,
) -> dict[str, MonitorReport]:
    """What `golive smoke` does after the suite: each organisation's window, as its profile sets it
    (`[monitor] window`; the sandbox sets a short one) or as `window` overrides it, all at once.
    An organisation without a window is told how to watch it; its dossier stays NO-GO till then."""
    targets = targets_for(root, run_dir.name, env)
    try:
        windows = {slug: window or targets.organisation(slug).monitor_window for slug in organisations}
    finally:
        targets.sandbox = None
        targets.close()
    reports: dict[str, MonitorReport] = {}
    for slug, chosen in windows.items():
        if not chosen:
            say(
                f"monitoring {slug}: no [monitor] window in its profile; after this run, "
                f"`golive monitor --org {slug} --window 30m`, then `golive evidence` (GO needs it)"
            )

    def one(slug: str, chosen: str) -> None:
        try:
            reports[slug] = run_monitor(
                root=root, run_dir=run_dir, organisation=slug, window=chosen, env=env, say=say, start=start
            )[0]
        except Exception as exc:  # one organisation's problem never stops the others
            say(f"monitoring {slug} failed, its dossier will say it was not watched: {exc}")

    threads = [
        threading.Thread(target=one, args=(slug, chosen), name=f"monitor-{slug}")
        for slug, chosen in windows.items()
        if chosen
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return reports
