"""The scenarios' assertions, with messages in the rollout's language.

A failing check says what the rollout expected, what the target did instead, and the
rows or answers that prove it: the kill matrix shows these messages to a QA engineer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from golive.clients.crm import Answer, CrmClient, Deal
from golive.clients.sql import CONSISTENCY_CHECKS, IdentityRow, Link, SqlVerifier, unique_keys
from golive.clients.webhook import WebhookAnswer
from golive.conversations import Sent
from golive.data import Person
from golive.identity import InvalidIdentity, parse_key
from golive.waiting import eventually

_VOLATILE = {"updated_at", "last_used_at"}


def _fail(message: str) -> AssertionError:
    return AssertionError(message)


def webhook_processed(answers: Sequence[WebhookAnswer]) -> None:
    bad = [a for a in answers if a.status != 200 or a.ignored or a.body.get("success") is not True]
    if bad:
        shown = "; ".join(f"{a.status} {a.body}" for a in bad[:3])
        raise _fail(
            f"the CRM webhook did not process the event ({len(bad)} of {len(answers)} deliveries): {shown}"
        )


def accepted(sent: Sent, sql: SqlVerifier, *, timeout: float) -> None:
    """The CRM took the conversation: from the webhook's answers when the suite delivered it,
    from the CRM's data when Chatwoot did (its delivery answers are not observable)."""
    if sent.via != "chatwoot":
        webhook_processed(sent.answers)
        return
    eventually(
        lambda: sql.links(sent.conversation_id),
        bool,
        timeout=timeout,
        what=f"the CRM to link conversation {sent.conversation_id}, which Chatwoot delivered",
    )


def all_accepted(sents: Sequence[Sent], sql: SqlVerifier, *, timeout: float) -> None:
    for sent in sents:
        accepted(sent, sql, timeout=timeout)


def webhook_refused(answers: Sequence[WebhookAnswer], status: int, reason: str) -> None:
    wrong = [a for a in answers if a.status != status]
    if wrong:
        shown = "; ".join(f"{a.status} {a.body}" for a in wrong[:3])
        raise _fail(
            f"expected the CRM webhook to refuse the delivery with {status} ({reason}), "
            f"but it answered: {shown}"
        )


def webhook_ignored(answers: Sequence[WebhookAnswer], why: str) -> None:
    wrong = [a for a in answers if a.status != 200 or a.ignored != why]
    if wrong:
        shown = "; ".join(f"{a.status} {a.body}" for a in wrong[:3])
        raise _fail(f"expected the CRM to ignore the event as '{why}', but it answered: {shown}")


def single_link(sql: SqlVerifier, conversation_id: int, *, timeout: float) -> Link:
    links = eventually(
        lambda: sql.links(conversation_id),
        bool,
        timeout=timeout,
        what=f"a conversation link for conversation {conversation_id}",
    )
    if len(links) != 1:
        raise _fail(
            f"conversation {conversation_id} has {len(links)} conversation links, expected "
            f"exactly one (re-entry is not idempotent): contact ids "
            f"{[link.contact_id for link in links]}"
        )
    return links[0]


def linked_to(link: Link, contact_id: str, who: str, why: str = "") -> None:
    if link.contact_id != contact_id:
        raise _fail(
            f"the conversation is linked to contact {link.contact_id}, expected {who} {contact_id}{why}"
        )


def single_identity(sql: SqlVerifier, source: str, external_id: str) -> IdentityRow:
    rows = sql.identities(source, external_id)
    if not rows:
        others = sql.query(
            "SELECT source, external_id FROM messaging_contact_identities WHERE organization_id "
            "= %(org)s AND external_id LIKE %(tail)s",
            tail=f"%{external_id[-8:]}",
        )
        hint = f"; found instead: {others}" if others else ""
        raise _fail(f"no {source} identity with external id {external_id!r}{hint}")
    if len(rows) > 1:
        raise _fail(f"{len(rows)} {source} identities for {external_id!r}, expected one")
    return rows[0]


def canonical_key(row: IdentityRow, expected: str) -> None:
    key = f"{row.source.lower()}:{row.external_id}"
    try:
        parse_key(key)
    except InvalidIdentity as exc:
        raise _fail(f"the {row.source} identity is not canonical: {exc}") from None
    if key != expected:
        raise _fail(f"the identity's key is {key!r}, expected {expected!r}")


