"""Read-only SQL checks on the CRM database: the runbook's three verification queries
(crm-contract §6.4), the lookups the scenarios need, and the consistency rules (§6.3)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from golive.errors import ConfigError
from golive.identity import InvalidIdentity, e164
from golive.secrets import REDACTOR, Secret

VERIFICATION_QUERIES: dict[str, str] = {
    "1_conversation_links": (
        "SELECT organization_id, chatwoot_conversation_id, contact_id, status, updated_at "
        "FROM messaging_conversation_links WHERE organization_id = %(org)s "
        "ORDER BY updated_at DESC LIMIT 20"
    ),
    "2_contact_identities": (
        "SELECT organization_id, source, external_id, contact_id, updated_at "
        "FROM messaging_contact_identities WHERE organization_id = %(org)s "
        "ORDER BY updated_at DESC LIMIT 20"
    ),
    "3_identity_resolution_log": (
        "SELECT organization_id, source, external_id, action, contact_id, identity_id, created_at "
        "FROM messaging_identity_resolution_log WHERE organization_id = %(org)s "
        "ORDER BY created_at DESC LIMIT 30"
    ),
}

CONSISTENCY_CHECKS: dict[str, str] = {
    "duplicate conversation links": (
        "SELECT chatwoot_conversation_id, count(*) AS n FROM messaging_conversation_links "
        "WHERE organization_id = %(org)s GROUP BY chatwoot_conversation_id HAVING count(*) > 1"
    ),
    "duplicate identities": (
        "SELECT source, external_id, count(DISTINCT contact_id) AS contacts "
        "FROM messaging_contact_identities WHERE organization_id = %(org)s "
        "GROUP BY source, external_id HAVING count(*) > 1"
    ),
    "identities pointing to a deleted or foreign contact": (
        "SELECT i.source, i.external_id, i.contact_id FROM messaging_contact_identities i "
        "LEFT JOIN contacts c ON c.id = i.contact_id AND c.organization_id = i.organization_id "
        "AND c.deleted_at IS NULL WHERE i.organization_id = %(org)s AND c.id IS NULL"
    ),
}


@dataclass(frozen=True)
class Link:
    conversation_id: int
    contact_id: str | None
    deal_id: str | None
    status: str
    unread_count: int
    ai_enabled: bool
    row: dict[str, Any]  # every column, for before/after comparisons


@dataclass(frozen=True)
class IdentityRow:
    id: str
    source: str
    external_id: str
    contact_id: str


class CannotActAsUser(Exception):
    """The read-only role may not take the role a logged-in user of the CRM gets (why, in words)."""


USER_ROLE = "authenticated"  # the role PostgREST gives a logged-in Supabase user


def _row(values: dict[str, Any]) -> dict[str, Any]:
    plain = (bool, int, float, str, list, dict)
    return {k: (v if v is None or isinstance(v, plain) else str(v)) for k, v in values.items()}


class SqlVerifier:
    """Runs read-only queries scoped to one organisation. The DSN is a Secret; the session is
    read-only at the server (default_transaction_read_only), whatever the role may do."""

    def __init__(self, *, dsn: Secret, organization_id: str, timeout_s: float) -> None:
        self._dsn = dsn
        self._org = organization_id
        self.timeout_s = timeout_s  # also how long checks wait for the CRM to write
        self._timeout_ms = int(timeout_s * 1000)
        self._conn: psycopg.Connection[dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection[dict[str, Any]]:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(
                    self._dsn.reveal(),
                    autocommit=True,
                    row_factory=dict_row,
                    connect_timeout=max(1, self._timeout_ms // 1000),
                    options=f"-c default_transaction_read_only=on -c statement_timeout={self._timeout_ms}",
                )
            except psycopg.Error as exc:  # wrong password, unknown host, malformed DSN…
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ConfigError(
                    f"cannot open the read-only database connection ({self._dsn.name}): "
                    f"{REDACTOR.redact(first)}",
                    setting=self._dsn.name,
                ) from None
        return self._conn

    @property
    def organization_id(self) -> str:
        return self._org

    def query(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._connection().execute(sql, {"org": self._org, **params}).fetchall()
        return [_row(r) for r in rows]

    def query_as_user(self, user_id: str, sql: str, **params: Any) -> list[dict[str, Any]]:
        """Run `sql` as a logged-in user of the CRM would through PostgREST: role `authenticated`
        and the user's id as JWT subject, so row-level security applies. One read-only
        transaction; raises CannotActAsUser when this role may not do that."""
        claims = json.dumps({"sub": user_id, "role": USER_ROLE})
        with self._lock:
            conn = self._connection()
            try:
                with conn.transaction():
                    conn.execute(f"SET LOCAL ROLE {USER_ROLE}")
                    conn.execute(
                        "SELECT set_config('request.jwt.claims', %(claims)s, true)", {"claims": claims}
                    )
                    rows = conn.execute(sql, {"org": self._org, **params}).fetchall()
            except (psycopg.errors.InsufficientPrivilege, psycopg.errors.InvalidParameterValue) as exc:
                raise CannotActAsUser(
                    f"the read-only role cannot act as role {USER_ROLE!r} ({str(exc).splitlines()[0]}); "
                    f"grant it {USER_ROLE} to check row-level security by behaviour"
                ) from None
        return [_row(r) for r in rows]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    # --- the runbook's evidence -------------------------------------------------------------

    def verification_results(self) -> dict[str, list[dict[str, Any]]]:
        return {name: self.query(sql) for name, sql in VERIFICATION_QUERIES.items()}

    def consistency_problems(self) -> dict[str, list[dict[str, Any]]]:
        found = {name: self.query(sql) for name, sql in CONSISTENCY_CHECKS.items()}
        return {name: rows for name, rows in found.items() if rows}

    # --- lookups for the scenarios ------------------------------------------------------------

    def links(self, conversation_id: int) -> list[Link]:
        rows = self.query(
            "SELECT * FROM messaging_conversation_links WHERE organization_id = %(org)s "
            "AND chatwoot_conversation_id = %(conv)s ORDER BY created_at",
            conv=conversation_id,
        )
        return [
            Link(
                r["chatwoot_conversation_id"],
                r["contact_id"],
                r["deal_id"],
                r["status"],
                r["unread_count"],
                r["ai_enabled"],
                r,
            )
            for r in rows
        ]

    def identities(self, source: str, external_id: str) -> list[IdentityRow]:
        rows = self.query(
            "SELECT id, source, external_id, contact_id FROM messaging_contact_identities "
            "WHERE organization_id = %(org)s AND source = %(source)s AND external_id = %(ext)s",
            source=source,
            ext=external_id,
        )
        return [IdentityRow(r["id"], r["source"], r["external_id"], r["contact_id"]) for r in rows]

    def identities_of_contact(self, contact_id: str) -> list[IdentityRow]:
        rows = self.query(
            "SELECT id, source, external_id, contact_id FROM messaging_contact_identities "
            "WHERE organization_id = %(org)s AND contact_id = %(contact)s ORDER BY source",
            contact=contact_id,
        )
        return [IdentityRow(r["id"], r["source"], r["external_id"], r["contact_id"]) for r in rows]

    def identities_ending_with(self, tail: str) -> list[dict[str, Any]]:
        """Identities whose external id ends like this one: what a near miss looks like."""
        return self.query(
            "SELECT source, external_id FROM messaging_contact_identities WHERE organization_id "
            "= %(org)s AND external_id LIKE %(tail)s",
            tail=f"%{tail}",
        )

    def contact(self, contact_id: str) -> dict[str, Any] | None:
        rows = self.query(
            "SELECT * FROM contacts WHERE organization_id = %(org)s AND id = %(id)s", id=contact_id
        )
        return rows[0] if rows else None

    def contacts_with_phone(self, phone_e164: str) -> list[str]:
        """Live contacts whose stored phone, whatever its format, is this number."""
        rows = self.query(
            "SELECT id, phone FROM contacts WHERE organization_id = %(org)s AND deleted_at IS NULL "
            "AND right(regexp_replace(phone, '\\D', '', 'g'), 8) = %(tail)s ORDER BY created_at",
            tail=phone_e164[-8:],
        )
        matching = []
        for r in rows:
            try:
                if e164(r["phone"]) == phone_e164:
                    matching.append(r["id"])
            except (InvalidIdentity, TypeError):
                continue
        return matching

    def contacts_named(self, name: str) -> list[str]:
        rows = self.query(
            "SELECT id FROM contacts WHERE organization_id = %(org)s AND name = %(name)s", name=name
        )
        return [r["id"] for r in rows]

    def resolution_actions(self, source: str, external_id: str) -> list[dict[str, Any]]:
        return self.query(
            "SELECT action, contact_id, identity_id, metadata, error_message, external_id "
            "FROM messaging_identity_resolution_log WHERE organization_id = %(org)s "
            "AND source = %(source)s AND external_id = %(ext)s ORDER BY id",
            source=source,
            ext=external_id,
        )

    def recent_invalid_identity_logs(self, source: str, *, minutes: int = 5) -> list[dict[str, Any]]:
        """'error' rows logged for an invalid external id in the last minutes."""
        return self.query(
            "SELECT action, metadata FROM messaging_identity_resolution_log WHERE organization_id = "
            "%(org)s AND source = %(source)s AND action = 'error' AND metadata->>'reason' = "
            "'invalid_external_id' AND created_at > now() - make_interval(mins => %(minutes)s)",
            source=source,
            minutes=minutes,
        )

    def message_count(self, message_id: int) -> int:
        rows = self.query(
            "SELECT count(*) AS n FROM messaging_messages_cache WHERE organization_id = %(org)s "
            "AND chatwoot_message_id = %(id)s",
            id=message_id,
        )
        return int(rows[0]["n"])

    def answers_cached_since(self, conversation_id: int, message_id: int) -> list[dict[str, Any]]:
        """The conversation's cached messages that are not the customer's, from the time of
        message `message_id` on (Chatwoot's time has whole seconds: an answer can share the
        second of the message it answers), newest first."""
        return self.query(
            "SELECT chatwoot_message_id, content, message_type FROM messaging_messages_cache "
            "WHERE organization_id = %(org)s AND chatwoot_conversation_id = %(conv)s "
            "AND message_type <> 'incoming' AND chatwoot_message_id <> %(id)s AND created_at >= ("
            "SELECT min(created_at) FROM messaging_messages_cache WHERE organization_id = %(org)s "
            "AND chatwoot_message_id = %(id)s) ORDER BY created_at DESC, chatwoot_message_id DESC",
            conv=conversation_id,
            id=message_id,
        )

    def cached_messages(self, message_id: int) -> list[dict[str, Any]]:
        """This organisation's cache rows for one Chatwoot message id."""
        return self.query(
            "SELECT * FROM messaging_messages_cache WHERE organization_id = %(org)s "
            "AND chatwoot_message_id = %(id)s ORDER BY created_at",
            id=message_id,
        )

    def cached_contents(self, conversation_id: int) -> list[dict[str, Any]]:
        """This organisation's cache rows of one conversation: Chatwoot message id and content."""
        return self.query(
            "SELECT chatwoot_message_id, content FROM messaging_messages_cache WHERE organization_id "
            "= %(org)s AND chatwoot_conversation_id = %(conv)s ORDER BY created_at",
            conv=conversation_id,
        )

    def deal_row(self, deal_id: str) -> dict[str, Any] | None:
        rows = self.query(
            "SELECT id, organization_id, contact_id, deleted_at FROM deals WHERE id = %(id)s", id=deal_id
        )
        return rows[0] if rows else None

    def contacts_with_email(self, email: str) -> list[str]:
        rows = self.query(
            "SELECT id FROM contacts WHERE organization_id = %(org)s AND deleted_at IS NULL "
            "AND lower(email) = lower(%(email)s) ORDER BY created_at",
            email=email,
        )
        return [r["id"] for r in rows]

    def written_for_conversation(self, conversation_id: int) -> int:
        """This organisation's links + cached messages for a conversation (0 = nothing)."""
        rows = self.query(
            "SELECT (SELECT count(*) FROM messaging_conversation_links WHERE organization_id = %(org)s "
            "AND chatwoot_conversation_id = %(conv)s) + (SELECT count(*) FROM messaging_messages_cache "
            "WHERE organization_id = %(org)s AND chatwoot_conversation_id = %(conv)s) AS n",
            conv=conversation_id,
        )
        return int(rows[0]["n"])

    def rows_for_conversation(self, conversation_id: int) -> int:
        """Links + cached messages written for a conversation (0 = nothing written)."""
        rows = self.query(
            "SELECT (SELECT count(*) FROM messaging_conversation_links WHERE chatwoot_conversation_id"
            " = %(conv)s) + (SELECT count(*) FROM messaging_messages_cache WHERE "
            "chatwoot_conversation_id = %(conv)s) AS n",
            conv=conversation_id,
        )
        return int(rows[0]["n"])


def unique_keys(sql: SqlVerifier, table: str) -> list[tuple[str, ...]]:
    """Column lists of the table's full (non-partial) unique indexes and constraints."""
    rows = sql.query(
        "SELECT array_agg(a.attname::text ORDER BY k.n) AS cols FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indrelid "
        "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
        "WHERE c.relname = %(table)s AND i.indisunique AND i.indpred IS NULL "
        "GROUP BY i.indexrelid",
        table=table,
    )
    return [tuple(r["cols"]) for r in rows]
