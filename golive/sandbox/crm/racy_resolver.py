"""The `identity-race` fault (crm-contract §7 #12): identity resolution as the real CRM runs it
(`lib/messaging/identityResolution.ts`). Every step is its own round trip to the database,
committed at once; nothing serialises two resolutions of one identity. So concurrent first
events both create a contact and the second identity insert fails, leaving an orphan contact;
and an identity a fallback claims is upserted, moving it to whichever writer came last."""

from __future__ import annotations

from typing import Any

import psycopg

from golive.sandbox.crm.resolver import Resolver
from golive.sandbox.db import Pool
from golive.sandbox.faults import FaultState


class _Result:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def fetchone(self) -> dict[str, Any] | None:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[dict[str, Any]]:
        return list(self._rows)


class OneStatementAtATime:
    """Each statement in its own transaction, like each call to a REST database API."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def execute(self, query: Any, params: Any = None) -> _Result:
        with self._pool.transaction() as conn:
            cursor = conn.execute(query, params)
            rows = cursor.fetchall() if cursor.description else []
        return _Result([dict(row) for row in rows])


class RacyResolver(Resolver):
    def __init__(self, pool: Pool, faults: FaultState, organization_id: str) -> None:
        super().__init__(OneStatementAtATime(pool), faults, organization_id)

    def _serialise(self, source: str, external_id: str) -> None:
        return None  # no lock

    def _claim(self, contact_id: str, source: str, external_id: str) -> str:
        row = self.conn.execute(
            "INSERT INTO messaging_contact_identities (organization_id, contact_id, source, external_id) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (organization_id, source, external_id) "
            "DO UPDATE SET contact_id = EXCLUDED.contact_id, updated_at = now() RETURNING id::text AS id",
            (self.org, contact_id, source, external_id),
        ).fetchone()
        assert row is not None
        return str(row["id"])

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
        contact_id = self._insert_contact(source, name=name, phone=phone, email=email, avatar=avatar)
        try:
            identity_id = self._add_identity(contact_id, source, external_id)
        except psycopg.errors.UniqueViolation as exc:
            # The contact stays behind; the conversation gets no contact.
            self._log(
                source,
                external_id,
                "error",
                metadata={"stage": "create_identity"},
                error=str(exc).splitlines()[0],
            )
            return None
        self._log(source, external_id, "created", contact_id, identity_id)
        return contact_id
