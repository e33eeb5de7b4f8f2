"""Channel and tenant isolation."""

from __future__ import annotations

from pytest_bdd import then, when

from golive.scenario import (
    Conversations,
    DataFactory,
    Sent,
    SqlVerifier,
    customers,
    identities,
    links,
    webhooks,
)


@then("the CRM accepts both conversations")
def _(sql: SqlVerifier, both: customers.TwoChannels) -> None:
    webhooks.all_accepted((both.whatsapp, both.instagram), sql)


@then("the person has a WhatsApp and an Instagram identity with distinct keys")
def _(sql: SqlVerifier, customer: customers.Customer) -> None:
    identities.distinct_channel_identities(sql, customer.person)


@then("each conversation is linked to the contact of its own channel's identity")
def _(sql: SqlVerifier, both: customers.TwoChannels) -> None:
    links.each_linked_to_own_identity(sql, both)


@when("the user writes to an inbox that no organisation has configured", target_fixture="sent")
def _(conversations: Conversations, customer: customers.Customer, data: DataFactory) -> Sent:
    return customers.writes_to_foreign_inbox(conversations, customer, data)


@then("the CRM ignores the event as coming from a foreign inbox")
def _(sent: Sent) -> None:
    webhooks.ignored_as_foreign_inbox(sent)


@when(
    "the user writes to this organisation and to another organisation on the same account",
    target_fixture="tenants",
)
def _(
    conversations: Conversations, other_conversations: Conversations, customer: customers.Customer
) -> tuple[Sent, Sent]:
    return customers.writes_to_both_tenants(conversations, other_conversations, customer)


@then("each organisation has its own contact and identity for the user")
def _(sql: SqlVerifier, other_sql: SqlVerifier, tenants: tuple[Sent, Sent]) -> None:
    links.tenants_apart(sql, other_sql, tenants)


@then("nothing is written for that conversation in the other organisation")
def _(other_sql: SqlVerifier, sent: Sent) -> None:
    webhooks.nothing_written_in(other_sql, sent.conversation_id)