def one_contact_for_phone(sql: SqlVerifier, phone: str, expected_contact: str) -> None:
    contacts = sql.contacts_with_phone(phone)
    if contacts != [expected_contact]:
        extra = [c for c in contacts if c != expected_contact]
        raise _fail(
            f"WhatsApp regression: {len(contacts)} contacts now have phone {phone}; "
            f"new contact(s) {extra} were created instead of reusing {expected_contact}"
        )


def contact_is_new(sql: SqlVerifier, contact_id: str | None, name: str, why: str = "") -> dict[str, Any]:
    if contact_id is None:
        raise _fail(f"no contact is linked to the conversation of {name!r}{why}")
    contact = sql.contact(contact_id)
    if contact is None or contact["name"] != name:
        raise _fail(f"expected a new contact named {name!r}, found {contact}")
    return contact


def resolution_logged(sql: SqlVerifier, source: str, external_id: str, actions: set[str]) -> None:
    rows = sql.resolution_actions(source, external_id)
    if not rows:
        raise _fail(f"no identity resolution was logged for {source} {external_id!r}")
    if rows[0]["action"] not in actions:
        raise _fail(
            f"the identity resolution for {source} {external_id!r} was logged as "
            f"{rows[0]['action']!r}, expected {' or '.join(sorted(actions))}"
        )


def nothing_created_for(sql: SqlVerifier, sent: Sent) -> None:
    contacts = sql.contacts_named(sent.person.name)
    if contacts:
        raise _fail(
            f"a contact was created for {sent.person.name!r} although the event had no "
            f"usable identifier: {contacts}"
        )
    links = sql.links(sent.conversation_id)
    if any(link.contact_id for link in links):
        raise _fail(
            "the conversation was linked to a contact although it had no usable "
            f"identifier: {[link.contact_id for link in links]}"
        )
    if sent.person.igsid and sql.identities("INSTAGRAM", sent.person.igsid):
        raise _fail(
            f"an Instagram identity was created for {sent.person.igsid} although the event did not carry it"
        )


def invalid_identity_logged(sql: SqlVerifier, source: str) -> None:
    rows = sql.query(
        "SELECT action, metadata FROM messaging_identity_resolution_log WHERE organization_id = "
        "%(org)s AND source = %(source)s AND action = 'error' AND metadata->>'reason' = "
        "'invalid_external_id' AND created_at > now() - interval '5 minutes'",
        source=source,
    )
    if not rows:
        raise _fail(
            f"the rejected {source} event left no 'error' (invalid_external_id) row in the "
            "identity resolution log"
        )


def nothing_written(sql: SqlVerifier, conversation_id: int) -> None:
    count = sql.rows_for_conversation(conversation_id)
    if count:
        raise _fail(f"the refused delivery still wrote {count} row(s) for conversation {conversation_id}")


# --- snapshots: "nothing recorded before the replay has changed" ---------------------------


@dataclass(frozen=True)
class Snapshot:
    link: dict[str, Any]
    identities: list[IdentityRow]
    contact: dict[str, Any] | None
    messages: int


def snapshot(sql: SqlVerifier, conversation_id: int, message_id: int, contact_id: str | None) -> Snapshot:
    links = sql.links(conversation_id)
    link = {k: v for k, v in links[0].row.items() if k not in _VOLATILE} if links else {}
    contact = sql.contact(contact_id) if contact_id else None
    if contact:
        contact = {k: v for k, v in contact.items() if k not in _VOLATILE}
    identities = sql.identities_of_contact(contact_id) if contact_id else []
    return Snapshot(link, identities, contact, sql.message_count(message_id))


def unchanged(before: Snapshot, after: Snapshot) -> None:
    if before.link != after.link:
        diff = {
            k: (before.link.get(k), after.link.get(k))
            for k in set(before.link) | set(after.link)
            if before.link.get(k) != after.link.get(k)
        }
        raise _fail(f"the replay changed the conversation link: {diff} (before → after)")
    if before.identities != after.identities:
        raise _fail(f"the replay changed the contact's identities: {before.identities} → {after.identities}")
    if before.contact != after.contact:
        raise _fail("the replay changed the contact")
    if before.messages != after.messages:
        raise _fail(f"the replay cached the message {after.messages} times, expected {before.messages}")


def one_contact_one_identity(sql: SqlVerifier, source: str, external_id: str, name: str) -> str:
    identity = single_identity(sql, source, external_id)
    contacts = sql.contacts_named(name)
    if contacts != [identity.contact_id]:
        raise _fail(
            f"{name!r} has {len(contacts)} contacts {contacts}; expected exactly one, the "
            f"identity's contact {identity.contact_id}"
        )
    return identity.contact_id


