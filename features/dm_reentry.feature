Feature: Instagram DM re-entry is idempotent
  Chatwoot does not retry, but operators replay lost deliveries and the same event can
  arrive twice. A replay must change nothing: one link per conversation, one contact and
  one identity per Instagram user, and nothing recorded before the replay may move.

  @smoke @checklist-6.4 @checklist-2.2 @needs_db
  Scenario: The same delivery arrives again
    Given an Instagram user who already sent a first direct message
    When the same deliveries arrive again
    Then the CRM accepts every replayed delivery
    And the conversation still has exactly one link
    And the user still has exactly one contact and one identity
    And nothing recorded before the replay has changed
    And everything the CRM wrote matches what Chatwoot sent

  @regression @known_gap @crm-gap-12 @checklist-6.4 @checklist-2.2 @needs_db
  Scenario Outline: The same delivery arrives many times at once
    Given an Instagram user with no history in the organisation
    When the user's first direct message is delivered <copies> times at once
    Then the CRM accepts every copy
    And the conversation still has exactly one link
    And the user still has exactly one contact and one identity

    Examples:
      | copies |
      | 2      |
      | 20     |

  @smoke @checklist-6.4 @checklist-3.1 @needs_db
  Scenario: A new conversation from the same Instagram user reuses the contact
    Given an Instagram user who already sent a first direct message
    When the user opens a new conversation
    Then the CRM accepts the new conversation
    And the new conversation is linked to the user's contact
    And the user still has exactly one contact and one identity
    And everything the CRM wrote for the new conversation matches what Chatwoot sent

  @regression @checklist-6.4 @needs_db
  Scenario: A message delivered twice is stored once
    Given an Instagram user who already sent a first direct message
    When the user's next message is delivered twice
    Then the message is stored once and counted once as unread

  @smoke @known_gap @crm-gap-12 @checklist-6.4 @checklist-3.1 @needs_db @needs_api
  Scenario: First messages that arrive at once and point at different known contacts leave one owner
    When an Instagram user's first messages arrive at once, each naming another known contact by email
    Then the user's Instagram identity has one owner and every conversation is linked to it

  @regression @needs_db @needs_chatwoot @needs_provider_instagram
  Scenario: A message Meta delivers twice is one message in Chatwoot and in the CRM
    Given an Instagram user who already sent a first direct message
    When Meta delivers the user's next message twice
    Then Chatwoot and the CRM each hold that message once
