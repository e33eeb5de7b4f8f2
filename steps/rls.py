"""Row-level security of the v2 tables: the catalog, and what a user of the organisation reads."""

from __future__ import annotations

from pytest_bdd import given, then, when

from golive.scenario import Conversations, DataFactory, SqlVerifier, rls


@then("row-level security is enabled on every v2 table")
def _(sql: SqlVerifier) -> None:
    rls.rls_enabled(sql)


@then("every policy on the v2 tables restricts rows to the user's organisation")
def _(sql: SqlVerifier) -> None:
    rls.policies_restrict_by_organisation(sql)


@given("an Instagram user has written to this organisation and another to the other organisation")
def _(conversations: Conversations, other_conversations: Conversations, data: DataFactory) -> None:
    rls.written_in_both(conversations, other_conversations, data)


@when("a user of this organisation reads the v2 tables", target_fixture="user_view")
def _(sql: SqlVerifier, org_user: rls.OrgUser) -> rls.UserView:
    return rls.read_as_user(sql, org_user)


@then("the user sees their own organisation's identities, links and cached messages")
def _(user_view: rls.UserView) -> None:
    rls.sees_own_rows(user_view)


@then("the user sees none of the other organisation's identities, links or cached messages")
def _(user_view: rls.UserView) -> None:
    rls.sees_no_foreign_rows(user_view)
