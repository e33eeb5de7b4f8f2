"""What a Schemathesis run found, read from its NDJSON events, and which of it the allow-list
explains.

A *finding* is one failing check on one operation, with the status and the `error` of the answer
that failed it (Schemathesis' own reports keep no response body). Findings are grouped by
(operation, check, status, error). An allow-list entry (`fixtures/api-check/allow-list.toml`)
explains the findings it matches, and must say why; anything else is unexplained and fails the
check.
"""

from __future__ import annotations

import base64
import json
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from golive.errors import ConfigError

DEFAULT_ALLOW_LIST = Path("fixtures/api-check/allow-list.toml")


@dataclass(frozen=True)
class Finding:
    operation: str  # "POST /deals", or "Stateful tests"
    check: str  # Schemathesis' check name, e.g. positive_data_acceptance
    code: str  # its failure code, e.g. ST202
    title: str
    status: int | None
    error: str  # the answer's `error`, or a short excerpt of its body
    count: int = 1
    explained_by: str | None = None  # the allow-list entry's reason

    @property
    def key(self) -> tuple[str, str, int | None, str]:
        return (self.operation, self.check, self.status, self.error)

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "check": self.check,
            "code": self.code,
            "title": self.title,
            "status": self.status,
            "error": self.error,
            "count": self.count,
            "explained_by": self.explained_by,
        }


@dataclass(frozen=True)
class AllowEntry:
    operation: str
    check: str
    reason: str
    status: int | None = None
    errors: tuple[str, ...] = ()  # empty: any error
    targets: tuple[str, ...] = ("sandbox",)  # environments the entry applies to

    def matches(self, finding: Finding, environment: str) -> bool:
        return (
            environment in self.targets
            and self.operation == finding.operation
            and self.check == finding.check
            and (self.status is None or self.status == finding.status)
            and (not self.errors or finding.error in self.errors)
        )


def load_allow_list(path: Path) -> list[AllowEntry]:
    """The entries of an allow-list file; each must name an operation, a check and a reason."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no allow-list at {path}", setting="--allow-list") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not TOML ({exc})", setting="--allow-list") from None
    entries = []
    for n, raw in enumerate(data.get("allow", []), start=1):
        missing = [k for k in ("operation", "check", "reason") if not str(raw.get(k) or "").strip()]
        if missing:
            raise ConfigError(
                f"{path}: entry {n} lacks {', '.join(missing)} (every explained failure says why)",
                setting="--allow-list",
            )
        entries.append(
            AllowEntry(
                operation=raw["operation"],
                check=raw["check"],
                reason=" ".join(str(raw["reason"]).split()),
                status=raw.get("status"),
                errors=tuple(raw.get("errors", ())),
                targets=tuple(raw.get("environments", ("sandbox",))),
            )
        )
    return entries


def _body_error(response: dict[str, Any] | None) -> tuple[int | None, str]:
    if not response:
        return None, ""
    status = response.get("status_code")
    content = response.get("content") or {}
    raw = content.get("$base64")
    text = base64.b64decode(raw).decode("utf-8", "replace") if isinstance(raw, str) else ""
    try:
        body = json.loads(text)
    except ValueError:
        return status, " ".join(text.split())[:120]
    error = body.get("error") if isinstance(body, dict) else None
    return status, str(error) if error is not None else " ".join(text.split())[:120]


def read_findings(ndjson: Path) -> list[Finding]:
    """Every failing check of the run, grouped (count = how many test cases showed it)."""
    grouped: dict[tuple[str, str, int | None, str], Finding] = {}
    for line in ndjson.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder") or {}
        interactions = recorder.get("interactions") or {}
        for case_id, checks in (recorder.get("checks") or {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                failure = ((check.get("failure_info") or {}).get("failure")) or {}
                status, error = _body_error((interactions.get(case_id) or {}).get("response"))
                operation = failure.get("operation") or recorder.get("label") or "?"
                finding = Finding(
                    operation=str(operation),
                    check=str(check.get("name")),
                    code=str(failure.get("code") or ""),
                    title=str(failure.get("title") or ""),
                    status=status,
                    error=error,
                )
                known = grouped.get(finding.key)
                grouped[finding.key] = (
                    finding if known is None else Finding(**{**known.as_dict(), "count": known.count + 1})
                )
    return sorted(grouped.values(), key=lambda f: (f.operation, f.check, f.status or 0, f.error))


def explain(findings: Iterable[Finding], allow: Sequence[AllowEntry], environment: str) -> list[Finding]:
    out = []
    for finding in findings:
        entry = next((e for e in allow if e.matches(finding, environment)), None)
        out.append(
            finding if entry is None else Finding(**{**finding.as_dict(), "explained_by": entry.reason})
        )
    return out


@dataclass(frozen=True)
class OperationResult:
    """One operation's verdict for golive's JUnit: failed only by unexplained findings."""

    operation: str
    findings: tuple[Finding, ...] = field(default=())

    @property
    def unexplained(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.explained_by is None)


def junit(organisation: str, operations: Sequence[str], findings: Sequence[Finding]) -> bytes:
    """One test case per operation tested (and the stateful phase): a failure lists its
    unexplained findings, explained ones go to system-out with their reason."""
    by_op: dict[str, list[Finding]] = {op: [] for op in operations}
    for finding in findings:
        by_op.setdefault(finding.operation, []).append(finding)
    suite = ET.Element("testsuite", name=f"api-check {organisation}", tests=str(len(by_op)))
    failures = 0
    for operation, found in by_op.items():
        case = ET.SubElement(suite, "testcase", classname=f"api-check.{organisation}", name=operation)
        bad = [f for f in found if f.explained_by is None]
        if bad:
            failures += 1
            failure = ET.SubElement(case, "failure", message=f"{len(bad)} unexplained finding(s)")
            failure.text = "\n".join(_line(f) for f in bad)
        explained = [f for f in found if f.explained_by is not None]
        if explained:
            ET.SubElement(case, "system-out").text = "\n".join(
                f"{_line(f)} — explained: {f.explained_by}" for f in explained
            )
    suite.set("failures", str(failures))
    body: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def _line(f: Finding) -> str:
    status = f" → {f.status}" if f.status is not None else ""
    error = f" ({f.error})" if f.error else ""
    return f"{f.code} {f.title}: {f.check}{status}{error} ×{f.count}"
