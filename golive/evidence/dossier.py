"""The Go/No-Go dossier of one organisation: pure functions from a run's files to a verdict.

Inputs are the plain data a run leaves (``summary/<org>.json``, ``sql/<org>.json``,
``fingerprint/<org>.json``) and the parsed attestation file; nothing here reads or
writes files. :func:`build_dossier` applies the runbook's rules (crm-contract §6.3):

* **mandatory scenarios** – every scenario tagged with an item of
  :data:`golive.evidence.checklist.MANDATORY`, and every ``@smoke`` scenario – must pass; a
  skipped one is *not run*, not a pass; a failed one tagged ``@known_gap`` is reported
  as a known gap of the real CRM; a mandatory item with no scenario at all is *not
  proven*;
* **SQL checks consistent**: the run's consistency checks found nothing (duplicate
  conversation links, duplicate identities, identities of a deleted/foreign contact),
  and the verification queries' rows show no duplicate either; no SQL evidence at all
  is a reason of its own (*SQL checks not run*);
* **WhatsApp did not regress**: every scenario tagged ``@checklist-6.2`` or
  ``@checklist-3.4`` passed;
* **every mandatory manual item is attested** (answered "yes" or "n/a") in the
  attestation file; without an attestation file nothing manual is answered.

GO only when no reason is left. :func:`render_markdown` and :func:`to_json` give the
two faces of the same :class:`Dossier`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from golive.errors import EvidenceError
from golive.evidence import checklist
from golive.evidence.attestations import Attestation, AttestationFile, attestable
from golive.evidence.summary import OUTCOMES, Outcome, RunSummary

SCHEMA = "golive-dossier/1"
GO = "GO"
NO_GO = "NO-GO"
SMOKE_TAG = "smoke"
KNOWN_GAP_TAG = "known_gap"
SMOKE_ITEM = "7.3"  # "smoke tests run per organisation": proven by the @smoke scenarios
WHATSAPP_ITEMS = ("6.2", "3.4")
SQL_ITEMS = ("2.2", "3.1", "3.2", "3.3", "3.4")  # seeds README: "SQL consistent"
VERIFICATION_QUERIES = ("1_conversation_links", "2_contact_identities", "3_identity_resolution_log")

# consistency check name (golive.clients.sql.CONSISTENCY_CHECKS) -> reason code, items
_SQL_CHECKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "duplicate conversation links": ("sql_duplicate_links", ("2.2", "6.4")),
    "duplicate identities": ("sql_duplicate_identities", ("2.2", "3.1")),
}
_SQL_OTHER = ("sql_inconsistent", ("2.2", "3.1"))
_MESSAGE_LIMIT = 300


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Scenario:
    """One scenario run (one Scenario Outline example) of the organisation."""

    nodeid: str
    scenario: str
    feature: str
    tags: tuple[str, ...]
    outcome: Outcome
    duration_s: float
    message: str
    evidence: tuple[str, ...] = ()  # files of the bundle (Allure result + attachments)

    @property
    def checklist_ids(self) -> tuple[str, ...]:
        ids = [checklist.BY_TAG[t].id for t in self.tags if t in checklist.BY_TAG]
        return tuple(sorted(ids, key=_item_key))

    @property
    def mandatory(self) -> bool:
        return SMOKE_TAG in self.tags or any(i in checklist.MANDATORY for i in self.checklist_ids)

    @property
    def known_gap(self) -> bool:
        return KNOWN_GAP_TAG in self.tags

    @property
    def example(self) -> str:
        """The test id in brackets (organisation + example values), if any."""
        match = re.search(r"\[(.*)\]$", self.nodeid)
        return match.group(1) if match else ""

    @property
    def label(self) -> str:
        example = self.example
        return f"{self.feature}: {self.scenario}" + (f" [{example}]" if example else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "label": self.label,
            "scenario": self.scenario,
            "feature": self.feature,
            "tags": list(self.tags),
            "checklist": list(self.checklist_ids),
            "mandatory": self.mandatory,
            "outcome": self.outcome,
            "duration_s": self.duration_s,
            "message": self.message,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True)
class Reason:
    """Why the verdict is NO-GO. ``code`` is stable (tests, CI); ``message`` is for people."""

    code: str
    message: str
    items: tuple[str, ...] = ()
    scenario: str | None = None  # nodeid

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "items": list(self.items),
            "scenario": self.scenario,
        }


@dataclass(frozen=True)
class ItemStatus:
    """One checklist item: automated (scenarios), attested (a person), both, or open."""

    item: checklist.Item
    status: str  # automated | attested | automated+attested | open
    mandatory: bool
    scenarios: tuple[Scenario, ...]
    attestation: Attestation | None
    sql: str | None  # consistent | inconsistent | not run; None when SQL does not prove it

    @property
    def outcome_counts(self) -> dict[str, int]:
        counts = Counter(s.outcome for s in self.scenarios)
        return {o: counts.get(o, 0) for o in OUTCOMES}

    @property
    def result(self) -> str:
        parts: list[str] = []
        if self.scenarios:
            counts = self.outcome_counts
            if counts["failed"] == 0 and counts["skipped"] == 0:
                parts.append(f"{counts['passed']} passed")
            else:
                detail = [f"{counts['failed']} failed"] if counts["failed"] else []
                detail += [f"{counts['skipped']} not run"] if counts["skipped"] else []
                parts.append(f"{', '.join(detail)} of {len(self.scenarios)}")
        if self.sql is not None:
            parts.append(f"SQL {self.sql}")
        att = self.attestation
        if att is not None and att.answered:
            when = att.at.isoformat() if att.at else "?"
            parts.append(f"answered {att.answer} by {att.by} at {when}")
        elif att is not None:
            parts.append("mandatory attestation not answered")
        return "; ".join(parts) or "no evidence"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.item.id,
            "section": self.item.section,
            "text": self.item.text,
            "text_pt": self.item.text_pt,
            "evidence_kind": self.item.evidence,
            "mandatory": self.mandatory,
            "status": self.status,
            "result": self.result,
            "scenarios": [
                {
                    "nodeid": s.nodeid,
                    "label": s.label,
                    "outcome": s.outcome,
                    "evidence": list(s.evidence),
                }
                for s in self.scenarios
            ],
            "outcome_counts": self.outcome_counts,
            "sql": self.sql,
            "attestation": self.attestation.as_dict() if self.attestation else None,
        }


@dataclass(frozen=True)
class SqlEvidence:
    ran: bool
    verification_queries: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    consistency_problems: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "verification_queries": {k: list(v) for k, v in self.verification_queries.items()},
            "consistency_problems": {k: list(v) for k, v in self.consistency_problems.items()},
        }


@dataclass(frozen=True)
class Dossier:
    organisation: str
    name: str
    environment: str
    run_id: str
    verdict: str
    reasons: tuple[Reason, ...]
    items: tuple[ItemStatus, ...]
    scenarios: tuple[Scenario, ...]
    sql: SqlEvidence
    fingerprint: Mapping[str, Any]
    channel_configs: tuple[Mapping[str, Any], ...]
    attestation_file: Mapping[str, Any] | None
    generated_at: datetime
    signed_off_by: str | None = None
    signed_at: datetime | None = None
    files: Mapping[str, str | None] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    leak_scan_secrets: tuple[str, ...] = ()  # names (never values) the bundle is scanned for

    @property
    def go(self) -> bool:
        return self.verdict == GO

    def counts(self) -> dict[str, int]:
        counts = Counter(s.outcome for s in self.scenarios)
        return {**{o: counts.get(o, 0) for o in OUTCOMES}, "total": len(self.scenarios)}

    def mandatory_counts(self) -> dict[str, int]:
        mandatory = [s for s in self.scenarios if s.mandatory]
        counts = Counter(s.outcome for s in mandatory)
        return {**{o: counts.get(o, 0) for o in OUTCOMES}, "total": len(mandatory)}

    @property
    def open_items(self) -> tuple[ItemStatus, ...]:
        return tuple(i for i in self.items if i.status == "open")

    @property
    def open_manual_items(self) -> tuple[ItemStatus, ...]:
        """Items a person has to answer that nobody answered (for this organisation)."""
        return tuple(
            i
            for i in self.items
            if "attest" in i.item.evidence.split("+")
            and (i.attestation is None or not i.attestation.answered)
        )

    @property
    def other_failures(self) -> tuple[Scenario, ...]:
        """Failed scenarios that do not decide the verdict (not mandatory)."""
        return tuple(s for s in self.scenarios if s.outcome == "failed" and not s.mandatory)


# --------------------------------------------------------------------------- inputs


def scenarios_from_summary(summary: RunSummary) -> list[Scenario]:
    """The dossier's view of a run summary's scenarios."""
    return [
        Scenario(
            nodeid=s.nodeid,
            scenario=s.scenario,
            feature=s.feature,
            tags=s.tags,
            outcome=s.outcome,
            duration_s=s.duration_s,
            message=s.message,
        )
        for s in summary.scenarios
    ]


def sql_from_json(data: Mapping[str, Any] | None, *, source: str = "sql") -> SqlEvidence:
    if data is None:
        return SqlEvidence(ran=False)
    queries = data.get("verification_queries", {})
    problems = data.get("consistency_problems", {})
    if not isinstance(queries, dict) or not isinstance(problems, dict):
        raise EvidenceError(f"{source}: expected 'verification_queries' and 'consistency_problems' objects")
    for name, rows in [*queries.items(), *problems.items()]:
        if not isinstance(rows, list):
            raise EvidenceError(f"{source}: {name!r} is not a list of rows")
    return SqlEvidence(True, queries, problems)


def sanitise_url(url: str) -> str:
    """The URL without credentials, query string or fragment (which may carry tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL withheld)"
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def sanitise_fingerprint(value: Any) -> Any:
    """A copy of the fingerprint with every URL reduced by :func:`sanitise_url`."""
    if isinstance(value, Mapping):
        return {str(k): sanitise_fingerprint(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitise_fingerprint(v) for v in value]
    if isinstance(value, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", value):
        return sanitise_url(value)
    return value


# --------------------------------------------------------------------------- rules


def build_dossier(
    summary: RunSummary,
    *,
    sql: SqlEvidence,
    fingerprint: Mapping[str, Any] | None,
    attestations: AttestationFile | None,
    generated_at: datetime,
    signed_off_by: str | None = None,
    evidence: Mapping[str, Sequence[str]] | None = None,
    files: Mapping[str, str | None] | None = None,
    warnings: Sequence[str] = (),
    leak_scan_secrets: Iterable[str] = (),
    organisation: str | None = None,
) -> Dossier:
    """Apply the GO/NO-GO rules to one organisation's run. Pure: no I/O."""
    org = organisation or summary.organisation
    links = evidence or {}
    scenarios = [replace(s, evidence=tuple(links.get(s.nodeid, ()))) for s in scenarios_from_summary(summary)]
    answers = attestations.for_organisation(org) if attestations is not None else {}
    notes = list(warnings)

    unknown = sorted(
        {t for s in scenarios for t in s.tags if t.startswith("checklist-") and t not in checklist.BY_TAG}
    )
    if unknown:
        notes.append(f"tags naming no checklist item: {', '.join(unknown)}")

    reasons: list[Reason] = []
    reasons += _scenario_reasons(scenarios)
    reasons += _whatsapp_reasons(scenarios)
    sql_reasons = _sql_reasons(sql)
    reasons += sql_reasons
    reasons += _attestation_reasons(org, attestations, answers)
    if attestations is not None and not any(a.mandatory for a in answers.values()):
        notes.append(f"the attestation file marks no manual item mandatory for {org}")

    inconsistent = {i for r in sql_reasons if r.code != "sql_not_run" for i in r.items}
    items = tuple(
        _item_status(item, scenarios, answers.get(item.id), sql, inconsistent) for item in checklist.ITEMS
    )
    fp = sanitise_fingerprint(dict(fingerprint or {}))
    configs = fp.get("channel_configs") if isinstance(fp, dict) else None
    return Dossier(
        organisation=org,
        name=summary.name,
        environment=summary.environment
        if summary.environment != "unknown"
        else str(fp.get("environment") or "unknown"),
        run_id=summary.run_id,
        verdict=NO_GO if reasons else GO,
        reasons=tuple(reasons),
        items=items,
        scenarios=tuple(scenarios),
        sql=sql,
        fingerprint=fp,
        channel_configs=tuple(c for c in (configs or []) if isinstance(c, dict)),
        attestation_file=attestations.as_dict() if attestations is not None else None,
        generated_at=generated_at,
        signed_off_by=signed_off_by,
        signed_at=generated_at if signed_off_by else None,
        files=dict(files or {}),
        warnings=tuple(notes),
        leak_scan_secrets=tuple(sorted(set(leak_scan_secrets))),
    )


def _item_key(item_id: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in item_id.split("."))


def _short(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _items_scenarios(item_id: str, scenarios: Sequence[Scenario]) -> list[Scenario]:
    tag = f"checklist-{item_id}"
    return [s for s in scenarios if tag in s.tags or (item_id == SMOKE_ITEM and SMOKE_TAG in s.tags)]


def _scenario_reasons(scenarios: Sequence[Scenario]) -> list[Reason]:
    if not scenarios:
        return [
            Reason(
                "no_scenarios",
                "the run recorded no scenario for this organisation",
                tuple(sorted(checklist.MANDATORY, key=_item_key)),
            )
        ]
    reasons: list[Reason] = []
    for s in scenarios:
        if not s.mandatory or s.outcome == "passed":
            continue
        why = f": {_short(s.message)}" if s.message else ""
        if s.outcome == "failed" and s.known_gap:
            reasons.append(
                Reason(
                    "known_gap",
                    f"known gap of the real CRM: {s.label}{why}",
                    s.checklist_ids,
                    s.nodeid,
                )
            )
        elif s.outcome == "failed":
            reasons.append(
                Reason(
                    "scenario_failed",
                    f"mandatory scenario failed: {s.label}{why}",
                    s.checklist_ids,
                    s.nodeid,
                )
            )
        else:
            reasons.append(
                Reason(
                    "scenario_not_run",
                    f"mandatory scenario not run (skipped): {s.label}{why}",
                    s.checklist_ids,
                    s.nodeid,
                )
            )
    for item_id in sorted(checklist.MANDATORY, key=_item_key):
        if not _items_scenarios(item_id, scenarios):
            item = checklist.BY_ID[item_id]
            reasons.append(
                Reason(
                    "item_not_proven",
                    f"mandatory checklist item {item_id} ({item.text}) not proven: no scenario "
                    f"tagged @checklist-{item_id} ran",
                    (item_id,),
                )
            )
    return reasons


def _whatsapp_reasons(scenarios: Sequence[Scenario]) -> list[Reason]:
    tags = {f"checklist-{i}" for i in WHATSAPP_ITEMS}
    wa = [s for s in scenarios if tags & set(s.tags)]
    failed = [s for s in wa if s.outcome == "failed"]
    skipped = [s for s in wa if s.outcome == "skipped"]
    if failed:
        return [
            Reason(
                "whatsapp_regression",
                f"WhatsApp regressed: {'; '.join(s.label for s in failed)}",
                WHATSAPP_ITEMS,
            )
        ]
    if not wa:
        return [
            Reason(
                "whatsapp_not_proven",
                "WhatsApp non-regression not proven: no scenario tagged @checklist-6.2 or @checklist-3.4 ran",
                WHATSAPP_ITEMS,
            )
        ]
    if skipped:
        return [
            Reason(
                "whatsapp_not_proven",
                f"WhatsApp non-regression not proven, not run: {'; '.join(s.label for s in skipped)}",
                WHATSAPP_ITEMS,
            )
        ]
    return []


def _duplicates(rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> list[str]:
    counts = Counter(tuple(str(r.get(k)) for k in key) for r in rows if isinstance(r, Mapping))
    return ["/".join(k) for k, n in counts.items() if n > 1]


def _sql_reasons(sql: SqlEvidence) -> list[Reason]:
    if not sql.ran:
        return [
            Reason(
                "sql_not_run",
                "SQL checks not run: the profile has no read-only database "
                "(database.dsn_env), so links and identities cannot be proven consistent",
                SQL_ITEMS,
            )
        ]
    reasons: list[Reason] = []
    codes: set[str] = set()
    for name, rows in sorted(sql.consistency_problems.items()):
        if not rows:
            continue
        code, items = _SQL_CHECKS.get(name, _SQL_OTHER)
        codes.add(code)
        example = json.dumps(rows[0], sort_keys=True, default=str)
        reasons.append(
            Reason(
                code,
                f"SQL check '{name}' found {len(rows)} row(s), e.g. {_short(example, 160)}",
                items,
            )
        )
    queries = sql.verification_queries
    links = _duplicates(queries.get("1_conversation_links", []), ("chatwoot_conversation_id",))
    if links and "sql_duplicate_links" not in codes:
        reasons.append(
            Reason(
                "sql_duplicate_links",
                f"SQL query 1 shows more than one link for conversation(s) {', '.join(links[:5])}",
                ("2.2", "6.4"),
            )
        )
    identities = _duplicates(queries.get("2_contact_identities", []), ("source", "external_id"))
    if identities and "sql_duplicate_identities" not in codes:
        reasons.append(
            Reason(
                "sql_duplicate_identities",
                f"SQL query 2 shows the same identity more than once: {', '.join(identities[:5])}",
                ("2.2", "3.1"),
            )
        )
    for name in VERIFICATION_QUERIES:
        if name not in queries:
            reasons.append(
                Reason(
                    "sql_incomplete",
                    f"SQL verification query {name} has no result in the run",
                    SQL_ITEMS,
                )
            )
    return reasons


def _attestation_reasons(
    org: str, attestations: AttestationFile | None, answers: Mapping[str, Attestation]
) -> list[Reason]:
    if attestations is None:
        return [
            Reason(
                "no_attestation_file",
                "no attestation file: the manual checklist items are not answered (pass --attest FILE)",
            )
        ]
    reasons: list[Reason] = []
    for item_id in sorted(answers, key=_item_key):
        att = answers[item_id]
        if not att.mandatory:
            continue
        text = checklist.BY_ID[item_id].text
        if not att.answered:
            reasons.append(
                Reason(
                    "attestation_missing",
                    f"mandatory manual item {item_id} ({text}) is not attested "
                    f"for {org} ({attestations.path}, [[item]] #{att.index})",
                    (item_id,),
                )
            )
        elif not att.accepted:
            reasons.append(
                Reason(
                    "attestation_negative",
                    f"mandatory manual item {item_id} ({text}) answered "
                    f"'{att.answer}' by {att.by}: {_short(att.seen or '', 160)}",
                    (item_id,),
                )
            )
    return reasons


def _item_status(
    item: checklist.Item,
    scenarios: Sequence[Scenario],
    att: Attestation | None,
    sql: SqlEvidence,
    inconsistent: set[str],
) -> ItemStatus:
    own = tuple(_items_scenarios(item.id, scenarios))
    sql_state: str | None = None
    if item.id in SQL_ITEMS or item.id in inconsistent:
        if not sql.ran:
            sql_state = "not run" if item.id in SQL_ITEMS else None
        else:
            sql_state = "inconsistent" if item.id in inconsistent else "consistent"
    answered = att is not None and att.answered and attestable(item)
    status = "+".join(p for p, on in (("automated", bool(own)), ("attested", answered)) if on)
    mandatory = item.mandatory or (att is not None and att.mandatory)
    return ItemStatus(item, status or "open", mandatory, own, att, sql_state)


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
        out += [
            "GO: every mandatory scenario passed, the SQL checks are consistent, WhatsApp "
            "did not regress and every mandatory manual item is attested.",
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
                _short(s.message, 160),
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

    out += ["## Active channel configuration per inbox", ""]
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
        if not kind.startswith("sql:")
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
