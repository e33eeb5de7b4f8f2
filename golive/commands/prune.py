"""Report retention: which folders under reports/ are golive's runs, which to keep, which to delete.

A folder is deleted only when it is a golive run: named like a run id (optionally with
`-kill-matrix`), a real directory (never a symlink), holding only what golive writes there.
`reports/.history` (the Allure and overview trends) and anything else are never touched.

A run in progress carries a marker file naming its process; it is never pruned while that
process lives. A run that holds no result (aborted before any scenario finished, or stopped by a
configuration error) is a stray: `golive smoke` removes its own, and `golive prune` removes
any other once its marker's process is gone or it has not changed for a grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from golive.errors import ConfigError
from golive.evidence.run_shape import RUN_NAME_RE, foreign_entries, has_results

KEEP_ENV = "GOLIVE_KEEP_RUNS"
DEFAULT_KEEP = 20
MARKER = ".golive-run"
STRAY_GRACE_S = 15 * 60  # a markerless folder younger than this may be a `pytest features` still running


def keep_default(env: dict[str, str] | None = None) -> int:
    """How many runs `golive smoke` keeps: $GOLIVE_KEEP_RUNS, else DEFAULT_KEEP (0 = keep all)."""
    raw = (env if env is not None else os.environ).get(KEEP_ENV, "").strip()
    if not raw:
        return DEFAULT_KEEP
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"{KEEP_ENV}={raw!r} is not a number of runs (0 keeps every run)", setting=KEEP_ENV)
    return value


def _last_change(folder: Path) -> float:
    newest = folder.stat().st_mtime
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            newest = max(newest, path.lstat().st_mtime)
    return newest


# --------------------------------------------------------------------------- in progress


def _marker_owner(folder: Path) -> tuple[str, int] | None:
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        return str(data["host"]), int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def in_progress(folder: Path) -> bool:
    """True while the process named by the folder's marker runs (on this host; another host's
    marker is trusted: its process cannot be checked from here)."""
    owner = _marker_owner(folder)
    if owner is None:
        return False
    host, pid = owner
    return host != socket.gethostname() or _alive(pid)


@contextlib.contextmanager
def running(folder: Path, *, on_discard: Callable[[Path], None] | None = None) -> Iterator[None]:
    """Mark `folder` as a run in progress for the block; remove the folder if it ends holding
    no result (a configuration error, Ctrl-C before any scenario finished), after telling
    `on_discard` (which may show what its logs said)."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / MARKER
    marker.write_text(
        json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}),
        encoding="utf-8",
    )
    try:
        yield
    finally:
        marker.unlink(missing_ok=True)
        if not has_results(folder) and not foreign_entries(folder):
            if on_discard is not None:
                on_discard(folder)
            shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------- prune


@dataclass(frozen=True)
class PrunePlan:
    delete: tuple[Path, ...]  # old runs beyond --keep, and strays
    strays: tuple[Path, ...]  # the part of `delete` that holds no result
    kept: tuple[Path, ...]
    busy: tuple[Path, ...]  # in progress: left alone
    refused: tuple[tuple[Path, str], ...]  # named like a run but not golive-shaped: why


def plan_prune(reports: Path, *, keep: int, now: float | None = None) -> PrunePlan:
    """What `prune` would do; `keep` newest runs with results are kept (0 = keep all)."""
    if keep < 0:
        raise ValueError("keep must be 0 or more")
    now = time.time() if now is None else now
    runs: list[Path] = []
    strays: list[Path] = []
    busy: list[Path] = []
    refused: list[tuple[Path, str]] = []
    candidates = sorted(reports.iterdir()) if reports.is_dir() else []
    for folder in candidates:
        if not RUN_NAME_RE.match(folder.name) or folder.name == ".history":
            continue
        if folder.is_symlink() or not folder.is_dir():
            refused.append((folder, "a symlink or not a folder"))
            continue
        foreign = foreign_entries(folder)
        if foreign:
            refused.append((folder, f"holds entries golive does not write: {', '.join(foreign[:5])}"))
            continue
        if in_progress(folder):
            busy.append(folder)
        elif has_results(folder):
            runs.append(folder)
        elif (folder / MARKER).exists() or now - _last_change(folder) > STRAY_GRACE_S:
            strays.append(folder)  # its process is gone, or nothing has written to it for a while
        else:
            busy.append(folder)  # maybe a `pytest features` session that has not finished yet
    old = runs[:-keep] if keep and len(runs) > keep else []
    kept = [r for r in runs if r not in old]
    return PrunePlan(tuple(old + strays), tuple(strays), tuple(kept), tuple(busy), tuple(refused))


def prune(reports: Path, *, keep: int, dry_run: bool = False) -> PrunePlan:
    plan = plan_prune(reports, keep=keep)
    if not dry_run:
        for folder in plan.delete:
            delete_run(folder)
    return plan


def delete_run(folder: Path) -> None:
    """Delete one golive run folder, re-checking its shape first (never a symlink)."""
    if folder.is_symlink() or not RUN_NAME_RE.match(folder.name) or foreign_entries(folder):
        raise ValueError(f"{folder} is not a golive run folder; not deleting it")
    shutil.rmtree(folder)


def describe(plan: PrunePlan, *, dry_run: bool, relative_to: Path | None = None) -> Sequence[str]:
    def name(path: Path) -> str:
        if relative_to is not None:
            with contextlib.suppress(ValueError):
                return path.relative_to(relative_to).as_posix()
        return str(path)

    verb = "would delete" if dry_run else "deleted"
    lines = [f"{verb} {name(p)}" + (" (stray: no result)" if p in plan.strays else "") for p in plan.delete]
    lines += [f"left alone {name(p)}: in progress" for p in plan.busy]
    lines += [f"left alone {name(p)}: {why}" for p, why in plan.refused]
    lines.append(f"kept {len(plan.kept)} run(s); {verb} {len(plan.delete)}")
    return lines


def prune_after_run(reports: Path, *, keep: int, say: Callable[[str], None]) -> None:
    """The default cap at the end of `golive smoke`: says only what it deleted or refused."""
    try:
        plan = prune(reports, keep=keep)
    except OSError as exc:  # retention must never turn a finished run into a failure
        say(f"retention: could not prune {reports} ({exc})")
        return
    if plan.delete:
        say(f"retention: kept the newest {keep} run(s), deleted {len(plan.delete)} older or stray folder(s)")
    for path, why in plan.refused:
        say(f"retention: left {path} alone: {why}")
