"""The run-level files Allure reads from its results folder."""

from __future__ import annotations

import fcntl
import json
import os
import platform
from collections.abc import Mapping
from pathlib import Path

from golive import __version__

# First match wins. A failure caused by the target's configuration (golive.errors.ConfigError,
# an unreachable target) is not a product defect: it has its own category, before the rollout
# checks. `[\s\S]*` rather than `.*`: Allure 2 matches the whole (multi-line) message, Allure 3
# searches it, and both read this form the same way.
CATEGORIES = [
    {
        "name": "Configuration problems (not product defects)",
        "messageRegex": (
            r"[\s\S]*(ConfigError|TargetUnreachable|cannot reach the target|no answer within|"
            r"target unreachable|missing setting|invalid setting)[\s\S]*"
        ),
        "matchedStatuses": ["failed", "broken"],
    },
    {
        "name": "Known gaps of the real CRM",
        "messageRegex": r"[\s\S]*(known gap|crm-contract §7)[\s\S]*",
        "matchedStatuses": ["failed"],
    },
    {"name": "Product defects (rollout checks failed)", "matchedStatuses": ["failed"]},
    {"name": "Suite errors", "matchedStatuses": ["broken"]},
]


def write_environment(results: Path, values: Mapping[str, str]) -> None:
    """Merge `values` into environment.properties: one process per organisation may share
    the results folder, so each adds its keys under a lock instead of overwriting."""
    results.mkdir(parents=True, exist_ok=True)
    target = results / "environment.properties"
    with (results.parent / ".environment.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged: dict[str, str] = {}
        if target.is_file():
            for line in target.read_text(encoding="utf-8").splitlines():
                key, sep, value = line.partition("=")
                if sep:
                    merged[key] = value
        merged.update({key: str(value).replace("\n", " ") for key, value in values.items()})
        lines = [f"{key}={value}" for key, value in sorted(merged.items())]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (results / "categories.json").write_text(json.dumps(CATEGORIES, indent=2), encoding="utf-8")


def write_executor(results: Path, run_id: str) -> None:
    ci_url = os.environ.get("CI_JOB_URL") or os.environ.get("GITHUB_SERVER_URL", "")
    executor = {
        "name": "golive",
        "type": "golive",
        "buildName": f"golive {__version__} run {run_id}",
        "buildOrder": run_id,
        "reportName": f"golive go-live evidence {run_id}",
        "buildUrl": ci_url,
        "host": platform.node(),
    }
    (results / "executor.json").write_text(json.dumps(executor, indent=2), encoding="utf-8")
