"""What the scenarios do to an organisation, one function per business action.

Steps call exactly one of these (or one check); each returns a typed value the next
steps receive through `target_fixture`.
"""

from __future__ import annotations

from dataclasses import dataclass

from golive import checks
from golive.clients.crm import Answer, Contact, CrmClient, Deal
from golive.clients.sql import SqlVerifier
from golive.clients.webhook import WebhookAnswer
from golive.config import Organisation
from golive.conversations import Conversations, Sent
from golive.data import DataFactory, Person

FIRST_DM = "Oi! Vocês abrem no domingo?"
FIRST_WHATSAPP = "Boa tarde, quero fazer um pedido"
FOLLOW_UP_DM = "E aceitam reserva para 6 pessoas?"


@dataclass(frozen=True)
class Customer:
    """Someone about to write; `contact_id` when the CRM already knows them."""

    person: Person
    contact_id: str | None = None
    usable_identifier: bool = True


@dataclass(frozen=True)
class CustomerDeals:
    contact: Contact
    phone: str
    sales: Deal
    follow_up: Deal | None

    @property
    def summary(self) -> str:
        return f"Cliente pediu proposta para o evento (golive check {self.sales.id[:8]})"


@dataclass(frozen=True)
class Replayed:
    before: checks.Snapshot
    answers: tuple[WebhookAnswer, ...]


# --- customers -------------------------------------------------------------------------------


def known_whatsapp_customer(org: Organisation, sql: SqlVerifier) -> Customer:
    """The profile's legacy WhatsApp customer, who must exist exactly once in the CRM."""
    contacts = sql.contacts_with_phone(org.test_whatsapp_phone)
    if len(contacts) != 1:
        raise AssertionError(
            f"precondition: test.whatsapp_phone {org.test_whatsapp_phone} must belong to exactly "
            f"one live contact of '{org.slug}', found {len(contacts)} {contacts}"
        )
    contact = sql.contact(contacts[0]) or {}
    return Customer(Person(name=str(contact.get("name")), phone=org.test_whatsapp_phone), contacts[0])


def new_whatsapp_customer(data: DataFactory) -> Customer:
    return Customer(data.whatsapp_person())


def new_instagram_user(data: DataFactory, *, usable_identifier: bool = True) -> Customer:
    return Customer(data.instagram_person(), usable_identifier=usable_identifier)


# --- writing ---------------------------------------------------------------------------------


def writes_on_whatsapp(conversations: Conversations, customer: Customer) -> Sent:
    return conversations.first_message("whatsapp", customer.person, FIRST_WHATSAPP)


def sends_first_dm(conversations: Conversations, customer: Customer, copies: int = 1) -> Sent:
    conv = conversations.conversation(
        "instagram", customer.person, usable_identifier=customer.usable_identifier
    )
    return conversations.first_message(
        "instagram", customer.person, FIRST_DM, conversation=conv, copies=copies
    )


def already_wrote_on_instagram(conversations: Conversations, data: DataFactory) -> Sent:
    sent = sends_first_dm(conversations, new_instagram_user(data))
    checks.webhook_processed(sent.answers)
    return sent


def opens_new_conversation(conversations: Conversations, first: Sent) -> Sent:
    return conversations.first_message("instagram", first.person, FOLLOW_UP_DM)


def replay(conversations: Conversations, sql: SqlVerifier, sent: Sent) -> Replayed:
    links = sql.links(sent.conversation_id)
    contact_id = links[0].contact_id if links else None
    before = checks.snapshot(sql, sent.conversation_id, sent.message.id, contact_id)
    return Replayed(before, conversations.replay(sent))


def after_replay(sql: SqlVerifier, sent: Sent, replayed: Replayed) -> None:
    contact_id = replayed.before.link.get("contact_id")
    after = checks.snapshot(
        sql, sent.conversation_id, sent.message.id, str(contact_id) if contact_id else None
    )
    checks.unchanged(replayed.before, after)


@dataclass(frozen=True)
class TwoChannels:
    whatsapp: Sent
    instagram: Sent


