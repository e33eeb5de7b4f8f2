"""Data checks in SQL: constraints, consistency, and the runbook's verification queries."""

from __future__ import annotations

from pytest_bdd import then

from golive.scenario import SqlVerifier, data_checks


@then("the identity table has a unique key on organisation, source and external id")
def _(sql: SqlVerifier) -> None:
    data_checks.identities_unique(sql)


@then("the conversation link table has a unique key on organisation and conversation")
def _(sql: SqlVerifier) -> None:
    data_checks.links_unique(sql)


@then("no conversation has more than one link")
def _(sql: SqlVerifier) -> None:
    data_checks.no_duplicate_links(sql)


@then("no external identity is spread over several contacts")
def _(sql: SqlVerifier) -> None:
    data_checks.no_spread_identities(sql)


@then("every identity points to a live contact of the organisation")
def _(sql: SqlVerifier) -> None:
    data_checks.identities_on_live_contacts(sql)


@then("the runbook's verification queries are recorded as evidence")
def _(sql: SqlVerifier) -> None:
    data_checks.verification_queries_scoped(sql)
