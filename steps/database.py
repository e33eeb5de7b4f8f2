"""Data checks in SQL: constraints, consistency, and the runbook's verification queries."""

from __future__ import annotations

from pytest_bdd import then

from golive import checks
from golive.clients.sql import SqlVerifier


@then("the identity table has a unique key on organisation, source and external id")
def _(sql: SqlVerifier) -> None:
    checks.unique_key(sql, "messaging_contact_identities", ("organization_id", "source", "external_id"))


@then("the conversation link table has a unique key on organisation and conversation")
def _(sql: SqlVerifier) -> None:
    checks.unique_key(sql, "messaging_conversation_links", ("organization_id", "chatwoot_conversation_id"))


@then("no conversation has more than one link")
def _(sql: SqlVerifier) -> None:
    checks.consistent(sql, "duplicate conversation links")


@then("no external identity is spread over several contacts")
def _(sql: SqlVerifier) -> None:
    checks.consistent(sql, "duplicate identities")


@then("every identity points to a live contact of the organisation")
def _(sql: SqlVerifier) -> None:
    checks.consistent(sql, "identities pointing to a deleted or foreign contact")


@then("the runbook's verification queries are recorded as evidence")
def _(sql: SqlVerifier) -> None:
    checks.verification_queries_scoped(sql)
