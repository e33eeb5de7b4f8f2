"""The WhatsApp identity backfill: run on command where the target offers it, checked in SQL."""

from __future__ import annotations

from pytest_bdd import given, then, when

from golive.scenario import ControlClient, SqlVerifier, backfill


@given("the WhatsApp identity backfill has run", target_fixture="backfill_state")
def _(target_control: ControlClient | None, sql: SqlVerifier) -> backfill.BackfillState:
    return backfill.has_run(target_control, sql)


@when("the backfill runs again", target_fixture="backfill_rerun")
def _(target_control: ControlClient | None, sql: SqlVerifier) -> backfill.BackfillState:
    return backfill.runs_again(target_control, sql)


@then("every eligible WhatsApp contact has its WhatsApp identity in E.164 or a recorded conflict")
def _(backfill_state: backfill.BackfillState) -> None:
    backfill.every_contact_has_identity(backfill_state)


@then("every WhatsApp identity and identifier is stored in E.164")
def _(backfill_state: backfill.BackfillState) -> None:
    backfill.identifiers_in_e164(backfill_state)


@then("every number several contacts share is recorded as a conflict for manual review")
def _(backfill_state: backfill.BackfillState) -> None:
    backfill.conflicts_recorded(backfill_state)


@then("every number no contact can have is recorded for manual review")
def _(backfill_state: backfill.BackfillState) -> None:
    backfill.unusable_numbers_recorded(backfill_state)


@then("the identities, conflicts and review records are unchanged")
def _(backfill_state: backfill.BackfillState, backfill_rerun: backfill.BackfillState) -> None:
    backfill.unchanged(backfill_state, backfill_rerun)
