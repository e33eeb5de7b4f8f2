"""Run ids and the layout of reports/<run-id>/."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


def new_run_id() -> str:
    """UTC timestamp + a short random suffix: sortable, and unique across parallel jobs."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def git_commit(root: Path) -> str:
    """The commit golive ran from, `-dirty` when tracked files were changed ("unknown" outside git)."""
    try:
        commit = _git(root, "rev-parse", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}{'-dirty' if dirty else ''}"


def git_branch(root: Path) -> str:
    """The branch golive ran from ("detached" at a bare commit, "unknown" outside git)."""
    try:
        branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return "detached" if branch == "HEAD" else branch or "unknown"


@dataclass(frozen=True)
class RunDir:
    root: Path

    # Every top-level folder a golive run may hold: retention deletes a run folder only when it
    # holds nothing else (golive/evidence/run_shape.py), so a new one is named here.
    FOLDERS = (
        "allure-results",  # one result per scenario per organisation
        "sql",  # the runbook's verification queries, per organisation
        "exchanges",
        "summary",  # the typed run summary, per organisation
        "fingerprint",
        "logs",  # golive smoke's per-organisation logs
        "ledger",  # what the run created on the target (cleanup)
        "preflight",  # each organisation's live checks before the scenarios
        "monitor",  # the window after the run
        "evidence",  # dossier, offline report, bundle per organisation
        "runs",  # the kill matrix's sub-runs
        "api-check",  # Schemathesis on the CRM's public API, per organisation
    )

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def allure_results(self) -> Path:
        return self.root / "allure-results"

    @property
    def sql(self) -> Path:
        return self.root / "sql"

    @property
    def exchanges(self) -> Path:
        return self.root / "exchanges"

    def junit(self, organisations: list[str]) -> Path:
        suffix = f"-{organisations[0]}" if len(organisations) == 1 else ""
        return self.root / f"junit{suffix}.xml"

    def fingerprint(self, organisation: str) -> Path:
        return self.root / "fingerprint" / f"{organisation}.json"

    def summary(self, organisation: str) -> Path:
        return self.root / "summary" / f"{organisation}.json"

    def create(self) -> RunDir:
        for path in (self.allure_results, self.sql, self.exchanges, self.root / "summary"):
            path.mkdir(parents=True, exist_ok=True)
        return self
