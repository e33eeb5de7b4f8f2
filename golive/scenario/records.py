"""Contacts and deals that automations write through the public API (crm-contract §5.2): an
upsert changes only what it was sent, a phone lookup finds a number in any stored format, and a
new deal is never made across tenants or turned into a server error."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from golive.clients.crm import Answer, CrmClient, Deal
from golive.organisation import Organisation
from golive.scenario.customers import Customer
from golive.scenario.data import DataFactory
from golive.scenario.deals import CustomerDeals

SERVER_ERROR = 500


@dataclass(frozen=True)
class KnownContact:
    """A contact written through the API with these fields, as the API then returned it."""

    id: str
    phone: str
    sent: dict[str, str]


def known_contact_with_fields(crm: CrmClient, data: DataFactory) -> KnownContact:
    fields = {
        "name": data.name(),
        "email": f"golive-{data.chatwoot_id()}@example.com",
        "phone": data.br_mobile(),
        "source": "INDICACAO",
        "notes": "Prefere mesa na varanda",
        "role": "Compras",
        "company_name": "Buffet Exemplo",
    }
    answer = crm.upsert_contact_answer(**fields)
    if answer.status not in (200, 201) or not isinstance(answer.body.get("data"), dict):
        raise AssertionError(f"precondition: the contact could not be created: {answer.describe()}")
    return KnownContact(str(answer.body["data"]["id"]), fields["phone"], fields)


def upsert_with_phone_only(crm: CrmClient, known: KnownContact) -> Answer:
    return crm.upsert_contact_answer(phone=known.phone)


def kept_unsent_fields(crm: CrmClient, known: KnownContact, upsert: Answer) -> None:
    if upsert.status != 200 or upsert.action != "updated":
        raise AssertionError(
            f"the upsert of a known contact answered {upsert.describe()}, expected 200 updated"
        )
    found = [c for c in crm.find_contacts(phone=known.phone) if c.get("id") == known.id]
    if not found:
        raise AssertionError(f"contact {known.id} is no longer found by its phone {known.phone}")
    now: dict[str, Any] = found[0]
    lost: dict[str, tuple[object, object]] = {
        k: (v, now.get(k)) for k, v in known.sent.items() if k != "phone" and now.get(k) != v
    }
    if now.get("status") != "ACTIVE" or now.get("stage") != "LEAD":
        lost |= {"status/stage": (("ACTIVE", "LEAD"), (now.get("status"), now.get("stage")))}
    if lost:
        shown = ", ".join(f"{k}: {before!r} → {after!r}" for k, (before, after) in lost.items())
        raise AssertionError(
            f"an upsert sent only the phone, and the contact lost every field it was not sent: {shown} "
            "(the upsert nulls unsent fields)"
        )


# --- phone lookups ----------------------------------------------------------------------------------


def looks_up_by_phone(crm: CrmClient, customer: Customer) -> list[dict[str, Any]]:
    return crm.find_contacts(phone=customer.person.whatsapp_id)


def lookup_found(found: list[dict[str, Any]], customer: Customer) -> None:
    stored = (customer.before or {}).get("phone")
    if customer.known_contact not in [c.get("id") for c in found]:
        raise AssertionError(
            f"GET /contacts?phone={customer.person.whatsapp_id} does not find contact "
            f"{customer.known_contact}, whose phone is stored as {stored!r}: the lookup compares the "
            f"stored text, so a phone-based automation would create a duplicate (found {len(found)})"
        )


# --- deals ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TwoOpenDeals:
    contact_id: str
    first: Deal
    second: Deal


def two_open_deals_on_sales_board(org: Organisation, crm: CrmClient, data: DataFactory) -> TwoOpenDeals:
    """One contact with two open deals in two stages of the sales board. `POST /deals` answers
    `existing` for a second one, so the second deal is made for a helper contact and handed over
    with `PATCH /deals/{id}` (what merging two contacts in the UI does)."""
    if not org.board_key:
        raise AssertionError(f"'{org.slug}' has no [board] key in its profile")
    stages = crm.stages(org.board_key)
    if len(stages) < 2:
        raise AssertionError(f"precondition: the board {org.board_key!r} needs two stages")
    contact = crm.upsert_contact(name=data.name(), phone=data.br_mobile())
    helper = crm.upsert_contact(name=data.name(), phone=data.br_mobile())
    first, _ = crm.create_deal(title=f"Reserva {contact.name}", board=org.board_key, contact_id=contact.id)
    second_stage = next(s for s in stages if s.id != first.stage_id)
    second, _ = crm.create_deal(
        title=f"Evento {contact.name}", board=org.board_key, contact_id=helper.id, stage_id=second_stage.id
    )
    second = crm.reassign_deal(second.id, contact.id)
    return TwoOpenDeals(contact.id, first, second)


def creates_deal(org: Organisation, crm: CrmClient, deals: TwoOpenDeals, data: DataFactory) -> Answer:
    if not org.board_key:
        raise AssertionError(f"'{org.slug}' has no [board] key in its profile")
    return crm.create_deal_answer(
        title=f"Nova reserva {data.run_id}", board=org.board_key, contact_id=deals.contact_id
    )


def returned_existing(answer: Answer, deals: TwoOpenDeals) -> None:
    ids = {deals.first.id, deals.second.id}
    if answer.status >= SERVER_ERROR:
        raise AssertionError(
            f"POST /deals for a customer with two open deals on the board answered {answer.describe()}: "
            "a server error where one of the open deals (200 existing) was due"
        )
    if answer.status != 200 or answer.action != "existing" or not answer.deal or answer.deal.id not in ids:
        raise AssertionError(
            f"POST /deals for a customer with open deals {sorted(ids)} answered {answer.describe()}, "
            "expected 200 existing with one of them"
        )


def still_two_open_deals(org: Organisation, crm: CrmClient, deals: TwoOpenDeals) -> None:
    open_deals = [d for d in crm.open_deals(deals.contact_id) if not d.is_won and not d.is_lost]
    on_board = {d.id for d in open_deals if d.board_id == deals.first.board_id}
    if on_board != {deals.first.id, deals.second.id}:
        raise AssertionError(
            f"the customer's open deals on the board are now {sorted(on_board)}, expected exactly "
            f"{sorted({deals.first.id, deals.second.id})}"
        )


@dataclass(frozen=True)
class Attempt:
    """A call made to be refused: what it was (for the message) and the answer."""

    what: str
    answer: Answer


def deal_for_unknown_contact(org: Organisation, crm: CrmClient, data: DataFactory) -> Attempt:
    if not org.board_key:
        raise AssertionError(f"'{org.slug}' has no [board] key in its profile")
    contact_id = str(uuid.uuid4())
    answer = crm.create_deal_answer(
        title=f"Reserva {data.run_id}", board=org.board_key, contact_id=contact_id
    )
    return Attempt(f"a contact that does not exist ({contact_id})", answer)


def deal_for_foreign_contact(
    org: Organisation, crm: CrmClient, foreign: CustomerDeals, data: DataFactory
) -> Attempt:
    if not org.board_key:
        raise AssertionError(f"'{org.slug}' has no [board] key in its profile")
    answer = crm.create_deal_answer(
        title=f"Reserva {data.run_id}", board=org.board_key, contact_id=foreign.contact.id
    )
    return Attempt(f"another organisation's contact ({foreign.contact.id})", answer)


def refused(attempt: Attempt) -> None:
    refused_as_bad_request(attempt.answer, attempt.what)


def refused_as_bad_request(answer: Answer, what: str) -> None:
    if answer.status >= SERVER_ERROR:
        raise AssertionError(
            f"POST /deals for {what} answered {answer.describe()}: a server error instead of a "
            "clear refusal (the contact id is not checked against the organisation)"
        )
    if answer.status < 400:
        moved = f" and created deal {answer.deal.id}" if answer.deal else ""
        raise AssertionError(
            f"tenant leak: POST /deals for {what} answered {answer.describe()}{moved}; expected a "
            "4xx refusal (no deal may link a contact this organisation does not hold)"
        )
