"""Identity resolution for the CRM double's webhook (crm-contract §4): an identity hit, else a
safe phone or email fallback, else a new contact; one resolution log row per decision."""

from __future__ import annotations

from typing import Any, Protocol

from psycopg.types.json import Jsonb

from golive.sandbox.crm.rules import normalise_phone
from golive.sandbox.faults import FaultState


class Rows(Protocol):
    def fetchone(self) -> dict[str, Any] | None: ...
    def fetchall(self) -> list[dict[str, Any]]: ...


class Executor(Protocol):
    """A connection inside the request's transaction, or (race fault) one statement at a time."""

    def execute(self, query: Any, params: Any = ...) -> Rows: ...


class Resolver:
    """Identity resolution (§4): identity → safe phone → safe email → auto-create; one log row."""

    def __init__(self, conn: Executor, faults: FaultState, organization_id: str) -> None:
        self.conn = conn
        self.faults = faults
        self.org = organization_id
        self._orphaned: str | None = None  # an identity whose contact was deleted

    def resolve(
        self,
        source: str,
        external_id: str | None,
        *,
        raw_external_id: str,
        name: str | None,
        phone: str | None,
        email: str | None,
        avatar: str | None,
    ) -> str | None:
        if not external_id:
            self._log(
                source,
                raw_external_id,
                "error",
                metadata={"reason": "invalid_external_id"},
                error="no valid external id in the event",
            )
            return None
        if self.faults.on("errors-after-run"):  # the database gave up on the lookup
            self._log(
                source,
                external_id,
                "error",
                metadata={"reason": "resolution_failed", "stage": "identity_lookup"},
                error="canceling statement due to statement timeout",
            )
            return None
        self._serialise(source, external_id)
        hit = self.conn.execute(
            "SELECT i.id::text AS identity_id, i.contact_id::text AS contact_id, "
            "c.deleted_at IS NULL AS live FROM messaging_contact_identities i "
            "JOIN contacts c ON c.id = i.contact_id "
            "WHERE i.organization_id = %s AND i.source = %s AND i.external_id = %s",
            (self.org, source, external_id),
        ).fetchone()
        if hit and hit["live"]:
            self._log(source, external_id, "matched", str(hit["contact_id"]), str(hit["identity_id"]))
            return str(hit["contact_id"])
        # An identity left on a deleted contact is moved to the live contact resolved below.
        self._orphaned = str(hit["identity_id"]) if hit else None
        for action, value in (("fallback_phone", phone), ("fallback_email", email)):
            if not value:
                continue
            candidates = self._candidates(action, value)
            if not candidates:
                continue
            unsafe = [c for c in candidates if self._has_identity(c, source)]
            if len(candidates) > 1 or unsafe:
                self._log(
                    source,
                    external_id,
                    "ambiguous",
                    metadata={"stage": action, "candidates": candidates},
                )
                return None
            identity_id = self._claim(candidates[0], source, external_id)
            key = "phone" if action == "fallback_phone" else "email"
            self._log(source, external_id, action, candidates[0], identity_id, metadata={key: value})
            return candidates[0]
        return self._create(source, external_id, name=name, phone=phone, email=email, avatar=avatar)

    # --- the steps the race fault changes (see racy_resolver) --------------------------------

    def _serialise(self, source: str, external_id: str) -> None:
        """One resolution per identity at a time: concurrent first events make one contact."""
        self.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{self.org}|{source}|{external_id}",)
        )

    def _claim(self, contact_id: str, source: str, external_id: str) -> str:
        """The identity for a contact a fallback found (safe: it has none of this source)."""
        return self._add_identity(contact_id, source, external_id)

    def _insert_contact(
        self, source: str, *, name: str | None, phone: str | None, email: str | None, avatar: str | None
    ) -> str:
        stored_phone = phone if source == "WHATSAPP" else None
        stored_source = source
        if self.faults.on("new-contact-fields-wrong") and stored_phone:
            stored_phone, stored_source = stored_phone.lstrip("+"), "CHATWOOT"
        contact = self.conn.execute(
            "INSERT INTO contacts (organization_id, name, phone, email, avatar, source) "
            "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id::text AS id",
            (self.org, name or f"{source} Contact", stored_phone, email, avatar or None, stored_source),
        ).fetchone()
        assert contact is not None
        return str(contact["id"])

    def _create(
        self,
        source: str,
        external_id: str,
        *,
        name: str | None,
        phone: str | None,
        email: str | None,
        avatar: str | None,
    ) -> str | None:
        """Auto-create: contact and identity in the same transaction."""
        contact_id = self._insert_contact(source, name=name, phone=phone, email=email, avatar=avatar)
        new_identity: str | None = None
        if not (source == "INSTAGRAM" and self.faults.on("ig-no-identity")):
            new_identity = self._add_identity(contact_id, source, external_id)
        self._log(source, external_id, "created", contact_id, new_identity)
        return contact_id

    def _candidates(self, action: str, value: str) -> list[str]:
        if action == "fallback_email":
            rows = self.conn.execute(
                "SELECT id::text AS id FROM contacts WHERE organization_id = %s "
                "AND deleted_at IS NULL AND lower(trim(email)) = %s",
                (self.org, value),
            ).fetchall()
            return [str(r["id"]) for r in rows]
        if self.faults.on("wa-new-contact"):
            rows = self.conn.execute(
                "SELECT id::text AS id FROM contacts WHERE organization_id = %s "
                "AND deleted_at IS NULL AND phone = %s",
                (self.org, value),
            ).fetchall()
            return [str(r["id"]) for r in rows]
        # Stored phones come in every format: compare normalised, prefiltered on the last digits.
        rows = self.conn.execute(
            "SELECT id::text AS id, phone FROM contacts WHERE organization_id = %s "
            "AND deleted_at IS NULL AND right(regexp_replace(phone, '\\D', '', 'g'), 8) = %s",
            (self.org, value[-8:]),
        ).fetchall()
        return [str(r["id"]) for r in rows if normalise_phone(r["phone"]) == value]

    def _has_identity(self, contact_id: str, source: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM messaging_contact_identities WHERE organization_id = %s "
            "AND contact_id = %s AND source = %s",
            (self.org, contact_id, source),
        ).fetchone()
        return row is not None

    def _add_identity(self, contact_id: str, source: str, external_id: str) -> str:
        if self._orphaned:
            row = self.conn.execute(
                "UPDATE messaging_contact_identities SET contact_id = %s, updated_at = now() "
                "WHERE id = %s RETURNING id::text AS id",
                (contact_id, self._orphaned),
            ).fetchone()
        else:
            row = self.conn.execute(
                "INSERT INTO messaging_contact_identities (organization_id, contact_id, source, "
                "external_id) VALUES (%s, %s, %s, %s) RETURNING id::text AS id",
                (self.org, contact_id, source, external_id),
            ).fetchone()
        assert row is not None
        # Mirrored into contact_identifiers so the public API's `identifier=` lookup (what the
        # n8n flow calls) finds contacts the webhook resolved.
        self.conn.execute(
            "INSERT INTO contact_identifiers (organization_id, contact_id, channel, identifier, "
            "is_primary) VALUES (%s, %s, %s, %s, NOT EXISTS (SELECT 1 FROM contact_identifiers "
            "WHERE organization_id = %s AND contact_id = %s AND is_primary AND deleted_at IS NULL)) "
            "ON CONFLICT (organization_id, channel, identifier) DO NOTHING",
            (self.org, contact_id, source.lower(), external_id, self.org, contact_id),
        )
        return str(row["id"])

    def _log(
        self,
        source: str,
        external_id: str,
        action: str,
        contact_id: str | None = None,
        identity_id: str | None = None,
        *,
        metadata: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO messaging_identity_resolution_log (organization_id, source, external_id, "
            "action, contact_id, identity_id, metadata, error_message) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (
                self.org,
                source,
                external_id,
                action,
                contact_id,
                identity_id,
                Jsonb(metadata or {}),
                error,
            ),
        )
