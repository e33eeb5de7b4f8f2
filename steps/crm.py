"""What the CRM must have done with the conversations: links, contacts, identities, logs."""

from __future__ import annotations

from pytest_bdd import then

from golive.scenario import (
    ChatwootClient,
    Sent,
    SqlVerifier,
    customers,
    identities,
    links,
    provider_checks,
    races,
    webhooks,
    whole_state,
)


@then("the CRM accepts the conversation")
def _(sql: SqlVerifier, sent: Sent) -> None:
    webhooks.accepted(sent, sql)


@then("the CRM accepts the new conversation")
def _(sql: SqlVerifier, second: Sent) -> None:
    webhooks.accepted(second, sql)


@then("the CRM accepts every copy")
def _(sql: SqlVerifier, sent: Sent) -> None:
    webhooks.written(sent, sql)


@then("the CRM accepts every replayed delivery")
def _(sql: SqlVerifier, sent: Sent, replayed: webhooks.Replayed) -> None:
    webhooks.written(sent, sql, replayed.answers)


@then("the CRM records the conversation and its first message")
def _(sql: SqlVerifier, sent: Sent) -> None:
    webhooks.recorded(sent, sql)


@then("the CRM records the new message")
def _(sql: SqlVerifier, reply: Sent) -> None:
    webhooks.recorded(reply, sql)


@then("everything the CRM wrote matches what Chatwoot sent")
def _(sql: SqlVerifier, sent: Sent) -> None:
    whole_state.everything_written(sql, sent)


@then("everything the CRM wrote matches what Chatwoot sent about the known customer")
def _(sql: SqlVerifier, sent: Sent, customer: customers.Customer) -> None:
    whole_state.everything_written(sql, sent, known_contact=customer.before)


@then("everything the CRM wrote for the new conversation matches what Chatwoot sent")
def _(sql: SqlVerifier, second: Sent) -> None:
    whole_state.everything_written(sql, second)


@then("everything the CRM wrote for the new message matches what Chatwoot sent")
def _(sql: SqlVerifier, reply: Sent) -> None:
    whole_state.everything_written(sql, reply)


@then("everything the CRM wrote for both conversations matches what Chatwoot sent")
def _(sql: SqlVerifier, both: customers.TwoChannels) -> None:
    whole_state.everything_written_for_both(sql, both)


@then("the message is stored once and counted once as unread")
def _(sql: SqlVerifier, twice: webhooks.Twice) -> None:
    webhooks.stored_once(sql, twice)


@then("the user's Instagram identity has one owner and every conversation is linked to it")
def _(sql: SqlVerifier, claim: races.Claim) -> None:
    races.one_owner(sql, claim)


@then("the customer gets a WhatsApp identity keyed by the wa_id in E.164")
def _(sql: SqlVerifier, sent: Sent) -> None:
    identities.whatsapp_identity_of_sender(sql, sent)


@then("nothing is created for the placeholder")
def _(sql: SqlVerifier, sent: Sent, customer: customers.Customer) -> None:
    identities.nothing_created_for_placeholder(sql, sent, customer)


@then("the placeholder is logged as an invalid identity")
def _(sql: SqlVerifier, sent: Sent, customer: customers.Customer) -> None:
    identities.placeholder_rejection_logged(sql, sent, customer)


@then("the conversation is linked to the customer's existing contact")
def _(sql: SqlVerifier, sent: Sent, customer: customers.Customer) -> None:
    links.linked_to_existing_contact(sql, sent, customer)


@then("no second contact exists for the customer's phone")
def _(sql: SqlVerifier, customer: customers.Customer) -> None:
    identities.one_contact_for_phone(sql, customer.person, customer.known_contact)


@then("the customer has a WhatsApp identity keyed by the phone in E.164")
def _(sql: SqlVerifier, customer: customers.Customer) -> None:
    identities.whatsapp_identity(sql, customer.person, customer.known_contact)


@then("the identity resolution is logged as matched or phone fallback")
def _(sql: SqlVerifier, customer: customers.Customer) -> None:
    identities.whatsapp_resolution_kept(sql, customer.person)


@then("a new contact is created for the user")
def _(sql: SqlVerifier, sent: Sent) -> None:
    links.linked_to_new_contact(sql, sent)


@then("the user has an Instagram identity keyed by the IGSID")
def _(sql: SqlVerifier, sent: Sent) -> None:
    identities.instagram_identity(sql, sent)


@then("the conversation is linked to the user's contact")
def _(sql: SqlVerifier, sent: Sent) -> None:
    links.linked_to_identity(sql, sent)


@then("the identity resolution is logged as created")
def _(sql: SqlVerifier, sent: Sent) -> None:
    identities.instagram_contact_created(sql, sent)


@then("no contact and no identity are created for the user")
def _(sql: SqlVerifier, sent: Sent) -> None:
    identities.nothing_created_for(sql, sent)


@then("the rejection is logged as an invalid identity")
def _(sql: SqlVerifier) -> None:
    identities.invalid_identity_logged(sql, "INSTAGRAM")


@then("the conversation still has exactly one link")
def _(sql: SqlVerifier, sent: Sent) -> None:
    links.single_link(sql, sent.conversation_id)


@then("the user still has exactly one contact and one identity")
def _(sql: SqlVerifier, sent: Sent) -> None:
    identities.one_contact_one_identity(sql, sent)


@then("nothing recorded before the replay has changed")
def _(sql: SqlVerifier, sent: Sent, replayed: webhooks.Replayed) -> None:
    webhooks.unchanged_by_replay(sql, sent, replayed)


@then("the new conversation is linked to the user's contact")
def _(sql: SqlVerifier, sent: Sent, second: Sent) -> None:
    links.same_contact(sql, sent, second)


@then("Chatwoot and the CRM each hold that message once")
def _(chatwoot_api: ChatwootClient, sql: SqlVerifier, meta_twice: provider_checks.MetaTwice) -> None:
    provider_checks.once_in_chatwoot_and_crm(chatwoot_api, sql, meta_twice)
