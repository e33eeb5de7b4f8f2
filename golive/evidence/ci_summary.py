"""CI outputs of the evidence step: JUnit XML per organisation and a short job summary.

* :func:`junit_xml` — the run's JUnit test cases of one organisation (from
  ``junit-<org>.xml``, else filtered out of a multi-organisation ``junit.xml``, else
  rebuilt from the run summary) plus a ``golive.go-no-go`` suite whose single test
  case fails when the verdict is NO-GO, with the reasons as its text.
* :func:`render_ci_summary` — Markdown for a CI job summary (e.g. the file named by
  ``$GITHUB_STEP_SUMMARY``): one table row per organisation with its verdict,
  counts, open items, first reason and bundle path. :func:`write_ci_summary` writes
  it and appends it to the job summary file when the CI names one.
"""

from __future__ import annotations

import contextlib
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from golive.evidence.dossier import Dossier, Scenario, Verdict

if TYPE_CHECKING:
    from golive.evidence.build import EvidenceResult

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
VERDICT_SUITE = "golive.go-no-go"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# --------------------------------------------------------------------------- JUnit


def _xml_text(text: str) -> str:
    return _CONTROL_CHARS.sub("", text)


def junit_name(nodeid: str) -> tuple[str, str]:
    """(classname, name) pytest's JUnit writer uses for a node id."""
    head, bracket, params = nodeid.partition("[")
    parts = head.split("::")
    module = parts[0].removesuffix(".py").replace("/", ".")
    return ".".join([module, *parts[1:-1]]), parts[-1] + bracket + params


def _recount(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for tag, attr in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        suite.set(attr, str(sum(1 for c in cases if c.find(tag) is not None)))
    total = 0.0
    for case in cases:
        try:
            total += float(case.get("time") or 0)
        except ValueError:
            continue
    suite.set("time", f"{total:.3f}")


def _from_pytest(source: Path, wanted: set[tuple[str, str]] | None) -> list[ET.Element]:
    tree = ET.parse(source)  # a file pytest wrote for this run
    root = tree.getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    kept: list[ET.Element] = []
    for suite in suites:
        if wanted is not None:
            for case in list(suite.findall("testcase")):
                if (case.get("classname", ""), case.get("name", "")) not in wanted:
                    suite.remove(case)
            _recount(suite)
        kept.append(suite)
    return kept


def _from_summary(org: str, scenarios: Sequence[Scenario]) -> ET.Element:
    suite = ET.Element("testsuite", name=f"golive {org}")
    for scenario in scenarios:
        classname, name = junit_name(scenario.nodeid)
        case = ET.SubElement(
            suite, "testcase", classname=classname, name=name, time=f"{scenario.duration_s:.3f}"
        )
        if scenario.outcome == "failed":
            failure = ET.SubElement(case, "failure", message=_xml_text(scenario.message[:500]))
            failure.text = _xml_text(scenario.message)
        elif scenario.outcome == "skipped":
            ET.SubElement(case, "skipped", message=_xml_text(scenario.message[:500]))
    _recount(suite)
    return suite


def _verdict_suite(dossier: Dossier) -> ET.Element:
    suite = ET.Element("testsuite", name=VERDICT_SUITE)
    case = ET.SubElement(
        suite,
        "testcase",
        classname="golive.dossier",
        name=f"go-no-go[{dossier.organisation}]",
        time="0.000",
    )
    if not dossier.go:
        failure = ET.SubElement(case, "failure", message=f"NO-GO: {len(dossier.reasons)} reason(s)")
        failure.text = _xml_text("\n".join(f"{r.code}: {r.message}" for r in dossier.reasons))
    _recount(suite)
    return suite


def junit_xml(run_dir: Path, dossier: Dossier) -> bytes:
    """JUnit XML of one organisation, with the Go/No-Go verdict as a test case."""
    org = dossier.organisation
    root = ET.Element("testsuites", name=f"golive {org} run {dossier.run_id}")
    own, shared = run_dir / f"junit-{org}.xml", run_dir / "junit.xml"
    suites: list[ET.Element] = []
    try:
        if own.is_file():
            suites = _from_pytest(own, None)
        elif shared.is_file():
            suites = _from_pytest(shared, {junit_name(s.nodeid) for s in dossier.scenarios})
    except (ET.ParseError, OSError):
        suites = []
    if not suites:
        suites = [_from_summary(org, dossier.scenarios)]
    root.extend(suites)
    root.append(_verdict_suite(dossier))
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data


# --------------------------------------------------------------------------- job summary


@dataclass(frozen=True)
class CiRow:
    """One organisation's line of the job summary."""

    organisation: str
    verdict: Verdict | Literal["ERROR"]  # ERROR: the evidence could not be built
    counts: Mapping[str, int] = field(default_factory=dict)
    open_items: int = 0
    bundle: str | None = None
    reasons: tuple[str, ...] = ()

    @classmethod
    def from_result(cls, result: EvidenceResult, *, relative_to: Path | None = None) -> CiRow:
        bundle = result.bundle
        if relative_to is not None:
            with contextlib.suppress(ValueError):
                bundle = bundle.resolve().relative_to(relative_to.resolve())
        return cls(
            result.organisation,
            result.verdict,
            result.dossier.counts(),
            len(result.dossier.open_items),
            bundle.as_posix(),
            tuple(r.message for r in result.dossier.reasons),
        )

    @classmethod
    def from_error(cls, organisation: str, message: str) -> CiRow:
        return cls(organisation, "ERROR", reasons=(message,))


def _cell(text: str, limit: int = 140) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


_MARK = {"GO": "✅ GO", "NO-GO": "❌ NO-GO", "ERROR": "⚠️ ERROR"}


def render_ci_summary(rows: Sequence[CiRow], *, run_id: str = "") -> str:
    title = "### golive Go/No-Go" + (f" — run `{run_id}`" if run_id else "")
    lines = [
        title,
        "",
        "| organisation | verdict | passed | failed | not run | open items | why | bundle |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        why = ""
        if row.reasons:
            more = f" (+{len(row.reasons) - 1} more)" if len(row.reasons) > 1 else ""
            why = _cell(row.reasons[0]) + more
        lines.append(
            f"| `{row.organisation}` | {_MARK.get(row.verdict, row.verdict)} | "
            f"{row.counts.get('passed', '')} | {row.counts.get('failed', '')} | "
            f"{row.counts.get('skipped', '')} | {row.open_items if row.counts else ''} | {why} | "
            + (f"`{row.bundle}`" if row.bundle else "—")
            + " |"
        )
    go = sum(1 for r in rows if r.verdict == "GO")
    lines += [
        "",
        f"{go} of {len(rows)} organisation(s) GO; the dossier of each is `dossier.md` next to its bundle.",
    ]
    return "\n".join(lines) + "\n"


def write_ci_summary(path: Path, text: str, *, env: Mapping[str, str] | None = None) -> Path:
    """Write the summary to ``path`` and append it to ``$GITHUB_STEP_SUMMARY`` when set."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    target = (os.environ if env is None else env).get(STEP_SUMMARY_ENV)
    if target:
        with Path(target).open("a", encoding="utf-8") as fh:
            fh.write(text)
    return path
