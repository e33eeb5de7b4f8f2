Feature: Pre-activation checks (T-2)
  Before an organisation is switched on: its API key works and names it, its Chatwoot inboxes
  and webhooks are in place, the board and stages the flow uses exist, and the v2 workflow is
  active and tagged.

  @smoke @readonly @checklist-1.4 @checklist-7.2 @needs_api
  Scenario: The organisation's API key works and names the right organisation
    Then the CRM API key answers for the organisation of the profile

  @smoke @readonly @checklist-1.4 @checklist-7.2 @needs_chatwoot
  Scenario: The Chatwoot inboxes exist with the expected channel types
    Then the Chatwoot account has the profile's WhatsApp and Instagram inboxes with fitting channel types

  @smoke @readonly @checklist-1.4 @checklist-7.2 @needs_chatwoot @needs_n8n
  Scenario: Webhooks to the CRM and to n8n are registered for the right events
    Then a Chatwoot webhook sends conversation and message events to the CRM
    And a Chatwoot webhook sends message events to the organisation's n8n flow

  @smoke @readonly @checklist-7.2 @needs_api @needs_board
  Scenario: The board and the stages the flow uses exist
    Then the sales board has the target stage and the agent's stage

  @smoke @readonly @checklist-8.2 @checklist-7.2 @needs_n8n
  Scenario: The v2 workflow is active and tagged
    Then the organisation's v2 workflow is active and carries the template tag
