"""The Go/No-Go rules: one organisation's run in, a :class:`~golive.evidence.dossier.Dossier` out.

:func:`build_dossier` applies the runbook's rules (crm-contract §6.3):

* **mandatory scenarios** – every scenario tagged with an item of
  :data:`golive.evidence.checklist.MANDATORY`, and every ``@smoke`` scenario – must pass; a
  skipped one is *not run*, not a pass, unless the target cannot run it (no outage switch, no
  second organisation) and a person attested it (``[[scenario]]`` in the attestation file); a
  failed one tagged ``@known_gap`` is reported as a known gap of the real CRM, one that failed
  on the target's configuration as a configuration problem; a mandatory item with no scenario
  at all is *not proven*;
* **SQL checks consistent**: the run's consistency checks found nothing (duplicate
  conversation links, duplicate identities, identities of a deleted/foreign contact),
  and the verification queries' rows show no duplicate either; no SQL evidence at all
  is a reason of its own (*SQL checks not run*);
* **WhatsApp did not regress**: every scenario tagged ``@checklist-6.2`` or
  ``@checklist-3.4`` passed;
* **every mandatory manual item is attested** (answered "yes" or "n/a") in the
  attestation file; without an attestation file nothing manual is answered;
* **no critical monitoring error for ≥ 30 min after the run** (§6.3), when monitoring reports
  are given (``build_evidence`` always gives them, possibly none): the rule of
  :func:`golive.evidence.monitoring.go_rule`.

GO only when no reason is left. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from golive.evidence import checklist
from golive.evidence.attestations import Attestation, AttestationFile, attestable
from golive.evidence.dossier import (
    GO,
    NO_GO,
    SMOKE_TAG,
    VERIFICATION_QUERIES,
    Dossier,
    ItemStatus,
    Reason,
    Scenario,
    SqlEvidence,
    item_key,
    sanitise_fingerprint,
    scenarios_from_summary,
    shorten,
)
from golive.evidence.monitoring import PILOT_WINDOW_S, MonitorReport, describe, go_rule
from golive.evidence.summary import RunSummary

SMOKE_ITEM = "7.3"  # "smoke tests run per organisation": proven by the @smoke scenarios
WHATSAPP_ITEMS = ("6.2", "3.4")
SQL_ITEMS = ("2.2", "3.1", "3.2", "3.3", "3.4")  # seeds README: "SQL consistent"

# consistency check name (golive.clients.sql.CONSISTENCY_CHECKS) -> reason code, items
_SQL_CHECKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "duplicate conversation links": ("sql_duplicate_links", ("2.2", "6.4")),
    "duplicate identities": ("sql_duplicate_identities", ("2.2", "3.1")),
}
_SQL_OTHER = ("sql_inconsistent", ("2.2", "3.1"))
MONITORING_ITEMS = ("6.1", "9.1")  # what a monitoring reason concerns: the pilot's monitoring, its alerts
THRESHOLDS_ITEM = "9.1"  # alert thresholds: evaluated by every monitoring window
PILOT_MONITORING_ITEM = "7.4"  # 72 h of monitoring per activated client: a 72 h window


def build_dossier(
    summary: RunSummary,
    *,
    sql: SqlEvidence,
    fingerprint: Mapping[str, Any] | None,
    attestations: AttestationFile | None,
    generated_at: datetime,
    signed_off_by: str | None = None,
    signer_key: str | None = None,
    evidence: Mapping[str, Sequence[str]] | None = None,
    files: Mapping[str, str | None] | None = None,
    warnings: Sequence[str] = (),
    leak_scan_secrets: Iterable[str] = (),
    organisation: str | None = None,
    monitoring: Sequence[MonitorReport] | None = None,
) -> Dossier:
    """Apply the GO/NO-GO rules to one organisation's run. Pure: no I/O."""
    org = organisation or summary.organisation
    links = evidence or {}
    answers = attestations.for_organisation(org) if attestations is not None else {}
    scenario_answers = attestations.for_scenarios(org) if attestations is not None else {}
    scenarios = [
        replace(s, evidence=tuple(links.get(s.nodeid, ())), attestation=scenario_answers.get(s.key))
        for s in scenarios_from_summary(summary)
    ]
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
    reasons += _contradicted_attestations(scenarios, answers)
    rule = None
    if monitoring is not None:
        rule = go_rule(list(monitoring), environment=summary.environment, organisation=org)
        reasons += [Reason(code, message, MONITORING_ITEMS) for code, message in rule.reasons]
    if attestations is not None and not any(a.mandatory for a in answers.values()):
        notes.append(f"the attestation file marks no manual item mandatory for {org}")

    inconsistent = {i for r in sql_reasons if r.code != "sql_not_run" for i in r.items}
    monitored = _monitored_items(list(monitoring or ()))
    items = tuple(
        _item_status(item, scenarios, answers.get(item.id), sql, inconsistent, monitored.get(item.id))
        for item in checklist.ITEMS
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
        signer_key=signer_key,
        files=dict(files or {}),
        warnings=tuple(notes),
        leak_scan_secrets=tuple(sorted(set(leak_scan_secrets))),
        monitoring=rule.summary if rule is not None else None,
        monitoring_reports=tuple(_report_row(r) for r in monitoring or ()),
    )


