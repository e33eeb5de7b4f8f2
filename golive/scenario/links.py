"""Conversation links: every conversation linked exactly once, to the right contact."""

from __future__ import annotations

from golive.clients.sql import IdentityRow, Link, SqlVerifier
from golive.scenario.customers import Customer, TwoChannels
from golive.scenario.identities import distinct_channel_identities, new_contact_for, single_identity
from golive.scenario.injection import Sent
from golive.scenario.webhooks import accepted
from golive.waiting import eventually


def single_link(sql: SqlVerifier, conversation_id: int) -> Link:
    links = eventually(
        lambda: sql.links(conversation_id),
        bool,
        timeout=sql.timeout_s,
        what=f"a conversation link for conversation {conversation_id}",
    )
    if len(links) != 1:
        raise AssertionError(
            f"conversation {conversation_id} has {len(links)} conversation links, expected "
            f"exactly one (re-entry is not idempotent): contact ids "
            f"{[link.contact_id for link in links]}"
        )
    return links[0]


def linked_to(link: Link, contact_id: str, who: str, why: str = "") -> None:
    if link.contact_id != contact_id:
        raise AssertionError(
            f"the conversation is linked to contact {link.contact_id}, expected {who} {contact_id}{why}"
        )


def linked_to_existing_contact(sql: SqlVerifier, sent: Sent, customer: Customer) -> None:
    linked_to(
        single_link(sql, sent.conversation_id),
        customer.known_contact,
        "the customer's existing contact",
        " — WhatsApp regression: a new contact was created for a known customer",
    )


def linked_to_identity(sql: SqlVerifier, sent: Sent) -> None:
    row = single_identity(sql, "INSTAGRAM", sent.person.instagram_id)
    linked_to(single_link(sql, sent.conversation_id), row.contact_id, "the contact of the Instagram identity")


def linked_to_new_contact(sql: SqlVerifier, sent: Sent) -> None:
    new_contact_for(sql, sent, single_link(sql, sent.conversation_id).contact_id)


def same_contact(sql: SqlVerifier, first: Sent, second: Sent) -> None:
    a = single_link(sql, first.conversation_id)
    b = single_link(sql, second.conversation_id)
    if a.contact_id is None or a.contact_id != b.contact_id:
        raise AssertionError(
            f"the new conversation is linked to contact {b.contact_id}, the first one to "
            f"{a.contact_id}: the same Instagram user became two contacts"
        )


def each_linked_to_own_identity(sql: SqlVerifier, both: TwoChannels) -> None:
    identities: tuple[IdentityRow, IdentityRow] = distinct_channel_identities(sql, both.whatsapp.person)
    for sent, identity in zip((both.whatsapp, both.instagram), identities, strict=True):
        link = single_link(sql, sent.conversation_id)
        linked_to(link, identity.contact_id, f"the contact of the {identity.source} identity")


def tenants_apart(here_sql: SqlVerifier, there_sql: SqlVerifier, tenants: tuple[Sent, Sent]) -> None:
    """Both organisations took the user's conversation, each for a contact of its own."""
    here, there = tenants
    accepted(here, here_sql)
    accepted(there, there_sql)
    igsid = here.person.instagram_id
    mine = single_identity(here_sql, "INSTAGRAM", igsid)
    theirs = single_identity(there_sql, "INSTAGRAM", igsid)
    if mine.contact_id == theirs.contact_id:
        raise AssertionError(f"two organisations share contact {mine.contact_id} for Instagram user {igsid}")
    if here_sql.contact(mine.contact_id) is None or there_sql.contact(theirs.contact_id) is None:
        raise AssertionError(f"an Instagram identity of {igsid} points to a contact of another organisation")
    linked_to(single_link(here_sql, here.conversation_id), mine.contact_id, "this organisation's contact")
    linked_to(
        single_link(there_sql, there.conversation_id), theirs.contact_id, "the other organisation's contact"
    )
