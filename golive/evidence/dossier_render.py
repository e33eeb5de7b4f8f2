"""The two faces of a :class:`~golive.evidence.dossier.Dossier`: ``dossier.md`` for the people
who sign the Go/No-Go, ``dossier.json`` (schema :data:`SCHEMA`) for tools."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from golive.evidence import api_conformance
from golive.evidence.dossier import SMOKE_TAG, VERIFICATION_QUERIES, Dossier, shorten

SCHEMA = "golive-dossier/1"
CHANNEL_SCREEN_ITEM = "2.3"  # the UI scenario showing the channel configuration per inbox carries it


# --------------------------------------------------------------------------- JSON


def to_json(dossier: Dossier) -> str:
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "organisation": dossier.organisation,
        "name": dossier.name,
        "environment": dossier.environment,
        "run_id": dossier.run_id,
        "verdict": dossier.verdict,
        "reasons": [r.as_dict() for r in dossier.reasons],
        "generated_at": dossier.generated_at.isoformat(),
        "signed_off": (
            {
                "by": dossier.signed_off_by,
                "at": dossier.signed_at.isoformat() if dossier.signed_at else None,
            }
            if dossier.signed_off_by
            else None
        ),
        "counts": dossier.counts(),
        "mandatory_counts": dossier.mandatory_counts(),
        "items": [i.as_dict() for i in dossier.items],
        "open_items": [i.item.id for i in dossier.open_items],
        "open_manual_items": [i.item.id for i in dossier.open_manual_items],
        "other_failures": [s.nodeid for s in dossier.other_failures],
        "scenarios": [s.as_dict() for s in dossier.scenarios],
        "sql": dossier.sql.as_dict(),
        "channel_configs": [dict(c) for c in dossier.channel_configs],
        "fingerprint": dict(dossier.fingerprint),
        "attestation_file": dict(dossier.attestation_file) if dossier.attestation_file else None,
        "files": dict(dossier.files),
        "leak_scan_secrets": list(dossier.leak_scan_secrets),
        "warnings": list(dossier.warnings),
        "monitoring": {
            "summary": dossier.monitoring,
            "reports": [dict(r) for r in dossier.monitoring_reports],
        }
        if dossier.monitoring is not None
        else None,
        "api_conformance": dict(dossier.api_conformance) if dossier.api_conformance else None,
        "screens": [
            {
                "scenario": s.label,
                "checklist": list(s.checklist_ids),
                "outcome": s.outcome,
                "screens": list(s.screens),
                "traces": list(s.traces),
            }
            for s in dossier.ui_scenarios
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"


# --------------------------------------------------------------------------- Markdown


def _cell(value: object) -> str:
    text = " ".join(str("" if value is None else value).split())
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _link(path: str | None, text: str | None = None) -> str:
    if not path:
        return "—"
    return f"[{text or path}]({path.replace(' ', '%20')})"


_OUTCOME_MARK = {"passed": "✅ passed", "failed": "❌ failed", "skipped": "⏭ not run"}
_STATUS_MARK = {
    "automated": "automated",
    "attested": "attested",
    "automated+attested": "automated + attested",
    "open": "**open**",
}


def render_markdown(dossier: Dossier) -> str:
    d = dossier
    mark = "✅ GO" if d.go else "❌ NO-GO"
    out: list[str] = [f"# Go/No-Go dossier — {d.name} (`{d.organisation}`)", ""]
    out += [f"**Verdict: {mark}**", ""]
    signed = (
        f"{d.signed_off_by}, {d.signed_at.isoformat() if d.signed_at else ''}"
        if d.signed_off_by
        else "not signed (pass --signed-off-by NAME)"
    )
    counts, mandatory = d.counts(), d.mandatory_counts()
    out += _table(
        ["", ""],
        [
            ("organisation", f"{d.name} ({d.organisation})"),
            ("environment", d.environment),
            ("run", d.run_id),
            ("generated", d.generated_at.isoformat()),
            ("signed off by", signed),
            (
                "scenarios",
                f"{counts['passed']} passed, {counts['failed']} failed, "
                f"{counts['skipped']} not run (of {counts['total']})",
            ),
            (
                "mandatory scenarios",
                f"{mandatory['passed']} passed, {mandatory['failed']} failed, "
                f"{mandatory['skipped']} not run (of {mandatory['total']})",
            ),
            (
                "attestation file",
                (f"{d.attestation_file['path']} (sha256 {str(d.attestation_file['sha256'])[:12]}…)")
                if d.attestation_file
                else "none",
            ),
        ],
    )
    out.append("")

    out += ["## Decision", ""]
    if d.go:
        watched = " no critical error in the window after the run," if d.monitoring is not None else ""
        out += [
            "GO: every mandatory scenario passed, the SQL checks are consistent, WhatsApp "
            f"did not regress,{watched} and every mandatory manual item is attested.",
            "",
        ]
    else:
        out += ["NO-GO, because:", ""]
        out += [
            f"- **{r.code}** — {_cell(r.message)}" + (f" (checklist {', '.join(r.items)})" if r.items else "")
            for r in d.reasons
        ]
        out.append("")

    out += ["## Checklist", ""]
    out += _table(
        ["id", "item", "evidence", "mandatory", "status", "result"],
        [
            (
                i.item.id,
                i.item.text,
                i.item.evidence,
                "yes" if i.mandatory else "",
                _STATUS_MARK.get(i.status, i.status),
                i.result,
            )
            for i in d.items
        ],
    )
    out.append("")

    out += ["## Open items", ""]
    if d.open_items:
        out += [
            f"- {i.item.id} {i.item.text} ({i.item.evidence})" + (" — **mandatory**" if i.mandatory else "")
            for i in d.open_items
        ]
    else:
        out.append("None: every item has automated or attested evidence.")
    manual_open = [i for i in d.open_manual_items if i not in d.open_items]
    if manual_open:
        out += ["", "Manual parts still unanswered (the automated part ran):", ""]
        out += [f"- {i.item.id} {i.item.text}" for i in manual_open]
    out.append("")

    out += ["## Attestations", ""]
    answered = [i for i in d.items if i.attestation is not None]
    if answered:
        out += _table(
            ["id", "answer", "by", "at", "what was seen", "mandatory"],
            [
                (
                    i.item.id,
                    i.attestation.answer or "—",
                    i.attestation.by or "—",
                    i.attestation.at.isoformat() if i.attestation.at else "—",
                    i.attestation.seen or "—",
                    "yes" if i.attestation.mandatory else "",
                )
                for i in answered
                if i.attestation is not None
            ],
        )
    else:
        out.append("No attestation applies to this organisation.")
    out.append("")

    out += ["## Scenarios", ""]
    out += _table(
        ["scenario", "checklist", "outcome", "s", "evidence", "message"],
        [
            (
                s.label,
                ", ".join(s.checklist_ids) + (" (smoke)" if SMOKE_TAG in s.tags else ""),
                _OUTCOME_MARK.get(s.outcome, s.outcome)
                + (" — known gap" if s.known_gap and s.outcome == "failed" else ""),
                f"{s.duration_s:.2f}",
                _link(s.evidence[0], "result") + (f" +{len(s.evidence) - 1}" if len(s.evidence) > 1 else "")
                if s.evidence
                else "—",
                shorten(s.message, 160),
            )
            for s in d.scenarios
        ],
    )
    if d.other_failures:
        out += [
            "",
            "Failed scenarios that are not mandatory (they do not decide the verdict): "
            + "; ".join(
                s.label + (" (known gap of the real CRM)" if s.known_gap else "") for s in d.other_failures
            ),
        ]
    out.append("")

    out += ["## SQL verification (crm-contract §6.4)", ""]
    if not d.sql.ran:
        out.append("Not run: the profile has no read-only database.")
    else:
        out += _table(
            ["query", "rows", "file"],
            [
                (
                    name,
                    len(d.sql.verification_queries.get(name, [])),
                    _link(d.files.get(f"sql:{name}")),
                )
                for name in VERIFICATION_QUERIES
            ],
        )
        out.append("")
        problems = {k: v for k, v in d.sql.consistency_problems.items() if v}
        if problems:
            out += [f"- consistency check **{k}**: {len(v)} row(s)" for k, v in problems.items()]
        else:
            out.append(
                "Consistency checks: nothing found (no duplicate link or identity, no "
                "identity of a deleted or foreign contact)."
            )
    out.append("")

    if d.monitoring is not None:
        out += ["## Monitoring after the run (crm-contract §6.2–§6.3)", ""]
        out.append(f"GO rule (≥ 30 min after the run without critical error): {_cell(d.monitoring)}")
        out.append("")
        if d.monitoring_reports:
            out += _table(
                ["window", "from", "observed to", "verdict", "critical", "file"],
                [
                    (
                        r.get("window"),
                        r.get("started_at"),
                        r.get("ended_at"),
                        r.get("verdict"),
                        ", ".join(r.get("critical") or []) or "none",
                        _link(d.files.get(f"monitor:{r.get('window')}")),
                    )
                    for r in d.monitoring_reports
                ],
            )
            notes = sorted({n for r in d.monitoring_reports for n in r.get("notes") or []})
            if notes:
                out += ["", *[f"- {_cell(n)}" for n in notes]]
        out.append("")

    if d.ui_scenarios:
        out += ["## Screens of the CRM (UI evidence)", ""]
        out += _table(
            ["scenario", "shows checklist", "outcome", "screenshots", "trace"],
            [
                (
                    s.label,
                    ", ".join(s.checklist_ids),
                    _OUTCOME_MARK.get(s.outcome, s.outcome),
                    " ".join(_link(f, f"screen {n}") for n, f in enumerate(s.screens, start=1)) or "—",
                    " ".join(_link(f, "trace") for f in s.traces) or "—",
                )
                for s in d.ui_scenarios
            ],
        )
        out.append("")

    out += ["## Active channel configuration per inbox", ""]
    channel_screens = [f for s in d.ui_scenarios if CHANNEL_SCREEN_ITEM in s.checklist_ids for f in s.screens]
    if channel_screens:
        out += [f"Screenshot of Configurações → Integrações: {_link(channel_screens[0])}", ""]
    if d.channel_configs:
        out += _table(
            ["inbox", "channel", "name", "status", "Chatwoot account"],
            [
                (
                    c.get("inbox_id"),
                    c.get("channel_type"),
                    c.get("name"),
                    c.get("status"),
                    c.get("chatwoot_account_id"),
                )
                for c in d.channel_configs
            ],
        )
    else:
        out.append("Not recorded by this run.")
    out.append("")

    out += api_conformance.markdown(d.api_conformance)
    out += ["## Environment fingerprint", ""]
    fp = d.fingerprint
    versions = fp.get("versions") if isinstance(fp.get("versions"), dict) else {}
    urls = [
        ("CRM", fp.get("crm_base_url")),
        ("Chatwoot", fp.get("chatwoot_base_url")),
        ("n8n", fp.get("n8n_base_url")),
    ]
    facts = [
        ("CRM version", (versions or {}).get("crm")),
        ("Chatwoot version", (versions or {}).get("chatwoot")),
        ("n8n version", (versions or {}).get("n8n")),
        ("profile sha256", fp.get("profile_sha256")),
        ("golive version", fp.get("golive_version")),
        ("git commit", fp.get("git_commit")),
    ]
    out += _table(
        ["", ""],
        [(k, v if v not in (None, "") else "not configured") for k, v in urls]
        + [(k, v if v not in (None, "") else "not readable") for k, v in facts],
    )
    workflows = [w for w in fp.get("workflows") or [] if isinstance(w, dict)]
    if workflows:
        out += ["", "n8n workflows:", ""]
        out += _table(
            ["id", "name", "versionId", "active"],
            [(w.get("id"), w.get("name"), w.get("versionId"), w.get("active")) for w in workflows],
        )
    out.append("")

    out += ["## Evidence files", ""]
    out += [
        f"- {kind}: {_link(path)}" if path else f"- {kind}: not available"
        for kind, path in d.files.items()
        if not kind.startswith(("sql:", "monitor:"))
    ]
    out.append("- MANIFEST.sha256: the sha256 of every file of this bundle (`sha256sum -c MANIFEST.sha256`)")
    out.append("")
    names = ", ".join(d.leak_scan_secrets) or "none were loaded"
    out += [
        "## Leak scan",
        "",
        f"Every file of the bundle (zip members and the HTML report's embedded files "
        f"included) is scanned for the values of: {names}. A hit deletes the bundle.",
        "",
    ]
    if d.warnings:
        out += ["## Warnings", ""]
        out += [f"- {_cell(w)}" for w in d.warnings]
        out.append("")
    return "\n".join(out)
