"""Contacts and external identities: who the CRM decided the customer is, and the log of how."""

from __future__ import annotations

from typing import Any

from golive.clients.sql import IdentityRow, SqlVerifier
from golive.identity import InvalidIdentity, parse_key
from golive.scenario.customers import Customer
from golive.scenario.data import Person, required
from golive.scenario.injection import Sent
from golive.scenario.webhooks import settled

CREATED = {"created"}
MATCHED_OR_PHONE_FALLBACK = {"matched", "fallback_phone"}


def single_identity(sql: SqlVerifier, source: str, external_id: str) -> IdentityRow:
    rows = sql.identities(source, external_id)
    if not rows:
        others = sql.identities_ending_with(external_id[-8:])
        hint = f"; found instead: {others}" if others else ""
        raise AssertionError(f"no {source} identity with external id {external_id!r}{hint}")
    if len(rows) > 1:
        raise AssertionError(f"{len(rows)} {source} identities for {external_id!r}, expected one")
    return rows[0]


def canonical_key(row: IdentityRow, expected: str) -> None:
    key = f"{row.source.lower()}:{row.external_id}"
    try:
        parse_key(key)
    except InvalidIdentity as exc:
        raise AssertionError(f"the {row.source} identity is not canonical: {exc}") from None
    if key != expected:
        raise AssertionError(f"the identity's key is {key!r}, expected {expected!r}")


# --- WhatsApp ----------------------------------------------------------------------------------


def one_contact_for_phone(sql: SqlVerifier, person: Person, expected_contact: str) -> None:
    phone = person.whatsapp_id
    contacts = sql.contacts_with_phone(phone)
    if contacts != [expected_contact]:
        extra = [c for c in contacts if c != expected_contact]
        raise AssertionError(
            f"WhatsApp regression: {len(contacts)} contacts now have phone {phone}; "
            f"new contact(s) {extra} were created instead of reusing {expected_contact}"
        )


def whatsapp_identity(sql: SqlVerifier, person: Person, contact_id: str) -> None:
    phone = person.whatsapp_id
    row = single_identity(sql, "WHATSAPP", phone)
    canonical_key(row, f"whatsapp:{phone}")
    if row.contact_id != contact_id:
        raise AssertionError(
            f"the WhatsApp identity {phone} points to contact {row.contact_id}, expected "
            f"the customer's contact {contact_id}"
        )


def whatsapp_identity_of_sender(sql: SqlVerifier, sent: Sent) -> None:
    """The customer's WhatsApp identity, keyed by the wa_id in E.164, owns the link's contact."""
    settled(sent, sql)
    phone = sent.person.whatsapp_id
    row = single_identity(sql, "WHATSAPP", phone)
    canonical_key(row, f"whatsapp:{phone}")
    links = sql.links(sent.conversation_id)
    linked = links[0].contact_id if links else None
    if row.contact_id != linked:
        raise AssertionError(
            f"the WhatsApp identity {phone} belongs to contact {row.contact_id}, but the "
            f"conversation is linked to {linked}"
        )


# --- Instagram ---------------------------------------------------------------------------------


def instagram_identity(sql: SqlVerifier, sent: Sent) -> None:
    settled(sent, sql)
    igsid = sent.person.instagram_id
    if not sql.identities("INSTAGRAM", igsid):
        _filed_under_someone_else(sql, sent, igsid)
    canonical_key(single_identity(sql, "INSTAGRAM", igsid), f"instagram:{igsid}")


def _filed_under_someone_else(sql: SqlVerifier, sent: Sent, igsid: str) -> None:
    """The customer has no identity, but the conversation's contact has another customer's:
    the conversation's events named another contact inbox than the sender's."""
    links = sql.links(sent.conversation_id)
    contact_id = links[0].contact_id if links else None
    owned = sql.identities_of_contact(str(contact_id)) if contact_id else []
    other = [r.external_id for r in owned if r.source == "INSTAGRAM" and r.external_id != igsid]
    if other:
        raise AssertionError(
            f"the CRM holds conversation {sent.conversation_id} under instagram:{other[0]} (contact "
            f"{contact_id}), but the customer who wrote is instagram:{igsid} — Chatwoot's contact "
            "inbox for this conversation's contact: the conversation's events named another "
            "customer's contact inbox, or the CRM read the wrong one"
        )


def new_contact_for(sql: SqlVerifier, sent: Sent, contact_id: str | None) -> dict[str, Any]:
    name = sent.person.name
    why = ""
    if sent.person.igsid:
        why = (
            f": the CRM resolved no Instagram user from IGSID {sent.person.igsid}, which Chatwoot "
            "sends as contact_inbox.source_id (not in meta.sender.identifier)"
        )
    if contact_id is None:
        raise AssertionError(f"no contact is linked to the conversation of {name!r}{why}")
    contact = sql.contact(contact_id)
    if contact is None or contact["name"] != name:
        raise AssertionError(f"expected a new contact named {name!r}, found {contact}")
    return contact


