Feature: Webhook failure and recovery
  Chatwoot does not retry: an event the CRM misses is lost until someone replays it. After an
  outage, replaying the lost delivery must process it exactly once.

  @smoke @checklist-6.4 @needs_control @needs_db @exclusive
  Scenario: A delivery lost during an outage is replayed once the CRM is back
    Given the CRM webhook is unavailable
    And an Instagram user with no history in the organisation
    When the user sends a first direct message
    Then the delivery fails and nothing is written for that conversation
    When the CRM webhook is back
    And the lost deliveries are replayed
    Then the CRM accepts every replayed delivery
    And the conversation still has exactly one link
    And the user still has exactly one contact and one identity

  @regression @needs_n8n @needs_control @exclusive
  Scenario: An inactive n8n workflow is detected
    Given the organisation's v2 workflow has been switched off
    When a customer's message is delivered to the organisation's n8n flow
    Then n8n answers that the flow is not registered
    And the pre-activation check finds the v2 workflow inactive