# --- deals ---------------------------------------------------------------------------------


def moved(answer: Answer) -> Deal:
    if answer.status != 200 or answer.action != "moved" or answer.deal is None:
        raise _fail(f"the CRM did not move the deal: {answer.describe()}")
    return answer.deal


def deal_in_stage(crm: CrmClient, board: str, deal_id: str, stage: str) -> Deal:
    """The deal sits in the board's stage labelled `stage` (labels compare case-insensitively)."""
    labels = {s.id: s.label for s in crm.stages(board)}
    if stage.lower() not in {label.lower() for label in labels.values()}:
        raise _fail(f"the board {board!r} has no stage {stage!r} (it has {sorted(labels.values())})")
    deal = crm.deal(deal_id)
    now = labels.get(deal.stage_id, deal.stage_id)
    if now.lower() != stage.lower():
        raise _fail(f"deal {deal_id} is in stage {now!r}, expected {stage!r}")
    return deal


def deal_not_moved(crm: CrmClient, before: Deal, what: str) -> None:
    now = crm.deal(before.id)
    if now.stage_id != before.stage_id:
        raise _fail(
            f"the {what} ({before.id}) moved from stage {before.stage_id} to "
            f"{now.stage_id} although it was not the target of the move"
        )


def refused(answer: Answer, status: int, code: str | None, reason: str) -> None:
    if answer.status != status or (code is not None and answer.code != code):
        moved_deal = f"; it moved deal {answer.deal.id}" if answer.deal else ""
        raise _fail(
            f"expected the move to be refused ({reason}: {status} {code or ''}), but the CRM "
            f"answered {answer.describe()}{moved_deal}"
        )


def summary_stored(crm: CrmClient, deal_id: str, summary: str) -> None:
    deal = crm.deal(deal_id)
    if deal.ai_summary != summary:
        raise _fail(
            f"the deal's ai_summary is {deal.ai_summary!r}, expected the summary sent "
            f"with the move ({summary!r})"
        )


# --- identities of a conversation ----------------------------------------------------------


def whatsapp_identity(sql: SqlVerifier, phone: str, contact_id: str) -> None:
    row = single_identity(sql, "WHATSAPP", phone)
    canonical_key(row, f"whatsapp:{phone}")
    if row.contact_id != contact_id:
        raise _fail(
            f"the WhatsApp identity {phone} points to contact {row.contact_id}, expected "
            f"the customer's contact {contact_id}"
        )


def new_contact_for(sql: SqlVerifier, sent: Sent, *, timeout: float) -> None:
    link = single_link(sql, sent.conversation_id, timeout=timeout)
    why = ""
    if sent.person.igsid:
        why = (
            f": the CRM resolved no Instagram user from IGSID {sent.person.igsid}, which Chatwoot "
            "sends as contact_inbox.source_id (not in meta.sender.identifier)"
        )
    contact_is_new(sql, link.contact_id, sent.person.name, why)


def instagram_identity(sql: SqlVerifier, sent: Sent) -> None:
    igsid = str(sent.person.igsid)
    row = single_identity(sql, "INSTAGRAM", igsid)
    canonical_key(row, f"instagram:{igsid}")


def linked_to_identity(sql: SqlVerifier, sent: Sent, *, timeout: float) -> None:
    row = single_identity(sql, "INSTAGRAM", str(sent.person.igsid))
    linked_to(
        single_link(sql, sent.conversation_id, timeout=timeout),
        row.contact_id,
        "the contact of the Instagram identity",
    )


def same_contact(sql: SqlVerifier, first: Sent, second: Sent, *, timeout: float) -> None:
    a = single_link(sql, first.conversation_id, timeout=timeout)
    b = single_link(sql, second.conversation_id, timeout=timeout)
    if a.contact_id is None or a.contact_id != b.contact_id:
        raise _fail(
            f"the new conversation is linked to contact {b.contact_id}, the first one to "
            f"{a.contact_id}: the same Instagram user became two contacts"
        )


# --- SQL data checks -----------------------------------------------------------------------


def unique_key(sql: SqlVerifier, table: str, columns: tuple[str, ...]) -> None:
    keys = unique_keys(sql, table)
    if not any(set(key) == set(columns) for key in keys):
        raise _fail(
            f"{table} has no unique key on ({', '.join(columns)}): duplicates are possible "
            f"(unique keys found: {keys or 'none'})"
        )