def one_contact_one_identity(sql: SqlVerifier, sent: Sent) -> str:
    identity = single_identity(sql, "INSTAGRAM", sent.person.instagram_id)
    contacts = sql.contacts_named(sent.person.name)
    if contacts != [identity.contact_id]:
        orphans = [c for c in contacts if c != identity.contact_id]
        raise AssertionError(
            f"{sent.person.name!r} has {len(contacts)} contacts {contacts}; expected exactly one, the "
            f"identity's contact {identity.contact_id}; orphan contact(s) {orphans} were left by "
            "concurrent first events (identity resolution is not serialised per identity)"
        )
    return identity.contact_id


def nothing_created_for(sql: SqlVerifier, sent: Sent) -> None:
    contacts = sql.contacts_named(sent.person.name)
    if contacts:
        raise AssertionError(
            f"a contact was created for {sent.person.name!r} although the event had no "
            f"usable identifier: {contacts}"
        )
    links = sql.links(sent.conversation_id)
    if any(link.contact_id for link in links):
        raise AssertionError(
            "the conversation was linked to a contact although it had no usable "
            f"identifier: {[link.contact_id for link in links]}"
        )
    if sent.person.igsid and sql.identities("INSTAGRAM", sent.person.igsid):
        raise AssertionError(
            f"an Instagram identity was created for {sent.person.igsid} although the event did not carry it"
        )


# --- the resolution log ------------------------------------------------------------------------


def resolution_logged(sql: SqlVerifier, source: str, external_id: str, actions: set[str]) -> None:
    rows = sql.resolution_actions(source, external_id)
    if not rows:
        raise AssertionError(f"no identity resolution was logged for {source} {external_id!r}")
    if rows[0]["action"] not in actions:
        raise AssertionError(
            f"the identity resolution for {source} {external_id!r} was logged as "
            f"{rows[0]['action']!r}, expected {' or '.join(sorted(actions))}"
        )


def whatsapp_resolution_kept(sql: SqlVerifier, person: Person) -> None:
    resolution_logged(sql, "WHATSAPP", person.whatsapp_id, MATCHED_OR_PHONE_FALLBACK)


def instagram_contact_created(sql: SqlVerifier, sent: Sent) -> None:
    resolution_logged(sql, "INSTAGRAM", sent.person.instagram_id, CREATED)


def invalid_identity_logged(sql: SqlVerifier, source: str) -> None:
    if not sql.recent_invalid_identity_logs(source):
        raise AssertionError(
            f"the rejected {source} event left no 'error' (invalid_external_id) row in the "
            "identity resolution log"
        )


# --- isolation ---------------------------------------------------------------------------------


def distinct_channel_identities(sql: SqlVerifier, person: Person) -> tuple[IdentityRow, IdentityRow]:
    whatsapp = single_identity(sql, "WHATSAPP", person.whatsapp_id)
    instagram = single_identity(sql, "INSTAGRAM", person.instagram_id)
    keys = {f"{r.source.lower()}:{r.external_id}" for r in (whatsapp, instagram)}
    if len(keys) != 2:
        raise AssertionError(f"the WhatsApp and Instagram identities of one person share a key: {keys}")
    canonical_key(whatsapp, f"whatsapp:{person.whatsapp_id}")
    canonical_key(instagram, f"instagram:{person.instagram_id}")
    return whatsapp, instagram


# --- placeholders where an identifier belongs ----------------------------------------------------

SOURCES = {"whatsapp": "WHATSAPP", "instagram": "INSTAGRAM"}


def nothing_created_for_placeholder(sql: SqlVerifier, sent: Sent, customer: Customer) -> None:
    placeholder = required(customer.placeholder, "the placeholder id")
    source = SOURCES[sent.channel]
    made = sql.identities(source, placeholder)
    if made:
        raise AssertionError(
            f"the placeholder {placeholder!r} was accepted as a {source} identity "
            f"({source.lower()}:{placeholder}, contact {made[0].contact_id}); placeholders, names and "
            "non-numbers are never identities (crm-contract §4.3)"
        )
    nothing_created_for(sql, sent)


def placeholder_rejection_logged(sql: SqlVerifier, sent: Sent, customer: Customer) -> None:
    placeholder = required(customer.placeholder, "the placeholder id")
    source = SOURCES[sent.channel]
    rows = sql.resolution_actions(source, placeholder)
    if not any(r["action"] == "error" for r in rows):
        actions = [r["action"] for r in rows] or "none"
        raise AssertionError(
            f"the {source} message whose id was the placeholder {placeholder!r} left no 'error' "
            f"(invalid external id) row in the identity resolution log (found: {actions})"
        )
