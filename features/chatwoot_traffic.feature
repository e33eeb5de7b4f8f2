Feature: The CRM records Chatwoot's traffic as Chatwoot sends it
  Real Chatwoot puts the conversation or the message at the top level of each event, stamps
  messages with an ISO time, may have assigned the conversation before the first event, sends
  replies from its agent bot, files without text, and deliveries in any order. Older builds leave
  the account out of conversation events. Every delivery the CRM acknowledges must be written.

  @smoke @known_gap @crm-gap-3 @checklist-6.3 @checklist-3.1 @needs_db
  Scenario: A conversation Chatwoot opens is recorded as Chatwoot sends it
    Given an Instagram user with no history in the organisation
    When the user sends a first direct message
    Then the CRM records the conversation and its first message
    And everything the CRM wrote matches what Chatwoot sent

  @smoke @known_gap @crm-gap-15 @checklist-6.3 @needs_db
  Scenario: A customer's next message is cached with Chatwoot's ISO timestamp
    Given an Instagram user who already sent a first direct message
    When the user sends another message in the same conversation
    Then the CRM records the new message
    And everything the CRM wrote for the new message matches what Chatwoot sent

  @regression @checklist-6.3 @needs_db
  Scenario Outline: A first message reaches the organisation whatever the Chatwoot build
    Given an Instagram user with no history in the organisation
    When the user's first direct message comes from <build>
    Then the CRM records the conversation and its first message
    And everything the CRM wrote matches what Chatwoot sent

    Examples:
      | build                                                                |
      | a build that names the account on conversation events                |
      | an older build that names the account only inside the first message |

  @regression @needs_db
  Scenario: A first message in a conversation Chatwoot already assigned keeps its agent
    Given an Instagram user with no history in the organisation
    When the user's first direct message opens a conversation Chatwoot assigned to an agent
    Then the CRM records the conversation and its first message
    And the conversation is recorded as assigned to that agent
    And everything the CRM wrote matches what Chatwoot sent

  @regression @needs_db
  Scenario: A reply from the agent bot is recorded as the bot's
    Given an Instagram user who already sent a first direct message
    When the organisation's agent bot replies in the conversation
    Then the CRM records the new message
    And the reply is recorded as the agent bot's, not the customer's
    And everything the CRM wrote for the new message matches what Chatwoot sent

  @regression @needs_db
  Scenario Outline: A customer's media message is recorded with its attachment
    Given an Instagram user who already sent a first direct message
    When the user sends <media> without text
    Then the CRM records the new message
    And the message keeps its attachment
    And everything the CRM wrote for the new message matches what Chatwoot sent

    Examples:
      | media           |
      | an image        |
      | a voice message |

  @regression @checklist-6.4 @needs_db
  Scenario: A message that arrives before its conversation is not lost
    Given an Instagram user with no history in the organisation
    When the user's first direct message is delivered before its conversation
    Then the CRM records the conversation and its first message
    And everything the CRM wrote matches what Chatwoot sent