def person_on_both_channels(data: DataFactory) -> Customer:
    return Customer(data.person_on_both_channels())


def writes_on_both_channels(conversations: Conversations, customer: Customer) -> TwoChannels:
    whatsapp = conversations.first_message("whatsapp", customer.person, FIRST_WHATSAPP)
    instagram = conversations.first_message("instagram", customer.person, FIRST_DM)
    return TwoChannels(whatsapp, instagram)


def writes_to_foreign_inbox(conversations: Conversations, customer: Customer, data: DataFactory) -> Sent:
    """A conversation in an inbox id no organisation configured (far above real ids)."""
    conv = conversations.conversation("instagram", customer.person, inbox_id=data.chatwoot_id())
    return conversations.first_message("instagram", customer.person, FIRST_DM, conversation=conv)


@dataclass(frozen=True)
class TwoTenants:
    here: Sent
    there: Sent


def writes_to_both_tenants(
    conversations: Conversations, other: Conversations, customer: Customer
) -> TwoTenants:
    if other.org.account_id != conversations.org.account_id:
        raise AssertionError(
            f"precondition: '{other.org.slug}' is on Chatwoot account {other.org.account_id}, "
            f"not {conversations.org.account_id} like '{conversations.org.slug}'"
        )
    here = conversations.first_message("instagram", customer.person, FIRST_DM)
    there = other.first_message("instagram", customer.person, FIRST_DM)
    return TwoTenants(here, there)


# --- deals -----------------------------------------------------------------------------------


def _require_boards(org: Organisation) -> tuple[str, str]:
    if not org.board_key or not org.target_stage:
        raise AssertionError(f"'{org.slug}' has no [board] key/target_stage in its profile")
    return org.board_key, org.target_stage


def customer_with_deals(
    org: Organisation, crm: CrmClient, data: DataFactory, *, follow_up: bool
) -> CustomerDeals:
    board, _ = _require_boards(org)
    phone = data.br_mobile()
    contact = crm.upsert_contact(name=data.name(), phone=phone)
    sales, _action = crm.create_deal(title=f"Reserva {contact.name}", board=board, contact_id=contact.id)
    other = None
    if follow_up:
        if not org.secondary_board_key:
            raise AssertionError(f"'{org.slug}' has no [board] secondary_key in its profile")
        other, _action = crm.create_deal(
            title=f"Pos-venda {contact.name}", board=org.secondary_board_key, contact_id=contact.id
        )
    return CustomerDeals(contact, phone, sales, other)


def move_by_deal_id(
    org: Organisation, crm: CrmClient, deals: CustomerDeals, *, summary: bool = False
) -> Answer:
    _, stage = _require_boards(org)
    return crm.move_deal(deals.sales.id, stage=stage, ai_summary=deals.summary if summary else None)


def move_to_unknown_stage(crm: CrmClient, deals: CustomerDeals, data: DataFactory) -> Answer:
    return crm.move_deal(deals.sales.id, stage=f"golive-no-such-stage-{data.run_id}")


def move_by_phone(org: Organisation, crm: CrmClient, deals: CustomerDeals, *, any_board: bool) -> Answer:
    board, stage = _require_boards(org)
    if any_board:
        return crm.move_by_identity(board=board, stage=stage, cross_board=True, phone=deals.phone)
    return crm.move_legacy(board=board, stage=stage, phone=deals.phone)


def deal_in_target_stage(org: Organisation, crm: CrmClient, deal: Deal) -> None:
    board, stage = _require_boards(org)
    checks.deal_in_stage(crm, board, deal.id, stage)


# --- security --------------------------------------------------------------------------------


def made_up_api_key(data: DataFactory) -> str:
    """A well-formed key that no organisation holds."""
    return "ncrm_" + f"{data.chatwoot_id():032x}"[-32:]


def reach_into(org: Organisation, crm: CrmClient, foreign: CustomerDeals) -> tuple[Answer, Answer]:
    """Read, then move, another organisation's deal with this organisation's key."""
    _, stage = _require_boards(org)
    return crm.deal_answer(foreign.sales.id), crm.move_deal(foreign.sales.id, stage=stage)
