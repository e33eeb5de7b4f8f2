"""The WhatsApp identity backfill (checklist 5.1–5.3), checked in SQL, read-only.

Eligible: a live contact of the organisation that came from WhatsApp (source WHATSAPP) and
existed when the backfill started (its first `stage = "backfill"` row in the resolution log),
with a phone that is a valid number. After the backfill each one has the identity
`WHATSAPP / <E.164>`, or is part of a conflict recorded for manual review (an `ambiguous`
row of the backfill listing it); a number no contact can have is recorded too (`error`).

On a sandbox the backfill runs on command (its control API); on a staging the team runs
its own and these checks only read. LagostaCRM has no such backfill (crm-contract §7 #18):
its migration copied raw phones into `contact_identifiers` and dropped conflicts, so there
these checks fail and say why.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from golive.clients.control import ControlClient
from golive.clients.sql import SqlVerifier
from golive.identity import InvalidIdentity, e164

STAGE = "backfill"
_GAP = (
    "LagostaCRM has no WhatsApp identity backfill; its migration 20260422120000 copies raw phones "
    "into contact_identifiers and drops conflicts (ON CONFLICT DO NOTHING) (§7 #18)"
)


@dataclass(frozen=True)
class Contact:
    id: str
    name: str
    phone: str
    number: str | None  # E.164, None when the phone is not a valid number


@dataclass(frozen=True)
class BackfillState:
    """What the backfill left, read in one go: the basis of every check."""

    started_at: str | None  # first backfill row in the log; None = no trace of a backfill
    contacts: tuple[Contact, ...]  # eligible by source and age (valid number or not)
    identities: dict[str, str]  # WHATSAPP external id -> contact id (live contacts)
    conflicts: tuple[dict[str, Any], ...]  # metadata of the backfill's `ambiguous` rows
    invalid_recorded: frozenset[str]  # contact ids the backfill recorded as unusable numbers
    raw_identities: tuple[str, ...]  # WHATSAPP identities not in E.164
    raw_identifiers: tuple[str, ...]  # whatsapp contact_identifiers not in E.164

    def snapshot(self) -> dict[str, Any]:
        return {
            "identities": sorted(self.identities.items()),
            "conflicts": sorted(json.dumps(c, sort_keys=True) for c in self.conflicts),
            "invalid_recorded": sorted(self.invalid_recorded),
            "raw_identifiers": sorted(self.raw_identifiers),
        }


def _number(phone: str) -> str | None:
    try:
        return e164(phone)
    except InvalidIdentity:
        return None


def has_run(control: ControlClient | None, sql: SqlVerifier) -> BackfillState:
    """Run the target's backfill when it offers one (the sandbox); on a staging the team's own
    backfill has run and this only reads what it left."""
    if control is not None:
        control.run_backfill()
    return read_state(sql)


def runs_again(control: ControlClient | None, sql: SqlVerifier) -> BackfillState:
    if control is None:
        raise AssertionError("rerunning the backfill needs a target that runs it on command (the sandbox)")
    control.run_backfill()
    return read_state(sql)


def read_state(sql: SqlVerifier) -> BackfillState:
    trace = sql.query(
        "SELECT min(created_at)::text AS at FROM messaging_identity_resolution_log "
        "WHERE organization_id = %(org)s AND metadata->>'stage' = %(stage)s",
        stage=STAGE,
    )
    started = trace[0]["at"] if trace else None
    rows = sql.query(
        "SELECT id::text AS id, name, phone FROM contacts WHERE organization_id = %(org)s "
        "AND deleted_at IS NULL AND upper(coalesce(source, '')) = 'WHATSAPP' AND coalesce(phone, '') <> '' "
        "AND (%(since)s::timestamptz IS NULL OR created_at <= %(since)s::timestamptz) "
        "ORDER BY created_at, id",
        since=started,
    )
    contacts = tuple(Contact(r["id"], r["name"], r["phone"], _number(r["phone"])) for r in rows)
    identities = sql.query(
        "SELECT i.external_id, i.contact_id::text AS contact_id FROM messaging_contact_identities i "
        "JOIN contacts c ON c.id = i.contact_id AND c.deleted_at IS NULL "
        "WHERE i.organization_id = %(org)s AND i.source = 'WHATSAPP'"
    )
    log = sql.query(
        "SELECT action, metadata FROM messaging_identity_resolution_log WHERE organization_id = %(org)s "
        "AND metadata->>'stage' = %(stage)s AND action IN ('ambiguous', 'error') ORDER BY id",
        stage=STAGE,
    )
    # the identifiers of the contacts the backfill covers: one another client wrote later through
    # the public API (which stores any string) is not the backfill's doing
    identifiers = sql.query(
        "SELECT identifier FROM contact_identifiers WHERE organization_id = %(org)s AND channel = 'whatsapp' "
        "AND deleted_at IS NULL AND contact_id::text = ANY(%(contacts)s)",
        contacts=[c.id for c in contacts],
    )
    return BackfillState(
        started_at=started,
        contacts=contacts,
        identities={r["external_id"]: r["contact_id"] for r in identities},
        conflicts=tuple(r["metadata"] for r in log if r["action"] == "ambiguous"),
        invalid_recorded=frozenset(
            str(r["metadata"].get("contact_id")) for r in log if r["action"] == "error"
        ),
        raw_identities=tuple(sorted(x for x in (r["external_id"] for r in identities) if _number(x) != x)),
        raw_identifiers=tuple(sorted(x for x in (r["identifier"] for r in identifiers) if _number(x) != x)),
    )


def _trace(state: BackfillState) -> str:
    return "" if state.started_at else " No trace of a backfill in the resolution log."


def _recorded_together(state: BackfillState, number: str, ids: set[str]) -> bool:
    return any(c.get("phone") == number and ids <= set(c.get("candidates") or []) for c in state.conflicts)


def _shown(contacts: list[Contact], limit: int = 4) -> str:
    listed = ", ".join(f"{c.name!r} ({c.phone})" for c in contacts[:limit])
    return listed + (f" and {len(contacts) - limit} more" if len(contacts) > limit else "")


def every_contact_has_identity(state: BackfillState) -> None:
    """5.1: each eligible contact with a valid number holds WHATSAPP/<E.164> or is in a conflict."""
    missing = [
        c
        for c in state.contacts
        if c.number is not None
        and state.identities.get(c.number) != c.id
        and not _recorded_together(state, c.number, {c.id})
    ]
    if missing:
        raise AssertionError(
            f"WhatsApp identity backfill incomplete: {len(missing)} of {len(state.contacts)} eligible "
            f"contact(s) have no WHATSAPP identity in E.164 and no recorded conflict, e.g. "
            f"{_shown(missing)}.{_trace(state)} Known gap: {_GAP}"
        )


def identifiers_in_e164(state: BackfillState) -> None:
    raw = [*state.raw_identities, *state.raw_identifiers]
    if raw:
        shown = ", ".join(repr(x) for x in raw[:5])
        raise AssertionError(
            f"{len(raw)} WhatsApp identit(ies)/identifier(s) are not stored in E.164, e.g. {shown}: lookups "
            f"by the canonical number will miss them. Known gap: {_GAP}"
        )


def conflicts_recorded(state: BackfillState) -> None:
    """5.2: every number several eligible contacts share, or whose identity another contact holds,
    is recorded for review with all of them; none of them silently got the identity."""
    by_number: dict[str, list[Contact]] = defaultdict(list)
    for contact in state.contacts:
        if contact.number is not None:
            by_number[contact.number].append(contact)
    problems = []
    for number, sharing in sorted(by_number.items()):
        ids = {c.id for c in sharing}
        holder = state.identities.get(number)
        if len(sharing) == 1 and holder in (None, sharing[0].id):
            continue
        if not _recorded_together(state, number, ids):
            who = _shown(sharing)
            held = f", identity held by contact {holder}" if holder else ""
            problems.append(f"{number} ({who}{held}) is not recorded for review")
    if problems:
        raise AssertionError(
            f"identity conflicts dropped silently: {len(problems)} conflict(s) with no 'ambiguous' backfill "
            f"record for manual review — {'; '.join(problems[:4])}.{_trace(state)} Known gap: {_GAP}"
        )


def unusable_numbers_recorded(state: BackfillState) -> None:
    unusable = [c for c in state.contacts if c.number is None and c.id not in state.invalid_recorded]
    if unusable:
        raise AssertionError(
            f"{len(unusable)} WhatsApp contact(s) with a phone that is not a valid number were skipped "
            f"without a record for review: {_shown(unusable)}.{_trace(state)}"
        )


def unchanged(before: BackfillState, after: BackfillState) -> None:
    """5.3: a rerun writes nothing new: same identities, conflicts and review records."""
    was, now = before.snapshot(), after.snapshot()
    changed = {key: (len(was[key]), len(now[key])) for key in was if was[key] != now[key]}
    if changed:
        listed = ", ".join(f"{key}: {a} → {b}" for key, (a, b) in changed.items())
        raise AssertionError(f"running the backfill again changed what the first run left ({listed})")
