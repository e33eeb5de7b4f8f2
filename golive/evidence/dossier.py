"""The Go/No-Go dossier of one organisation, and the plain inputs it is made from.

:class:`Dossier` holds the verdict, its reasons, the status of every checklist item and the
scenarios; the rules that decide it are in :mod:`golive.evidence.dossier_rules`, its Markdown
and JSON faces in :mod:`golive.evidence.dossier_render`. The inputs are the plain data a
run leaves (``summary/<org>.json``, ``sql/<org>.json``, ``fingerprint/<org>.json``);
nothing here reads or writes files.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from golive.errors import EvidenceError
from golive.evidence import checklist
from golive.evidence.attestations import Attestation, ScenarioAttestation
from golive.evidence.summary import OUTCOMES, Outcome, RunSummary

Verdict = Literal["GO", "NO-GO"]
GO: Verdict = "GO"
NO_GO: Verdict = "NO-GO"
SMOKE_TAG = checklist.SMOKE_TAG
KNOWN_GAP_TAG = "known_gap"
UI_TAG = checklist.UI_TAG
VERIFICATION_QUERIES = ("1_conversation_links", "2_contact_identities", "3_identity_resolution_log")
# What a failure message says when the cause is the target's configuration (golive.errors).
CONFIGURATION_ERRORS = ("ConfigError", "TargetUnreachable", "target unreachable")
_MESSAGE_LIMIT = 300


def item_key(item_id: str) -> tuple[int, ...]:
    """Sort key of a checklist id: "2.10" after "2.9"."""
    return tuple(int(p) if p.isdigit() else 0 for p in item_id.split("."))


def shorten(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    """One line of at most `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
    attest: str = ""  # not runnable on this target: what a person must attest instead
    attestation: ScenarioAttestation | None = None  # the person's answer, when there is one

    @property
    def key(self) -> str:
        """`<feature>: <scenario>`: how attestations (and fault profiles) name it."""
        return f"{self.feature}: {self.scenario}"

    @property
    def attested(self) -> bool:
        """Skipped because the target cannot run it, and a person attested it instead."""
        answered = self.attestation is not None and self.attestation.accepted
        return self.outcome == "skipped" and bool(self.attest) and answered

    @property
    def configuration_problem(self) -> bool:
        """Failed because of the target's configuration, not the product (the preflight normally
        stops such a run before any scenario)."""
        return self.outcome == "failed" and any(m in self.message for m in CONFIGURATION_ERRORS)

    @property
    def checklist_ids(self) -> tuple[str, ...]:
        ids = [checklist.BY_TAG[t].id for t in self.tags if t in checklist.BY_TAG]
        return tuple(sorted(ids, key=item_key))

    @property
    def mandatory(self) -> bool:
        return checklist.is_mandatory(self.tags)

    @property
    def known_gap(self) -> bool:
        return KNOWN_GAP_TAG in self.tags

    @property
    def ui(self) -> bool:
        return UI_TAG in self.tags

    @property
    def screens(self) -> tuple[str, ...]:
        """The bundle's screenshots of this scenario (its PNG attachments)."""
        return tuple(f for f in self.evidence if f.endswith(".png"))

    @property
    def traces(self) -> tuple[str, ...]:
        """Its Playwright traces (zip attachments)."""
        return tuple(f for f in self.evidence if f.endswith(".zip"))

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
            "attest": self.attest,
            "attestation": self.attestation.as_dict() if self.attestation else None,
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
    monitoring: str | None = None  # what the window after the run showed, for items it evidences

    @property
    def screens(self) -> tuple[str, ...]:
        """Screenshots of the CRM's pages that show this item (from its @ui scenarios)."""
        return tuple(f for s in self.scenarios if s.ui for f in s.screens)

    @property
    def outcome_counts(self) -> dict[str, int]:
        counts = Counter(s.outcome for s in self.scenarios)
        return {o: counts.get(o, 0) for o in OUTCOMES}

    @property
    def result(self) -> str:
        parts: list[str] = []
        if self.scenarios:
            counts = self.outcome_counts
            attested = sum(1 for s in self.scenarios if s.attested)
            skipped = counts["skipped"] - attested
            if counts["failed"] == 0 and skipped == 0:
                parts.append(f"{counts['passed']} passed" + (f", {attested} attested" if attested else ""))
            else:
                detail = [f"{counts['failed']} failed"] if counts["failed"] else []
                detail += [f"{skipped} not run"] if skipped else []
                detail += [f"{attested} attested"] if attested else []
                parts.append(f"{', '.join(detail)} of {len(self.scenarios)}")
        if self.sql is not None:
            parts.append(f"SQL {self.sql}")
        if self.monitoring is not None:
            parts.append(f"monitoring {self.monitoring}")
        if self.screens:
            parts.append(f"{len(self.screens)} screen(s)")
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
            "monitoring": self.monitoring,
            "screens": list(self.screens),
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
    verdict: Verdict
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
    signer_key: str | None = None  # the Ed25519 key's fingerprint: signed_off_by comes from the key
    files: Mapping[str, str | None] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    leak_scan_secrets: tuple[str, ...] = ()  # names (never values) the bundle is scanned for
    monitoring: str | None = None  # the window after the run, in one line (None: not considered)
    monitoring_reports: tuple[Mapping[str, Any], ...] = ()
    api_conformance: Mapping[str, Any] | None = None  # golive api-check's summary (evidence only)

    @property
    def ui_scenarios(self) -> tuple[Scenario, ...]:
        return tuple(s for s in self.scenarios if s.ui)

    @property
    def go(self) -> bool:
        return self.verdict == GO

    @property
    def crm_organisation(self) -> dict[str, str] | None:
        """The CRM organisation the run's API key belongs to (`/me`): id and name."""
        found = self.fingerprint.get("crm_organisation")
        if isinstance(found, Mapping) and found.get("id"):
            return {"id": str(found["id"]), "name": str(found.get("name") or found["id"])}
        return None

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
            attest=s.attest,
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
