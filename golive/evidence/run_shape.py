"""What a golive run folder looks like from the outside, so that retention can tell golive's
folders from anything else under reports/ and a run that holds no result from one that does."""

from __future__ import annotations

import re
from pathlib import Path

from golive.evidence.run import RunDir

RUN_NAME_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{4}(-kill-matrix)?$")
# What golive writes at the top of a run folder (a run, its evidence, a kill matrix).
GOLIVE_DIRS = frozenset(RunDir.FOLDERS)
GOLIVE_FILES = re.compile(
    r"^(junit(-[A-Za-z0-9._-]+)?\.xml|kill-matrix\.(md|json)|[A-Za-z0-9._-]+\.log|\.golive-[a-z-]+|\.[a-z-]+\.lock)$"
)
# A ledger counts: it lists records a run created on a target, which cleanup needs.
RESULT_MARKERS = ("summary/*.json", "kill-matrix.json", "ledger/*.jsonl", "api-check/*/summary.json")


def foreign_entries(folder: Path) -> list[str]:
    """Top-level entries of `folder` golive does not write (empty: the folder is golive-shaped)."""
    foreign = []
    for entry in sorted(folder.iterdir()):
        ours = (entry.is_dir() and entry.name in GOLIVE_DIRS) or (
            entry.is_file() and bool(GOLIVE_FILES.match(entry.name))
        )
        if entry.is_symlink() or not ours:
            foreign.append(entry.name)
    return foreign


def has_results(folder: Path) -> bool:
    """True once a scenario's outcome (or a kill matrix) was written into the folder."""
    return any(next(folder.glob(pattern), None) is not None for pattern in RESULT_MARKERS)


def is_run_folder(folder: Path) -> bool:
    """Named like a run id, a real directory, holding only what golive writes."""
    return (
        bool(RUN_NAME_RE.match(folder.name))
        and folder.is_dir()
        and not folder.is_symlink()
        and not foreign_entries(folder)
    )
