Feature: A human hand-off holds until a person ends it
  When an agent takes a conversation over in Chatwoot (the `atendimento-humano` label), the CRM
  switches the AI off for it. Only a change of that label switches it back on: not a replay of
  an older event, not an update that says nothing about labels.

  @smoke @checklist-4.4 @needs_db
  Scenario: A hand-off in Chatwoot switches the AI off
    Given an Instagram user who already sent a first direct message
    When an agent takes the conversation over in Chatwoot
    Then the CRM switches the AI off for the conversation

  @smoke @known_gap @crm-gap-14 @checklist-6.4 @needs_db
  Scenario: A replayed conversation event does not turn the AI back on
    Given an Instagram user who already sent a first direct message
    And an agent took the conversation over in Chatwoot
    When the same deliveries arrive again
    Then the CRM accepts every replayed delivery
    And the AI stays off for the conversation after the replay

  @regression @needs_db
  Scenario: A status change that carries no labels leaves the hand-off in place
    Given an Instagram user who already sent a first direct message
    And an agent took the conversation over in Chatwoot
    When Chatwoot reports a status change without the conversation's labels
    Then the AI stays off for the conversation after the update
