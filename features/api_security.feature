Feature: The public API answers only the organisation that holds the key
  Every call needs an API key; a key scopes every read and every move to its own organisation.

  @smoke @readonly @checklist-1.4
  Scenario: A call without an API key is refused
    When someone calls the CRM public API without an API key
    Then the API refuses the call because the key is missing

  @smoke @readonly @checklist-1.4
  Scenario: A call with a wrong API key is refused
    When someone calls the CRM public API with a key that does not exist
    Then the API refuses the call because the key is invalid

  @smoke @checklist-1.4 @needs_api @needs_board @needs_other_organisation
  Scenario: One organisation's key cannot read or move another organisation's deal
    Given another organisation has a customer with an open deal
    When this organisation's key is used to read and to move that deal
    Then neither call finds the other organisation's deal
    And the other organisation's deal has not moved

  @regression @checklist-1.4 @needs_api @needs_board
  Scenario Outline: A hostile call to the public API is refused without a server error
    When someone sends the CRM public API <probe>
    Then the API refuses the call with a client error, never a server error

    Examples:
      | probe                                   |
      | a NUL byte in a new contact's name      |
      | a lone surrogate in a new contact's name |
      | a NUL byte in a search                  |
      | a lone surrogate in a search            |
      | JSON nested 50,000 levels deep          |
      | a 5 MB body                             |
      | a 20,000-character name                 |
      | a form-encoded body                     |
      | a stage id that is not a uuid           |
      | a deal id beyond 64 bits                |
      | a NUL byte in a board key               |
