Feature: The public API's lists and records, as its document describes them
  Automations page through contacts, read and update records by id, upsert companies and filter
  deals by status. Every answer is compared whole with what was written: a value lost, added or
  bent anywhere fails the scenario.

  @regression @needs_api
  Scenario: Contacts are listed page by page, each once, newest first
    Given five contacts that share a search tag
    When an automation pages through the contacts with that tag two at a time
    Then every contact is listed once, in full pages, newest first

  @regression @needs_api
  Scenario: A contact read and updated by id is exactly what was written
    Given a contact written with a role, a birth date, a last interaction and a total value
    When an automation updates the contact's role, notes, total value and last purchase by its id
    Then the contact read back by its id is exactly what was written

  @regression @needs_api @needs_board @needs_control
  Scenario: A company upserted by name is one record, linked to the contacts and deals that name it
    Given a company the CRM knows by its name
    When an automation upserts it again by name, names it on a contact and a deal and clears its industry
    Then the company is one record, linked to the contact and read back as written

  @regression @needs_api @needs_board
  Scenario: Deals are listed by status, each with its closing flags
    Given three deals on the sales board, one open, one won and one lost with a reason
    When an automation lists the deals by status
    Then each status lists exactly its deal, with its closing flags and loss reason

  @regression @needs_api @needs_board
  Scenario: The sales board is found by its key
    When an automation looks the sales board up by its key
    Then the board by key is the one the list gives, and an unknown key is not found

  @regression @needs_api
  Scenario: A note on a contact is listed for that contact and type, as written
    Given a note and a call recorded on a contact
    When an automation lists the contact's notes
    Then only that note is listed, exactly as written

  @regression @needs_api @needs_board
  Scenario: A deal moved by stage id lands in exactly that stage, and a move marked won closes it
    Given a deal in the first stage of the sales board
    When an automation moves it by stage id twice, then to another stage marked won
    Then the deal is in each stage it was sent to, changed in nothing else, and won at the end
