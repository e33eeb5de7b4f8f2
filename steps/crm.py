"""What the CRM must have done with the conversations: links, contacts, identities, logs."""

from __future__ import annotations

from pytest_bdd import then

from golive import actions, checks
from golive.clients.sql import SqlVerifier
from golive.config import Organisation
from golive.conversations import Sent


@then("the CRM accepts the conversation")
def _(sql: SqlVerifier, organisation: Organisation, sent: Sent) -> None:
    checks.accepted(sent, sql, timeout=organisation.timeout_s)


@then("the CRM accepts every copy")
def _(sent: Sent) -> None:
    checks.webhook_processed(sent.answers)


@then("the CRM accepts every replayed delivery")
def _(replayed: actions.Replayed) -> None:
    checks.webhook_processed(replayed.answers)


@then("the CRM accepts the new conversation")
def _(second: Sent) -> None:
    checks.webhook_processed(second.answers)


@then("the conversation is linked to the customer's existing contact")
def _(sql: SqlVerifier, organisation: Organisation, sent: Sent, customer: actions.Customer) -> None:
    checks.linked_to(
        checks.single_link(sql, sent.conversation_id, timeout=organisation.timeout_s),
        str(customer.contact_id),
        "the customer's existing contact",
        " — WhatsApp regression: a new contact was created for a known customer",
    )


@then("no second contact exists for the customer's phone")
def _(sql: SqlVerifier, customer: actions.Customer) -> None:
    checks.one_contact_for_phone(sql, str(customer.person.phone), str(customer.contact_id))


@then("the customer has a WhatsApp identity keyed by the phone in E.164")
def _(sql: SqlVerifier, customer: actions.Customer) -> None:
    checks.whatsapp_identity(sql, str(customer.person.phone), str(customer.contact_id))


@then("the identity resolution is logged as matched or phone fallback")
def _(sql: SqlVerifier, customer: actions.Customer) -> None:
    checks.resolution_logged(sql, "WHATSAPP", str(customer.person.phone), {"matched", "fallback_phone"})


@then("a new contact is created for the user")
def _(sql: SqlVerifier, organisation: Organisation, sent: Sent) -> None:
    checks.new_contact_for(sql, sent, timeout=organisation.timeout_s)


@then("the user has an Instagram identity keyed by the IGSID")
def _(sql: SqlVerifier, sent: Sent) -> None:
    checks.instagram_identity(sql, sent)


@then("the conversation is linked to the user's contact")
def _(sql: SqlVerifier, organisation: Organisation, sent: Sent) -> None:
    checks.linked_to_identity(sql, sent, timeout=organisation.timeout_s)


@then("the identity resolution is logged as created")
def _(sql: SqlVerifier, sent: Sent) -> None:
    checks.resolution_logged(sql, "INSTAGRAM", str(sent.person.igsid), {"created"})


@then("no contact and no identity are created for the user")
def _(sql: SqlVerifier, sent: Sent) -> None:
    checks.nothing_created_for(sql, sent)


@then("the rejection is logged as an invalid identity")
def _(sql: SqlVerifier) -> None:
    checks.invalid_identity_logged(sql, "INSTAGRAM")


@then("the conversation still has exactly one link")
def _(sql: SqlVerifier, organisation: Organisation, sent: Sent) -> None:
    checks.single_link(sql, sent.conversation_id, timeout=organisation.timeout_s)


@then("the user still has exactly one contact and one identity")
def _(sql: SqlVerifier, sent: Sent) -> None:
    checks.one_contact_one_identity(sql, "INSTAGRAM", str(sent.person.igsid), sent.person.name)


@then("nothing recorded before the replay has changed")
def _(sql: SqlVerifier, sent: Sent, replayed: actions.Replayed) -> None:
    actions.after_replay(sql, sent, replayed)


@then("the new conversation is linked to the user's contact")
def _(sql: SqlVerifier, organisation: Organisation, sent: Sent, second: Sent) -> None:
    checks.same_contact(sql, sent, second, timeout=organisation.timeout_s)
