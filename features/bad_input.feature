Feature: Bad input never breaks the CRM webhook
  A malformed, oversized or unexpected delivery gets a client error or is acknowledged and
  ignored — never a server error, and nothing half written.

  @regression @needs_db
  Scenario Outline: A malformed delivery is refused without a server error
    When a correctly signed delivery arrives with <defect>
    Then the CRM answers with a client error, never a server error
    And nothing is written for the conversation it names

    Examples:
      | defect                                  |
      | a body that is not JSON                 |
      | a JSON array instead of an object       |
      | no event name                           |
      | a conversation id that is not a number  |
      | a sender that is not an object          |
      | labels that are not a list              |
      | a message type the CRM does not know    |
      | an oversized body                       |
      | a NUL byte in the sender's name         |
      | a lone surrogate in the message text    |
      | JSON nested 50,000 levels deep          |
      | a conversation id beyond 64 bits        |
      | a conversation id in superscript digits |
      | a message time that is not a date       |
      | a form-encoded body instead of JSON     |

  @regression @needs_db
  Scenario: An event the CRM does not handle is acknowledged and ignored
    When a correctly signed delivery arrives for an event the CRM does not handle
    Then the CRM acknowledges the delivery without processing it
    And nothing is written for the conversation it names

  @regression @readonly
  Scenario: A contact event, which carries no inbox, is ignored
    When Chatwoot reports a new contact on the organisation's account
    Then the CRM ignores the event for lack of an inbox
