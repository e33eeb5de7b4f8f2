"""One organisation's share of a run's Allure results, and which result proves which scenario.

The suite writes one ``allure-results/`` folder per run, every organisation's results side by
side; each organisation's evidence gets only its own results, containers and attachments.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from golive.evidence.dossier import Scenario


@dataclass(frozen=True)
class AllureResult:
    uuid: str
    name: str
    feature: str  # feature file stem, from fullName
    parameters: tuple[str, ...]  # example values (organisation excluded)
    files: tuple[str, ...]  # result file first, then its attachments


def _attachment_sources(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for attachment in node.get("attachments") or []:
            if isinstance(attachment, dict) and isinstance(attachment.get("source"), str):
                found.add(attachment["source"])
        for value in node.values():
            if isinstance(value, dict | list):
                found |= _attachment_sources(value)
    elif isinstance(node, list):
        for value in node:
            found |= _attachment_sources(value)
    return found


def _safe_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..")


def _label(data: Mapping[str, Any], name: str) -> str | None:
    for label in data.get("labels") or []:
        if isinstance(label, dict) and label.get("name") == name:
            return str(label.get("value"))
    return None


def split_allure_results(
    source: Path, dest: Path, organisation: str, other_organisations: Collection[str] = ()
) -> list[AllureResult]:
    """Copy this organisation's results, containers and attachments from ``source``.

    A result belongs to the organisation by its ``organisation`` label; a container
    when one of its children does. ``environment.properties`` keeps the run-wide keys
    and this organisation's, never another organisation's.
    """
    dest.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return []
    results: list[AllureResult] = []
    uuids: set[str] = set()
    to_copy: set[str] = set()
    for path in sorted(source.glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or _label(data, "organisation") != organisation:
            continue
        attachments = sorted(a for a in _attachment_sources(data) if _safe_name(a))
        to_copy.add(path.name)
        to_copy.update(attachments)
        uuids.add(str(data.get("uuid")))
        feature = str(data.get("fullName") or "").split(":", 1)[0]
        parameters = tuple(
            str(p.get("value", "")).strip("'\"")
            for p in data.get("parameters") or []
            if isinstance(p, dict) and p.get("name") != "organisation"
        )
        results.append(
            AllureResult(
                str(data.get("uuid")),
                str(data.get("name") or ""),
                Path(feature).stem,
                parameters,
                (path.name, *attachments),
            )
        )
    for path in sorted(source.glob("*-container.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and uuids & {str(c) for c in data.get("children") or []}:
            to_copy.add(path.name)
            to_copy.update(a for a in _attachment_sources(data) if _safe_name(a))
    for name in sorted(to_copy):
        if (source / name).is_file():
            shutil.copyfile(source / name, dest / name)
    for name in ("categories.json", "executor.json"):
        if (source / name).is_file():
            shutil.copyfile(source / name, dest / name)
    env_file = source / "environment.properties"
    if env_file.is_file():
        others = {o for o in other_organisations if o != organisation}
        kept = [
            line
            for line in env_file.read_text(encoding="utf-8").splitlines()
            if line.split("=", 1)[0].split(".", 1)[0] not in others
        ]
        (dest / "environment.properties").write_text("\n".join(kept) + "\n", encoding="utf-8")
    return results


def match_evidence(
    scenarios: Sequence[Scenario], results: Sequence[AllureResult], prefix: str = "allure-results"
) -> dict[str, list[str]]:
    """nodeid -> bundle paths of the Allure result (and attachments) of that scenario."""
    by_name: dict[str, list[AllureResult]] = {}
    for result in results:
        by_name.setdefault(result.name, []).append(result)
    links: dict[str, list[str]] = {}
    for scenario in scenarios:
        candidates = by_name.get(scenario.scenario, [])
        same_feature = [r for r in candidates if r.feature == scenario.feature]
        candidates = same_feature or candidates
        if len(candidates) > 1:
            example = scenario.example
            narrowed = [r for r in candidates if all(p in example for p in r.parameters)]
            candidates = narrowed or candidates
        links[scenario.nodeid] = [f"{prefix}/{f}" for r in candidates for f in r.files]
    return links