def consistent(sql: SqlVerifier, check: str) -> None:
    rows = sql.query(CONSISTENCY_CHECKS[check])
    if rows:
        raise _fail(
            f"SQL consistency check failed, {check}: {rows[:5]}"
            + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")
        )


def verification_queries_scoped(sql: SqlVerifier) -> None:
    for name, rows in sql.verification_results().items():
        foreign = [r for r in rows if r["organization_id"] != sql.organization_id]
        if foreign:
            raise _fail(f"verification query {name} returned rows of another organisation")


# --- hostile input -------------------------------------------------------------------------


def client_error(answer: WebhookAnswer, what: str) -> None:
    if answer.status >= 500:
        raise _fail(
            f"the CRM webhook crashed on {what}: {answer.status} {answer.body} (a malformed "
            "delivery must get a 4xx, never a 5xx)"
        )
    if not 400 <= answer.status < 500:
        raise _fail(
            f"the CRM webhook accepted {what} with {answer.status} {answer.body}; expected a 4xx refusal"
        )


def acknowledged_not_processed(answer: WebhookAnswer) -> None:
    if answer.status != 200 or answer.body.get("success") is not True:
        raise _fail(
            f"expected the CRM to acknowledge an unhandled event with 200 success, got "
            f"{answer.status} {answer.body}"
        )


def api_refused(answer: Answer, status: int, code: str) -> None:
    if answer.status != status or answer.code != code:
        raise _fail(
            f"expected the public API to refuse the call with {status} {code}, got {answer.describe()}"
        )


def not_found_for_other_org(read: Answer, move: Answer) -> None:
    for what, answer in (("read", read), ("move", move)):
        if answer.status != 404:
            raise _fail(
                f"tenant leak: this organisation's key could {what} another organisation's "
                f"deal ({answer.describe()}); expected 404 Deal not found"
            )


def secret_configured(status: dict[str, Any]) -> None:
    if status.get("secretConfigured") is not True:
        raise _fail(
            f"the CRM webhook endpoint reports no signature secret: {status} (T-2 requires "
            "CHATWOOT_WEBHOOK_SECRET)"
        )


def delivery_failed(sql: SqlVerifier, sent: Sent) -> None:
    ok = [a for a in sent.answers if 200 <= a.status < 300]
    if ok:
        raise _fail(
            f"the CRM was meant to be unavailable, but it accepted {len(ok)} delivery(ies): "
            f"{ok[0].status} {ok[0].body}"
        )
    nothing_written(sql, sent.conversation_id)


# --- isolation -----------------------------------------------------------------------------


def distinct_channel_identities(sql: SqlVerifier, person: Person) -> tuple[IdentityRow, IdentityRow]:
    whatsapp = single_identity(sql, "WHATSAPP", str(person.phone))
    instagram = single_identity(sql, "INSTAGRAM", str(person.igsid))
    keys = {f"{r.source.lower()}:{r.external_id}" for r in (whatsapp, instagram)}
    if len(keys) != 2:
        raise _fail(f"the WhatsApp and Instagram identities of one person share a key: {keys}")
    canonical_key(whatsapp, f"whatsapp:{person.phone}")
    canonical_key(instagram, f"instagram:{person.igsid}")
    return whatsapp, instagram


def each_linked_to_own_identity(sql: SqlVerifier, whatsapp: Sent, instagram: Sent, *, timeout: float) -> None:
    wa_identity, ig_identity = distinct_channel_identities(sql, whatsapp.person)
    for sent, identity in ((whatsapp, wa_identity), (instagram, ig_identity)):
        link = single_link(sql, sent.conversation_id, timeout=timeout)
        linked_to(link, identity.contact_id, f"the contact of the {identity.source} identity")


def tenants_apart(here: SqlVerifier, there: SqlVerifier, igsid: str) -> None:
    mine = single_identity(here, "INSTAGRAM", igsid)
    theirs = single_identity(there, "INSTAGRAM", igsid)
    if mine.contact_id == theirs.contact_id:
        raise _fail(f"two organisations share contact {mine.contact_id} for Instagram user {igsid}")
    if here.contact(mine.contact_id) is None or there.contact(theirs.contact_id) is None:
        raise _fail(f"an Instagram identity of {igsid} points to a contact of another organisation")
