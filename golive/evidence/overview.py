"""The cross-organisation overview: one row per organisation (its newest run), with the verdict,
the failing scenarios, the reasons, a trend of earlier runs and links to the organisation's
offline report and dossier. A static HTML page with inline CSS: it loads nothing, runs no
script, and opens from a CI artifact or a file share as it is.

Pure: rows and history in, text out. Collecting runs and copying files is `golive merge`'s job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from html import escape
from typing import Any, Literal, get_args

from golive.evidence.ci_summary import CiRow, render_ci_summary

Status = Literal["GO", "NO-GO", "NO DOSSIER", "MISSING"]
STATUSES: tuple[Status, ...] = get_args(Status)
_CSS_CLASS: dict[Status, str] = {"GO": "go", "NO-GO": "nogo", "NO DOSSIER": "other", "MISSING": "other"}
TREND_LENGTH = 14  # runs shown per organisation


@dataclass(frozen=True)
class Failure:
    label: str  # "<feature>: <scenario>"
    message: str


@dataclass(frozen=True)
class HistoryEntry:
    """One organisation's run, as the trend remembers it."""

    organisation: str
    run_id: str
    status: Status
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryEntry:
        status = str(data.get("status"))
        return cls(
            organisation=str(data["organisation"]),
            run_id=str(data["run_id"]),
            status=status if status in STATUSES else "MISSING",
            passed=int(data.get("passed") or 0),
            failed=int(data.get("failed") or 0),
            skipped=int(data.get("skipped") or 0),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


@dataclass(frozen=True)
class OverviewRow:
    organisation: str
    name: str
    environment: str
    run_id: str
    status: Status
    counts: Mapping[str, int] = field(default_factory=dict)  # passed / failed / skipped
    failures: tuple[Failure, ...] = ()
    reasons: tuple[str, ...] = ()
    links: Mapping[str, str] = field(default_factory=dict)  # label -> path relative to the index
    source: str = ""  # where the run was found (an artifact folder)

    @property
    def go(self) -> bool:
        return self.status == "GO"

    def history_entry(self) -> HistoryEntry:
        c = self.counts
        return HistoryEntry(
            self.organisation,
            self.run_id,
            self.status,
            c.get("passed", 0),
            c.get("failed", 0),
            c.get("skipped", 0),
        )

    def ci_row(self) -> CiRow:
        verdict = self.status if self.status in ("GO", "NO-GO") else "ERROR"
        reasons = self.reasons or tuple(f"{f.label}: {f.message}" for f in self.failures)
        if self.status == "MISSING":
            reasons = ("no artifact of this organisation was found",)
        return CiRow(
            self.organisation,
            verdict,
            dict(self.counts),
            0,
            self.links.get("bundle"),
            reasons,
        )


def ci_summary(rows: Sequence[OverviewRow], *, title: str) -> str:
    """The job summary of the merge: golive's per-run table under the overview's own title."""
    table = render_ci_summary([r.ci_row() for r in rows]).split("\n", 1)[1]
    return f"### {title}\n{table}"


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1d2433}
h1{font-size:1.4rem;margin:0 0 .2rem}p.meta{color:#5a6478;margin:0 0 1.2rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e3e7ef;padding:.45rem .6rem;
text-align:left;vertical-align:top}th{background:#f4f6fa;font-weight:600}
.v{font-weight:700;white-space:nowrap;border-radius:4px;padding:.1rem .45rem}
.go{background:#dff5e3;color:#11642a}.nogo{background:#fde2e1;color:#9b1c1c}
.other{background:#fff1d6;color:#7a4b00}
.t{display:inline-block;width:.8rem;height:.8rem;margin-right:2px;border-radius:2px}
.t.go{background:#2f9e44}.t.nogo{background:#d64545}.t.other{background:#e0a100}
ul{margin:.2rem 0;padding-left:1.1rem}li{margin:.1rem 0}.msg{color:#5a6478}
.counts{white-space:nowrap}a{color:#1f5fbf}.summary{margin:0 0 1rem;font-size:1.05rem}
"""


def _trend(entries: Sequence[HistoryEntry]) -> str:
    cells = [
        f'<span class="t {_CSS_CLASS[e.status]}" title="{escape(e.run_id)}: {escape(e.status)}, '
        f'{e.passed} passed, {e.failed} failed, {e.skipped} not run"></span>'
        for e in entries[-TREND_LENGTH:]
    ]
    streak = 0
    for e in reversed(entries):
        if e.status != entries[-1].status:
            break
        streak += 1
    tail = f" {escape(entries[-1].status)} for {streak} run(s)" if entries else ""
    return "".join(cells) + f'<span class="msg">{tail}</span>'


def _problems(row: OverviewRow) -> str:
    items = [
        f"<li>✗ {escape(f.label)}"
        + (f' <span class="msg">— {escape(_short(f.message))}</span>' if f.message else "")
        + "</li>"
        for f in row.failures
    ]
    failing = {f.label for f in row.failures}
    items += [
        f'<li class="msg">{escape(_short(reason))}</li>'
        for reason in row.reasons
        if not any(label in reason for label in failing)
    ]
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _short(text: str, limit: int = 220) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _run_label(row: OverviewRow) -> str:
    return "no artifact found" if row.status == "MISSING" else f"run {escape(row.run_id or '—')}"


def _links(row: OverviewRow) -> str:
    return " · ".join(f'<a href="{escape(path)}">{escape(label)}</a>' for label, path in row.links.items())


def render_index(
    rows: Sequence[OverviewRow],
    history: Mapping[str, Sequence[HistoryEntry]],
    *,
    title: str,
    generated_at: str,
) -> str:
    """The overview page: every organisation's verdict, failures, trend and links."""
    go = sum(1 for r in rows if r.go)
    body = []
    for row in rows:
        c = row.counts
        counts = (
            f"{c.get('passed', 0)} passed, {c.get('failed', 0)} failed, {c.get('skipped', 0)} not run"
            if c
            else "—"
        )
        body.append(
            "<tr>"
            f"<td><strong>{escape(row.organisation)}</strong><br>"
            f'<span class="msg">{escape(row.name)} · {escape(row.environment)}</span></td>'
            f'<td><span class="v {_CSS_CLASS[row.status]}">{escape(row.status)}</span></td>'
            f'<td class="counts">{counts}</td>'
            f"<td>{_problems(row)}</td>"
            f"<td>{_trend(history.get(row.organisation, ()))}</td>"
            f'<td>{_links(row)}<br><span class="msg">{_run_label(row)}</span></td>'
            "</tr>"
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f'<p class="meta">generated {escape(generated_at)} · {len(rows)} organisation(s)</p>'
        f'<p class="summary"><strong>{go} of {len(rows)}</strong> organisation(s) GO</p>'
        "<table><thead><tr><th>organisation</th><th>verdict</th><th>scenarios</th>"
        "<th>failing scenarios and reasons</th><th>trend (oldest → newest)</th><th>evidence</th>"
        f"</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>\n"
    )