def _monitored_items(reports: list[MonitorReport]) -> dict[str, str]:
    """item id -> what the monitoring shows for it: the alert thresholds (9.1) were evaluated by
    any window; 7.4 needs a 72 h one."""
    if not reports:
        return {}
    longest = max(reports, key=lambda r: r.window_s)
    shown = {THRESHOLDS_ITEM: describe(longest)}
    pilot = [r for r in reports if r.window_s >= PILOT_WINDOW_S]
    if pilot:
        shown[PILOT_MONITORING_ITEM] = describe(pilot[0])
    return shown


def _report_row(report: MonitorReport) -> dict[str, Any]:
    return {
        "window": report.window_label,
        "window_s": report.window_s,
        "started_at": report.started_at,
        "ended_at": report.ended_at,
        "observed_s": report.observed_s,
        "complete": report.complete,
        "verdict": report.verdict,
        "summary": describe(report),
        "critical": [f.signal for f in report.critical],
        "notes": list(report.notes),
    }


def _items_scenarios(item_id: str, scenarios: Sequence[Scenario]) -> list[Scenario]:
    tag = f"checklist-{item_id}"
    return [s for s in scenarios if tag in s.tags or (item_id == SMOKE_ITEM and SMOKE_TAG in s.tags)]


def _scenario_reasons(scenarios: Sequence[Scenario]) -> list[Reason]:
    if not scenarios:
        return [
            Reason(
                "no_scenarios",
                "the run recorded no scenario for this organisation",
                tuple(sorted(checklist.MANDATORY, key=item_key)),
            )
        ]
    reasons: list[Reason] = []
    for s in scenarios:
        if not s.mandatory or s.outcome == "passed" or s.attested:
            continue
        why = f": {shorten(s.message)}" if s.message else ""
        if s.outcome == "skipped" and s.attest and s.attestation is not None:
            att = s.attestation
            reasons.append(
                Reason(
                    "attestation_negative",
                    f"mandatory scenario {s.label}, which this target cannot run, answered "
                    f"'{att.answer}' by {att.by}: {shorten(att.seen, 160)}",
                    s.checklist_ids,
                    s.nodeid,
                )
            )
        elif s.outcome == "skipped" and s.attest:
            reasons.append(
                Reason(
                    "scenario_attestation_needed",
                    f"mandatory scenario {s.label} cannot run on this target ({shorten(s.attest, 220)}); "
                    f'answer it in the attestation file: [[scenario]] scenario = "{s.key}"',
                    s.checklist_ids,
                    s.nodeid,
                )
            )
        elif s.configuration_problem:
            reasons.append(
                Reason(
                    "configuration_problem",
                    f"mandatory scenario failed on the target's configuration, not on the product: "
                    f"{s.label}{why}",
                    s.checklist_ids,
                    s.nodeid,
                )
            )
        elif s.outcome == "failed" and s.known_gap:
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
    for item_id in sorted(checklist.MANDATORY, key=item_key):
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
                f"SQL check '{name}' found {len(rows)} row(s), e.g. {shorten(example, 160)}",
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


def _contradicted_attestations(
    scenarios: Sequence[Scenario], answers: Mapping[str, Attestation]
) -> list[Reason]:
    """A mandatory item a person attested, whose own scenario failed on this target: the failure
    wins (a "yes" cannot outvote a check that ran and saw otherwise). Mandatory scenarios are
    judged by `_scenario_reasons` already."""
    reasons = []
    for s in scenarios:
        if s.outcome != "failed" or s.mandatory:
            continue
        attested = [i for i in s.checklist_ids if (a := answers.get(i)) is not None and a.mandatory]
        if attested:
            gap = "known gap of the real CRM, " if s.known_gap else ""
            reasons.append(
                Reason(
                    "attestation_contradicted",
                    f"{', '.join(attested)} attested as done, but its scenario failed ({gap}{s.label}): "
                    f"{shorten(s.message)}",
                    tuple(attested),
                    s.nodeid,
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
    for item_id in sorted(answers, key=item_key):
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
                    f"'{att.answer}' by {att.by}: {shorten(att.seen or '', 160)}",
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
    monitoring: str | None = None,
) -> ItemStatus:
    own = tuple(_items_scenarios(item.id, scenarios))
    sql_state: str | None = None
    if item.id in SQL_ITEMS or item.id in inconsistent:
        if not sql.ran:
            sql_state = "not run" if item.id in SQL_ITEMS else None
        else:
            sql_state = "inconsistent" if item.id in inconsistent else "consistent"
    answered = att is not None and att.answered and attestable(item)
    automated = bool(own) or monitoring is not None
    status = "+".join(p for p, on in (("automated", automated), ("attested", answered)) if on)
    mandatory = item.mandatory or (att is not None and att.mandatory)
    return ItemStatus(item, status or "open", mandatory, own, att, sql_state, monitoring)
