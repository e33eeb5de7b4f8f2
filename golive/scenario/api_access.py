"""Who may call the CRM public API: keys are required, and scope every call to their organisation."""

from __future__ import annotations

from golive.clients.crm import Answer, CrmClient
from golive.organisation import Organisation
from golive.scenario.data import DataFactory
from golive.scenario.deals import CustomerDeals

UNAUTHORISED = 401
NOT_FOUND = 404


def call_without_key(crm: CrmClient) -> Answer:
    return crm.me_with_key(None)


def call_with_unknown_key(crm: CrmClient, data: DataFactory) -> Answer:
    """A well-formed key that no organisation holds."""
    return crm.me_with_key("ncrm_" + f"{data.chatwoot_id():032x}"[-32:])


def reach_into(org: Organisation, crm: CrmClient, foreign: CustomerDeals) -> tuple[Answer, Answer]:
    """Read, then move, another organisation's deal with this organisation's key."""
    if not org.target_stage:
        raise AssertionError(f"'{org.slug}' has no [board] target_stage in its profile")
    return crm.deal_answer(foreign.sales.id), crm.move_deal(foreign.sales.id, stage=org.target_stage)


def _refused(answer: Answer, code: str) -> None:
    if answer.status != UNAUTHORISED or answer.code != code:
        raise AssertionError(
            f"expected the public API to refuse the call with {UNAUTHORISED} {code}, got {answer.describe()}"
        )


def refused_missing_key(answer: Answer) -> None:
    _refused(answer, "AUTH_MISSING")


def refused_invalid_key(answer: Answer) -> None:
    _refused(answer, "AUTH_INVALID")


def not_found_for_other_org(attempts: tuple[Answer, Answer]) -> None:
    for what, answer in zip(("read", "move"), attempts, strict=True):
        if answer.status != NOT_FOUND:
            raise AssertionError(
                f"tenant leak: this organisation's key could {what} another organisation's "
                f"deal ({answer.describe()}); expected 404 Deal not found"
            )
