"""The public API's lists and records, as its document describes them."""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, then, when

from golive.scenario import Answer, CrmClient, DataFactory, Organisation, api_directory


@given("five contacts that share a search tag", target_fixture="listed")
def _(crm: CrmClient, data: DataFactory) -> api_directory.Listed:
    return api_directory.contacts_sharing_a_tag(crm, data)


@when("an automation pages through the contacts with that tag two at a time", target_fixture="listed")
def _(crm: CrmClient, listed: api_directory.Listed) -> api_directory.Listed:
    return api_directory.pages_through(crm, listed)


@then("every contact is listed once, in full pages, newest first")
def _(listed: api_directory.Listed) -> None:
    api_directory.every_record_once(listed)


@given(
    "a contact written with a role, a birth date, a last interaction and a total value",
    target_fixture="written",
)
def _(crm: CrmClient, data: DataFactory) -> api_directory.Written:
    return api_directory.contact_with_details(crm, data)


@when(
    "an automation updates the contact's role, notes, total value and last purchase by its id",
    target_fixture="update",
)
def _(crm: CrmClient, written: api_directory.Written) -> Answer:
    return api_directory.contact_updated_by_id(crm, written)


@then("the contact read back by its id is exactly what was written")
def _(crm: CrmClient, written: api_directory.Written, update: Answer) -> None:
    api_directory.contact_reads_as_written(crm, written, update)


@given("a company the CRM knows by its name", target_fixture="company")
def _(crm: CrmClient, data: DataFactory) -> api_directory.Company:
    return api_directory.company_created(crm, data)


@when(
    "an automation upserts it again by name, names it on a contact and a deal and clears its industry",
    target_fixture="company",
)
def _(
    organisation: Organisation, crm: CrmClient, company: api_directory.Company, data: DataFactory
) -> api_directory.Company:
    return api_directory.company_upserted_and_linked(organisation, crm, company, data)


@then("the company is one record, linked to the contact and read back as written")
def _(crm: CrmClient, company: api_directory.Company) -> None:
    api_directory.company_is_one_record(crm, company)


@given(
    "three deals on the sales board, one open, one won and one lost with a reason",
    target_fixture="by_status",
)
def _(organisation: Organisation, crm: CrmClient, data: DataFactory) -> api_directory.DealsByStatus:
    return api_directory.deals_open_won_and_lost(organisation, crm, data)


@when("an automation lists the deals by status", target_fixture="listed_deals")
def _(
    organisation: Organisation, crm: CrmClient, by_status: api_directory.DealsByStatus
) -> dict[str, list[dict[str, Any]]]:
    return api_directory.deals_listed_by_status(organisation, crm, by_status)


@then("each status lists exactly its deal, with its closing flags and loss reason")
def _(by_status: api_directory.DealsByStatus, listed_deals: dict[str, list[dict[str, Any]]]) -> None:
    api_directory.each_status_lists_its_deal(by_status, listed_deals)


@when("an automation looks the sales board up by its key", target_fixture="board_found")
def _(organisation: Organisation, crm: CrmClient) -> dict[str, Any]:
    return api_directory.board_by_key(organisation, crm)


@then("the board by key is the one the list gives, and an unknown key is not found")
def _(organisation: Organisation, board_found: dict[str, Any]) -> None:
    api_directory.board_is_the_listed_one(organisation, board_found)


@given("a note and a call recorded on a contact", target_fixture="note")
def _(crm: CrmClient, data: DataFactory) -> api_directory.Written:
    return api_directory.note_on_a_contact(crm, data)


@when("an automation lists the contact's notes", target_fixture="notes")
def _(crm: CrmClient, note: api_directory.Written) -> Answer:
    return api_directory.notes_of_the_contact(crm, note)


@then("only that note is listed, exactly as written")
def _(note: api_directory.Written, notes: Answer) -> None:
    api_directory.only_that_note_is_listed(note, notes)


@given("a deal in the first stage of the sales board", target_fixture="moved")
def _(organisation: Organisation, crm: CrmClient, data: DataFactory) -> api_directory.Moved:
    return api_directory.deal_in_first_stage(organisation, crm, data)


@when("an automation moves it by stage id twice, then to another stage marked won", target_fixture="moved")
def _(crm: CrmClient, moved: api_directory.Moved) -> api_directory.Moved:
    return api_directory.moved_by_stage_id_then_won(crm, moved)


@then("the deal is in each stage it was sent to, changed in nothing else, and won at the end")
def _(crm: CrmClient, moved: api_directory.Moved) -> None:
    api_directory.lands_in_each_stage_and_is_won(crm, moved)
