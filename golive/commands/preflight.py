"""`golive preflight`, and the preflight `golive smoke` runs before it starts any scenario.

The checks themselves are golive.runtime.preflight (the pytest plugin runs the same ones);
this module loads the organisations (attaching to, or starting, the sandbox when they are
sandbox organisations) and turns the reports into console lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from golive.errors import ConfigError, GoliveError
from golive.runtime.preflight import Problem, Report, run_preflight
from golive.runtime.registry import Targets, sandbox_slugs


@dataclass(frozen=True)
class Preflight:
    reports: dict[str, Report]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.reports.values())

    def lines(self) -> list[str]:
        return [line for report in self.reports.values() for line in report.lines()]


def unique(slugs: Sequence[str]) -> list[str]:
    """`--org a --org a` is one organisation, run once."""
    return list(dict.fromkeys(slugs))


def preflight_all(targets: Targets, slugs: Sequence[str]) -> Preflight:
    """Every organisation's preflight; a profile that does not load is its one problem."""
    reports: dict[str, Report] = {}
    for slug in unique(slugs):
        try:
            org = targets.organisation(slug)
        except GoliveError as exc:
            report = Report(slug)
            report.problems.append(Problem(getattr(exc, "setting", ""), str(exc)))
            reports[slug] = report
            continue
        report = reports[slug] = run_preflight(org)
        if report.identity is not None:
            targets.identities[slug] = report.identity
    return Preflight(reports)


def describe(report: Report) -> list[str]:
    """What preflight found for one organisation, for people."""
    who = report.identity
    head = f"{'✓' if report.ok else '✗'} {report.organisation}"
    if who is not None:
        head += f": CRM organisation {who.organization_name} ({who.organization_id})"
    lines = [head]
    lines += [f"    {name}: {found}" for name, found in report.checks.items()]
    lines += [f"    note: {note}" for note in report.notes]
    return lines


def run_preflight_command(
    *, root: Path, slugs: Sequence[str], env: Mapping[str, str], say: Callable[[str], None]
) -> Preflight:
    """`golive preflight`: check, print, and leave no sandbox behind."""
    chosen = unique(slugs) or sandbox_slugs(root / "orgs")
    if not chosen:
        raise ConfigError("no organisation selected: pass --org SLUG", setting="--org")
    targets = Targets(orgs_dir=root / "orgs", run_id="preflight", env=env)
    try:
        result = preflight_all(targets, chosen)
    finally:
        targets.close()
    for report in result.reports.values():
        for line in describe(report):
            say(line)
    return result
