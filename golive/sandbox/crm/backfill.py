"""The WhatsApp identity backfill (checklist 5.1–5.3): the legacy data it must migrate, the
intended backfill, and the real repository's only backfill (crm-contract §7 #18).

Legacy data, per organisation: WhatsApp contacts (source WHATSAPP) of the pre-v2 flow, phones
stored as people typed them, two contacts sharing one number, a number whose identity another
contact already holds, an unusable number and a deleted contact.

The intended backfill, per organisation, idempotent:
* a live WhatsApp contact whose phone is a valid number and the only one with that number
  gets the identity `WHATSAPP / <E.164>` (and a `whatsapp` identifier in E.164), logged as
  `fallback_phone` with `metadata.stage = "backfill"`;
* a number shared by several contacts, or whose identity another contact holds, is a
  conflict: nothing is assigned and one `ambiguous` row (stage backfill, the candidates) is
  logged for manual review;
* an unusable number is logged once as `error` (stage backfill, reason invalid_phone);
* a rerun finds everything done and writes nothing.

Under the `backfill-drops-conflicts` fault the sandbox runs what LagostaCRM's migration
20260422120000 does instead: raw phones into `contact_identifiers`, `ON CONFLICT DO NOTHING`,
no identity, nothing recorded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from psycopg.types.json import Jsonb

from golive.sandbox.crm.rules import normalise_phone
from golive.sandbox.db import Conn

STAGE = "backfill"

# (name, phone as stored, deleted): pre-v2 WhatsApp contacts. The numbers' second digit is 1,
# which the suite's generated numbers never use, so its own customers never collide with them.
LEGACY_CONTACTS: tuple[tuple[str, str, bool], ...] = (
    ("Ana Lima (legado)", "11 91234-5001", False),
    ("Bruno Costa (legado)", "5511912345002", False),
    ("Carla Souza (legado)", "+55 (11) 91234-5003", False),
    ("Dora Reis (legado)", "(11) 91234-5004", False),
    ("Dora R. (legado)", "(11) 91234-5004", False),  # Dora Reis's number, as typed: a conflict
    ("Hugo Dias (legado)", "(11) 91234-5008", False),
    ("Hugo D. (legado)", "11912345008", False),  # Hugo Dias's number in another format: a conflict
    ("Gil Prado (legado)", "(11) 91234-5007", False),  # identity held by another contact
    ("Eva Nunes (legado)", "invalidphone", False),  # not a number
    ("Fabio Melo (apagado)", "(11) 91234-5006", True),  # deleted: not eligible
)
# A contact created by the v2 webhook already holds the identity of Gil Prado's number.
IDENTITY_HOLDER = ("Gil Prado", "+5511912345007")


def seed_legacy(conn: Conn, organization_id: str) -> None:
    for name, phone, deleted in LEGACY_CONTACTS:
        conn.execute(
            "INSERT INTO contacts (organization_id, name, phone, source, created_at, deleted_at) "
            "VALUES (%s, %s, %s, 'WHATSAPP', now() - interval '400 days', "
            "CASE WHEN %s THEN now() - interval '30 days' END)",
            (organization_id, name, phone, deleted),
        )
    holder_name, holder_phone = IDENTITY_HOLDER
    holder = conn.execute(
        "INSERT INTO contacts (organization_id, name, phone, source, created_at) "
        "VALUES (%s, %s, %s, 'INSTAGRAM', now() - interval '20 days') RETURNING id::text AS id",
        (organization_id, holder_name, holder_phone),
    ).fetchone()
    assert holder is not None
    conn.execute(
        "INSERT INTO messaging_contact_identities (organization_id, contact_id, source, external_id, "
        "created_at) VALUES (%s, %s, 'WHATSAPP', %s, now() - interval '20 days')",
        (organization_id, holder["id"], holder_phone),
    )


@dataclass
class Outcome:
    """What one run of the backfill did in one organisation."""

    variant: str
    identities_created: int = 0
    conflicts_recorded: int = 0
    invalid_recorded: int = 0
    identifiers_written: int = 0
    details: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "identities_created": self.identities_created,
            "conflicts_recorded": self.conflicts_recorded,
            "invalid_recorded": self.invalid_recorded,
            "identifiers_written": self.identifiers_written,
        }


def run_backfill(conn: Conn, *, real_migration: bool) -> dict[str, dict[str, Any]]:
    """Every organisation; organisation id -> what was done."""
    orgs = conn.execute("SELECT id::text AS id FROM organizations WHERE deleted_at IS NULL").fetchall()
    done: dict[str, dict[str, Any]] = {}
    for org in orgs:
        org_id = str(org["id"])
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"backfill|{org_id}",))
        outcome = _real_migration(conn, org_id) if real_migration else _intended(conn, org_id)
        done[org_id] = outcome.as_dict()
    return done


def _intended(conn: Conn, org: str) -> Outcome:
    outcome = Outcome("intended")
    contacts = conn.execute(
        "SELECT id::text AS id, phone FROM contacts WHERE organization_id = %s AND deleted_at IS NULL "
        "AND upper(coalesce(source, '')) = 'WHATSAPP' AND coalesce(phone, '') <> '' ORDER BY created_at, id",
        (org,),
    ).fetchall()
    by_number: dict[str, list[str]] = defaultdict(list)
    for contact in contacts:
        number = normalise_phone(contact["phone"])
        if number is None:
            if _record_invalid(conn, org, str(contact["id"]), str(contact["phone"])):
                outcome.invalid_recorded += 1
        else:
            by_number[number].append(str(contact["id"]))
    for number, ids in by_number.items():
        holder = conn.execute(
            "SELECT i.id::text AS id, i.contact_id::text AS contact_id FROM messaging_contact_identities i "
            "JOIN contacts c ON c.id = i.contact_id AND c.deleted_at IS NULL "
            "WHERE i.organization_id = %s AND i.source = 'WHATSAPP' AND i.external_id = %s",
            (org, number),
        ).fetchone()
        owner = str(holder["contact_id"]) if holder else None
        if len(ids) == 1 and owner in (None, ids[0]):
            contact_id = ids[0]
            if owner is None:
                identity = conn.execute(
                    "INSERT INTO messaging_contact_identities (organization_id, contact_id, source, "
                    "external_id) VALUES (%s, %s, 'WHATSAPP', %s) RETURNING id::text AS id",
                    (org, contact_id, number),
                ).fetchone()
                assert identity is not None
                _log(conn, org, number, "fallback_phone", contact_id, str(identity["id"]), {"phone": number})
                outcome.identities_created += 1
            outcome.identifiers_written += _identifier(conn, org, contact_id, number)
            continue
        candidates = sorted({*ids, *([owner] if owner else [])})
        reason = "shared_phone" if len(ids) > 1 else "identity_held_by_another_contact"
        if _record_conflict(conn, org, number, candidates, reason):
            outcome.conflicts_recorded += 1
    return outcome


def _identifier(conn: Conn, org: str, contact_id: str, number: str) -> int:
    written = conn.execute(
        "INSERT INTO contact_identifiers (organization_id, contact_id, channel, identifier, is_primary, "
        "metadata) SELECT %s, %s, 'whatsapp', %s, NOT EXISTS (SELECT 1 FROM contact_identifiers p "
        "WHERE p.contact_id = %s AND p.is_primary AND p.deleted_at IS NULL), %s "
        "ON CONFLICT (organization_id, channel, identifier) DO NOTHING",
        (org, contact_id, number, contact_id, Jsonb({"source": STAGE})),
    )
    return written.rowcount


def _record_conflict(conn: Conn, org: str, number: str, candidates: list[str], reason: str) -> bool:
    """One `ambiguous` row per conflict; a rerun finds it and writes nothing."""
    known = conn.execute(
        "SELECT 1 FROM messaging_identity_resolution_log WHERE organization_id = %s AND source = "
        "'WHATSAPP' AND external_id = %s AND action = 'ambiguous' AND metadata->>'stage' = %s "
        "AND metadata->'candidates' = %s",
        (org, number, STAGE, Jsonb(candidates)),
    ).fetchone()
    if known:
        return False
    _log(
        conn,
        org,
        number,
        "ambiguous",
        None,
        None,
        {"phone": number, "candidates": candidates, "reason": reason},
    )
    return True


def _record_invalid(conn: Conn, org: str, contact_id: str, phone: str) -> bool:
    known = conn.execute(
        "SELECT 1 FROM messaging_identity_resolution_log WHERE organization_id = %s AND action = 'error' "
        "AND metadata->>'stage' = %s AND metadata->>'contact_id' = %s",
        (org, STAGE, contact_id),
    ).fetchone()
    if known:
        return False
    conn.execute(
        "INSERT INTO messaging_identity_resolution_log (organization_id, source, external_id, action, "
        "metadata, error_message) VALUES (%s, 'WHATSAPP', %s, 'error', %s, %s)",
        (
            org,
            phone,
            Jsonb({"stage": STAGE, "reason": "invalid_phone", "contact_id": contact_id}),
            "the contact's phone is not a valid number: review it by hand",
        ),
    )
    return True


def _log(
    conn: Conn,
    org: str,
    number: str,
    action: str,
    contact_id: str | None,
    identity_id: str | None,
    metadata: dict[str, Any],
) -> None:
    conn.execute(
        "INSERT INTO messaging_identity_resolution_log (organization_id, source, external_id, action, "
        "contact_id, identity_id, metadata) VALUES (%s, 'WHATSAPP', %s, %s, %s, %s, %s)",
        (org, number, action, contact_id, identity_id, Jsonb({"stage": STAGE, **metadata})),
    )


def _real_migration(conn: Conn, org: str) -> Outcome:
    """LagostaCRM's migration: the stored phone as the identifier, channel guessed from source and
    shape, first writer wins, the rest dropped without a trace."""
    outcome = Outcome("real-migration")
    written = conn.execute(
        "INSERT INTO contact_identifiers (organization_id, contact_id, channel, identifier, is_primary, "
        "created_at) SELECT c.organization_id, c.id, CASE "
        "WHEN upper(coalesce(c.source, '')) = 'INSTAGRAM' THEN 'instagram' "
        "WHEN upper(coalesce(c.source, '')) = 'WHATSAPP' THEN 'whatsapp' "
        "WHEN c.phone LIKE '+%%' THEN 'whatsapp' "
        "WHEN c.phone ~ '^[0-9]+$' AND length(c.phone) >= 14 THEN 'instagram' "
        "WHEN c.phone ~ '^55[0-9]{10,11}$' THEN 'whatsapp' ELSE 'other' END, "
        "c.phone, true, c.created_at FROM contacts c WHERE c.organization_id = %s "
        "AND c.deleted_at IS NULL AND c.phone IS NOT NULL AND length(c.phone) > 0 "
        "ON CONFLICT (organization_id, channel, identifier) DO NOTHING",
        (org,),
    )
    outcome.identifiers_written = written.rowcount
    return outcome
