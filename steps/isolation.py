"""Channel and tenant isolation."""

from __future__ import annotations

from pytest_bdd import given, then, when

from golive import actions, checks
from golive.clients.sql import SqlVerifier
from golive.config import Organisation
from golive.conversations import Conversations, Sent
from golive.data import DataFactory
from golive.targets import Clients


@given("a person who writes on both WhatsApp and Instagram", target_fixture="customer")
def _(data: DataFactory) -> actions.Customer:
    return actions.person_on_both_channels(data)


@when("the person writes on WhatsApp and then on Instagram", target_fixture="both")
def _(conversations: Conversations, customer: actions.Customer) -> actions.TwoChannels:
    return actions.writes_on_both_channels(conversations, customer)


@then("the CRM accepts both conversations")
def _(sql: SqlVerifier, organisation: Organisation, both: actions.TwoChannels) -> None:
    checks.all_accepted((both.whatsapp, both.instagram), sql, timeout=organisation.timeout_s)


@then("the person has a WhatsApp and an Instagram identity with distinct keys")
def _(sql: SqlVerifier, customer: actions.Customer) -> None:
    checks.distinct_channel_identities(sql, customer.person)


@then("each conversation is linked to the contact of its own channel's identity")
def _(sql: SqlVerifier, organisation: Organisation, both: actions.TwoChannels) -> None:
    checks.each_linked_to_own_identity(sql, both.whatsapp, both.instagram, timeout=organisation.timeout_s)


@when("the user writes to an inbox that no organisation has configured", target_fixture="sent")
def _(conversations: Conversations, customer: actions.Customer, data: DataFactory) -> Sent:
    return actions.writes_to_foreign_inbox(conversations, customer, data)


@then("the CRM ignores the event as coming from a foreign inbox")
def _(sent: Sent) -> None:
    checks.webhook_ignored(sent.answers, "foreign_inbox")


@when(
    "the user writes to this organisation and to another organisation on the same account",
    target_fixture="tenants",
)
def _(conversations: Conversations, other_clients: Clients, customer: actions.Customer) -> actions.TwoTenants:
    return actions.writes_to_both_tenants(conversations, other_clients.conversations, customer)


@then("each organisation has its own contact and identity for the user")
def _(sql: SqlVerifier, other_clients: Clients, customer: actions.Customer) -> None:
    checks.tenants_apart(sql, other_clients.sql, str(customer.person.igsid))  # type: ignore[arg-type]
