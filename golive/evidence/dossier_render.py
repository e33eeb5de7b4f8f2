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
        "crm_organisation": dossier.crm_organisation,
        "signed_off": (
            {
                "by": dossier.signed_off_by,
                "at": dossier.signed_at.isoformat() if dossier.signed_at else None,
                "key": dossier.signer_key,
                "signed": dossier.signer_key is not None,
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


def _evidence_links(files: Sequence[str]) -> str:
    """The scenario's page in the offline report first, then its raw Allure result."""
    if not files:
        return "—"
    pages = [f for f in files if "#" in f]
    raw = [f for f in files if "#" not in f]
    links = [_link(p, "report") for p in pages[:1]] + [_link(r, "result") for r in raw[:1]]
    extra = len(raw) - 1
    return " · ".join(links) + (f" +{extra}" if extra > 0 else "")


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
    crm = d.crm_organisation
    title = crm["name"] if crm else d.name
    out: list[str] = [f"# Go/No-Go dossier — {title} (`{d.organisation}`)", ""]
    out += [f"**Verdict: {mark}**", ""]
    when = d.signed_at.isoformat() if d.signed_at else ""
    if d.signed_off_by and d.signer_key:
        signed = f"{d.signed_off_by} (Ed25519 key {d.signer_key}), {when}; signature: MANIFEST.sha256.sig"
    elif d.signed_off_by:
        signed = f"{d.signed_off_by} — a name only, NOT signed (sign with --sign-key KEY)"
    else:
        signed = "not signed (golive evidence --sign-key KEY)"
    counts, mandatory = d.counts(), d.mandatory_counts()
    attested = sum(1 for s in d.scenarios if s.mandatory and s.attested)
    out += _table(
        ["", ""],
        [
            (
                "CRM organisation",
                f"{crm['name']} ({crm['id']}), as the CRM's /me names the API key's organisation"
                if crm
                else "not read (the profile has no CRM API key)",
            ),
            ("profile", f"{d.name} ({d.organisation})"),
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
                f"{mandatory['skipped'] - attested} not run, {attested} attested in place "
                f"(of {mandatory['total']})",
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
            "GO: every mandatory scenario passed (or, where this target cannot run it, a person "
            "attested it), the SQL checks are consistent, WhatsApp did not regress,"
            f"{watched} and every mandatory manual item is attested.",
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

    cannot_run = [s for s in d.scenarios if s.outcome == "skipped" and s.attest]
    if cannot_run:
        out += ["## Scenarios this target cannot run (attested by a person instead)", ""]
        out += _table(
            ["scenario", "why, and what to attest", "answer", "by", "at", "what was seen"],
            [
                (
                    s.key,
                    s.attest,
                    s.attestation.answer if s.attestation else "**not answered**",
                    s.attestation.by if s.attestation else "—",
                    s.attestation.at.isoformat() if s.attestation else "—",
                    s.attestation.seen if s.attestation else "—",
                )
                for s in cannot_run
            ],
        )
        out += [
            "",
            'Answer each in the attestation file: `[[scenario]]` with `scenario = "<the name above>"`, '
            "`answer`, `by`, `at`, `seen`, `organisations`.",
            "",
        ]

    out += ["## Scenarios", ""]
    out += _table(
        ["scenario", "checklist", "outcome", "s", "evidence", "message"],
        [
            (
                s.label,
                ", ".join(s.checklist_ids) + (" (smoke)" if SMOKE_TAG in s.tags else ""),
                _OUTCOME_MARK.get(s.outcome, s.outcome)
                + (" — known gap" if s.known_gap and s.outcome == "failed" else "")
                + (" — configuration problem" if s.configuration_problem else "")
                + (f" — attested by {s.attestation.by}" if s.attested and s.attestation else ""),
                f"{s.duration_s:.2f}",
                _evidence_links(s.evidence),
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
    deployment = fp.get("crm_deployment") if isinstance(fp.get("crm_deployment"), dict) else {}
    facts = [
        ("CRM organisation", f"{crm['name']} ({crm['id']})" if crm else None),
        ("CRM version", (versions or {}).get("crm")),
        ("CRM deployment", ", ".join(f"{k}={v}" for k, v in (deployment or {}).items()) or None),
        ("Chatwoot version", (versions or {}).get("chatwoot")),
        ("n8n version", (versions or {}).get("n8n")),
        ("profile sha256", fp.get("profile_sha256")),
        ("golive version", fp.get("golive_version")),
        ("git commit", fp.get("git_commit")),
        ("git branch", fp.get("git_branch")),
    ]
    out += _table(
        ["", ""],
        [(k, v if v not in (None, "") else "not configured") for k, v in urls]
        + [(k, v if v not in (None, "") else "not readable") for k, v in facts],
    )
    workflows = [w for w in fp.get("workflows") or [] if isinstance(w, dict)]
    if workflows:
        out += ["", "The organisation's n8n flow(s), live:", ""]
        out += _table(
            ["id", "name", "versionId", "active", "updated"],
            [
                (w.get("id"), w.get("name"), w.get("versionId"), w.get("active"), w.get("updatedAt") or "—")
                for w in workflows
            ],
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
