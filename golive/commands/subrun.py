"""One `pytest features` child process: the single place a sub-run's command line is built.

`golive smoke`, the kill matrix and the project's own suite tests all run the scenarios this
way, so an option added to the plugin reaches every one of them at once.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from golive.evidence.run import RunDir


@dataclass(frozen=True)
class SubRun:
    root: Path  # the project root (features/ and orgs/ live here)
    orgs: Sequence[str]
    run_id: str
    reports_dir: Path | None = None  # default: <root>/reports
    pytest_args: Sequence[str] = field(default=())

    @property
    def run_dir(self) -> RunDir:
        return RunDir((self.reports_dir or self.root / "reports") / self.run_id)

    def argv(self) -> list[str]:
        reports = ["--reports-dir", str(self.reports_dir)] if self.reports_dir else []
        return [
            sys.executable,
            "-m",
            "pytest",
            "features",
            "-q",
            "-rfE",
            "--color=no",
            "--run-id",
            self.run_id,
            *reports,
            *[f"--org={slug}" for slug in self.orgs],
            *self.pytest_args,
        ]

    def run(self, *, env: Mapping[str, str], log: Path, timeout_s: float | None = None) -> int:
        """Run to completion with stdout and stderr in `log`; the exit code."""
        with log.open("wb") as out:
            return subprocess.call(
                self.argv(),
                cwd=self.root,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
            )
