"""Data checks in SQL: the constraints a GO relies on, the consistency rules (crm-contract
§6.3) and the runbook's verification queries (§6.4)."""

from __future__ import annotations

from golive.clients.sql import CONSISTENCY_CHECKS, SqlVerifier, unique_keys

IDENTITY_KEY = ("messaging_contact_identities", ("organization_id", "source", "external_id"))
LINK_KEY = ("messaging_conversation_links", ("organization_id", "chatwoot_conversation_id"))


def _unique_key(sql: SqlVerifier, table: str, columns: tuple[str, ...]) -> None:
    keys = unique_keys(sql, table)
    if not any(set(key) == set(columns) for key in keys):
        raise AssertionError(
            f"{table} has no unique key on ({', '.join(columns)}): duplicates are possible "
            f"(unique keys found: {keys or 'none'})"
        )


def identities_unique(sql: SqlVerifier) -> None:
    _unique_key(sql, *IDENTITY_KEY)


def links_unique(sql: SqlVerifier) -> None:
    _unique_key(sql, *LINK_KEY)


def _consistent(sql: SqlVerifier, check: str) -> None:
    rows = sql.query(CONSISTENCY_CHECKS[check])
    if rows:
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        raise AssertionError(f"SQL consistency check failed, {check}: {rows[:5]}{more}")


def no_duplicate_links(sql: SqlVerifier) -> None:
    _consistent(sql, "duplicate conversation links")


def no_spread_identities(sql: SqlVerifier) -> None:
    _consistent(sql, "duplicate identities")


def identities_on_live_contacts(sql: SqlVerifier) -> None:
    _consistent(sql, "identities pointing to a deleted or foreign contact")


def verification_queries_scoped(sql: SqlVerifier) -> None:
    for name, rows in sql.verification_results().items():
        foreign = [r for r in rows if r["organization_id"] != sql.organization_id]
        if foreign:
            raise AssertionError(f"verification query {name} returned rows of another organisation")
