"""Deals and stage moves: what the agent and the automations do, and where deals end up."""

from __future__ import annotations

from dataclasses import dataclass

from golive.clients.crm import Answer, Contact, CrmClient, Deal
from golive.organisation import Organisation
from golive.scenario.data import DataFactory, required

UNPROCESSABLE = 422
CONFLICT = 409


@dataclass(frozen=True)
class CustomerDeals:
    contact: Contact
    phone: str
    sales: Deal
    follow_up: Deal | None

    @property
    def summary(self) -> str:
        return f"Cliente pediu proposta para o evento (golive check {self.sales.id[:8]})"

    @property
    def follow_up_deal(self) -> Deal:
        return required(self.follow_up, "the customer's follow-up deal")


def _board(org: Organisation) -> tuple[str, str]:
    if not org.board_key or not org.target_stage:
        raise AssertionError(f"'{org.slug}' has no [board] key/target_stage in its profile")
    return org.board_key, org.target_stage


# --- actions -----------------------------------------------------------------------------------


def customer_with_deals(
    org: Organisation, crm: CrmClient, data: DataFactory, *, follow_up: bool
) -> CustomerDeals:
    board, _ = _board(org)
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
    _, stage = _board(org)
    return crm.move_deal(deals.sales.id, stage=stage, ai_summary=deals.summary if summary else None)


def move_to_unknown_stage(crm: CrmClient, deals: CustomerDeals, data: DataFactory) -> Answer:
    return crm.move_deal(deals.sales.id, stage=f"golive-no-such-stage-{data.run_id}")


def move_by_phone(org: Organisation, crm: CrmClient, deals: CustomerDeals, *, any_board: bool) -> Answer:
    board, stage = _board(org)
    if any_board:
        return crm.move_by_identity(board=board, stage=stage, cross_board=True, phone=deals.phone)
    return crm.move_legacy(board=board, stage=stage, phone=deals.phone)


# --- checks ------------------------------------------------------------------------------------


def moved(answer: Answer) -> Deal:
    if answer.status != 200 or answer.action != "moved" or answer.deal is None:
        raise AssertionError(f"the CRM did not move the deal: {answer.describe()}")
    return answer.deal


def deal_in_stage(crm: CrmClient, board: str, deal_id: str, stage: str) -> Deal:
    """The deal sits in the board's stage labelled `stage` (labels compare case-insensitively)."""
    labels = {s.id: s.label for s in crm.stages(board)}
    if stage.lower() not in {label.lower() for label in labels.values()}:
        raise AssertionError(f"the board {board!r} has no stage {stage!r} (it has {sorted(labels.values())})")
    deal = crm.deal(deal_id)
    now = labels.get(deal.stage_id, deal.stage_id)
    if now.lower() != stage.lower():
        raise AssertionError(f"deal {deal_id} is in stage {now!r}, expected {stage!r}")
    return deal


def moved_to_target_stage(org: Organisation, crm: CrmClient, move: Answer) -> None:
    """The move answered 'moved', and the deal it names now sits in the profile's target stage."""
    board, stage = _board(org)
    deal_in_stage(crm, board, moved(move).id, stage)


def deal_not_moved(crm: CrmClient, before: Deal, what: str) -> None:
    now = crm.deal(before.id)
    if now.stage_id != before.stage_id:
        raise AssertionError(
            f"the {what} ({before.id}) moved from stage {before.stage_id} to "
            f"{now.stage_id} although it was not the target of the move"
        )


def _refused(answer: Answer, status: int, code: str, reason: str) -> None:
    if answer.status != status or answer.code != code:
        moved_deal = f"; it moved deal {answer.deal.id}" if answer.deal else ""
        raise AssertionError(
            f"expected the move to be refused ({reason}: {status} {code}), but the CRM "
            f"answered {answer.describe()}{moved_deal}"
        )


def refused_unknown_stage(answer: Answer) -> None:
    _refused(answer, UNPROCESSABLE, "VALIDATION_ERROR", "the stage label does not exist on the board")


def refused_as_ambiguous(answer: Answer) -> None:
    _refused(
        answer,
        CONFLICT,
        "AMBIGUOUS_MATCH",
        "two open deals match the identity; known gap #2 of the real CRM is to move the most "
        "recently updated one silently",
    )


def summary_stored(crm: CrmClient, deals: CustomerDeals) -> None:
    deal = crm.deal(deals.sales.id)
    if deal.ai_summary != deals.summary:
        raise AssertionError(
            f"the deal's ai_summary is {deal.ai_summary!r}, expected the summary sent "
            f"with the move ({deals.summary!r})"
        )


# --- two open deals of one contact on one board (crm-contract §7 #13) ------------------------------


def second_open_deal(org: Organisation, crm: CrmClient, deals: CustomerDeals, data: DataFactory) -> Deal:
    """Another open deal of the customer, in another stage of the sales board (made for a helper
    contact and handed over with `PATCH /deals/{id}`: `POST /deals` answers `existing`)."""
    board, _ = _board(org)
    other_stage = next((s for s in crm.stages(board) if s.id != deals.sales.stage_id), None)
    if other_stage is None:
        raise AssertionError(f"precondition: the board {board!r} needs a second stage")
    helper = crm.upsert_contact(name=data.name(), phone=data.br_mobile())
    second, _ = crm.create_deal(
        title=f"Evento {deals.contact.name}", board=board, contact_id=helper.id, stage_id=other_stage.id
    )
    return crm.reassign_deal(second.id, deals.contact.id)


def move_into_stage_of(crm: CrmClient, deals: CustomerDeals, other: Deal) -> Answer:
    return crm.move_deal_to_stage_id(deals.sales.id, other.stage_id)


def answered_without_server_error(answer: Answer) -> None:
    """Moved, or refused with a reason the caller can act on: never a server error."""
    if answer.status >= 500:
        raise AssertionError(
            f"a move into a stage where the customer already has another open deal answered "
            f"{answer.describe()}: the duplicate-deal check surfaced as a server error instead of "
            "a move or an explained refusal"
        )
    if answer.status == 200 and answer.action == "moved":
        return
    if not 400 <= answer.status < 500 or not answer.error:
        raise AssertionError(
            f"the move answered {answer.describe()}, expected 200 moved or a 4xx with a reason"
        )
