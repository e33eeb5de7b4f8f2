"""Concurrent first events, raced on purpose so a missing per-identity lock shows on every run.

A race shows only when the requests overlap. So the copies are released together (a barrier in
the emitter), and the race is run again, with a fresh person each time, until a round leaves the
trace of a missing lock or the bound is reached. The round with the trace is what the checks
then look at; a CRM that serialises resolution passes every round.
"""

from __future__ import annotations

from dataclasses import dataclass

from golive.clients.crm import Contact, CrmClient
from golive.clients.sql import SqlVerifier
from golive.scenario.customers import FIRST_DM, Customer, sends_first_dm
from golive.scenario.data import DataFactory, Person
from golive.scenario.injection import Conversations, Sent

# Rounds until a missing lock must have shown. Measured on the sandbox with the `identity-race`
# fault (30 rounds each): 2 copies showed it in 60 % of rounds, 20 copies in 67 %, two claims
# in 50 %; these bounds leave a miss chance below 1 in 10,000 for each scenario.
ROUNDS = {2: 16, 20: 8}
DEFAULT_ROUNDS = 8
CLAIM_ROUNDS = 16


def _traced(sql: SqlVerifier, sent: Sent) -> bool:
    """Does this round show what a missing lock leaves: an orphan contact, a second identity or
    link, a copy not processed?"""
    bad_answer = any(a.status != 200 or a.ignored for a in sent.answers)
    contacts = sql.contacts_named(sent.person.name)
    identities = sql.identities("INSTAGRAM", sent.person.instagram_id)
    links = sql.links(sent.conversation_id)
    return bad_answer or len(contacts) != 1 or len(identities) != 1 or len(links) != 1


def first_dm_copies(
    conversations: Conversations, sql: SqlVerifier, data: DataFactory, customer: Customer, copies: int
) -> Sent:
    """The first DM delivered `copies` times at once, for a fresh user each round, until a round
    shows a missing lock (that round is returned) or the bound is reached (the last one)."""
    sent = sends_first_dm(conversations, customer, copies=copies)
    for _ in range(ROUNDS.get(copies, DEFAULT_ROUNDS) - 1):
        if _traced(sql, sent):
            break
        sent = sends_first_dm(conversations, Customer(data.instagram_person()), copies=copies)
    return sent


# --- two known contacts, one Instagram user, two conversations at once ----------------------------


@dataclass(frozen=True)
class Claim:
    """One round: an Instagram user whose two first conversations arrived together, each naming
    (by email) a different contact the CRM already knew."""

    person: Person
    contacts: tuple[Contact, Contact]
    sents: tuple[Sent, Sent]


def _claim_round(conversations: Conversations, crm: CrmClient, data: DataFactory) -> Claim:
    person = data.instagram_person()
    known = tuple(
        crm.upsert_contact(name=data.name(), email=f"golive-{data.chatwoot_id()}@example.com")
        for _ in range(2)
    )
    prepared = []
    for contact in known:
        conv = conversations.conversation("instagram", person)
        conv = conv.with_sender_email(contact.email)
        prepared.append(conversations.prepared("instagram", person, conv, FIRST_DM))
    first, second = conversations.send_together(prepared)
    return Claim(person, (known[0], known[1]), (first, second))


def _claim_traced(sql: SqlVerifier, claim: Claim) -> bool:
    identities = sql.identities("INSTAGRAM", claim.person.instagram_id)
    owners = {i.contact_id for i in identities}
    linked = {link.contact_id for s in claim.sents for link in sql.links(s.conversation_id)}
    return len(identities) != 1 or linked != owners


def first_dms_claiming_two_contacts(
    conversations: Conversations, sql: SqlVerifier, crm: CrmClient, data: DataFactory
) -> Claim:
    claim = _claim_round(conversations, crm, data)
    for _ in range(CLAIM_ROUNDS - 1):
        if _claim_traced(sql, claim):
            break
        claim = _claim_round(conversations, crm, data)
    return claim


def one_owner(sql: SqlVerifier, claim: Claim) -> None:
    """The identity has one owner, and every conversation of the user is linked to it."""
    igsid = claim.person.instagram_id
    identities = sql.identities("INSTAGRAM", igsid)
    if len(identities) != 1:
        raise AssertionError(f"instagram:{igsid} has {len(identities)} identities, expected exactly one")
    owner = identities[0].contact_id
    for sent in claim.sents:
        links = sql.links(sent.conversation_id)
        linked = links[0].contact_id if links else None
        if linked != owner:
            raise AssertionError(
                f"the identity instagram:{igsid} was re-pointed to the last writer: it belongs to "
                f"contact {owner}, but conversation {sent.conversation_id} was linked to contact "
                f"{linked} when it was resolved (two first messages at once, no per-identity lock)"
            )
    if owner not in {c.id for c in claim.contacts}:
        raise AssertionError(
            f"instagram:{igsid} belongs to contact {owner}, neither of the known contacts "
            f"{[c.id for c in claim.contacts]} its conversations named"
        )
