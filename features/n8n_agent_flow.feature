Feature: The v2 agent flow in n8n
  A customer's message reaches the organisation's agent flow in n8n. The flow resolves the
  contact and the deal at the start, carries the deal id, keys the conversation memory by the
  canonical identity, moves that deal by its id when the customer asks for the next step, and
  answers the customer in the conversation the message came from.

  @smoke @checklist-4.2 @checklist-4.3 @checklist-4.4 @checklist-3.2 @needs_n8n @needs_api
  Scenario: An Instagram first DM goes through the agent flow
    Given an Instagram user with no history in the organisation
    When the user sends a first direct message
    Then the organisation's agent flow handles the message successfully
    And the flow resolved the contact and the deal before the agent ran
    And the flow keyed the conversation memory by the Instagram identity
    When the customer asks for the next step in the same conversation
    Then the flow moved that same deal to the agent's stage by its deal id

  @smoke @checklist-4.2 @checklist-4.3 @checklist-4.4 @checklist-3.2 @needs_n8n @needs_api
  Scenario: A WhatsApp customer goes through the agent flow
    Given a WhatsApp customer with no history in the organisation
    When the customer writes on WhatsApp
    Then the organisation's agent flow handles the message successfully
    And the flow resolved the contact and the deal before the agent ran
    And the flow keyed the conversation memory by the WhatsApp identity
    When the customer asks for the next step in the same conversation
    Then the flow moved that same deal to the agent's stage by its deal id

  @smoke @checklist-4.4 @checklist-3.3 @needs_n8n
  Scenario: A DM without a usable identifier is not handled by the agent
    Given an Instagram user whose message arrives without a usable identifier
    When the user sends a first direct message
    Then the organisation's agent flow stops the message as an invalid identity

  @checklist-4.4 @checklist-3.3 @needs_n8n @needs_chatwoot
  Scenario: The agent answers each message in the conversation it came from
    Given a person who writes on both WhatsApp and Instagram
    When the person writes on WhatsApp and then on Instagram
    Then the agent answered each message in the conversation it came from

  @checklist-4.4 @checklist-3.3 @needs_n8n @needs_redis
  Scenario: The agent's memory and buffer live under the canonical key in Redis
    Given an Instagram user with no history in the organisation
    When the user sends a first direct message
    Then the organisation's agent flow handles the message successfully
    And Redis holds the customer's memory under the canonical key and nothing under the conversation id

  @checklist-4.2 @checklist-4.4 @needs_n8n @needs_chatwoot @needs_db @needs_provider_instagram
  Scenario: An Instagram DM that Meta delivers to Chatwoot is answered in the same conversation
    Given an Instagram user with no history in the organisation
    When the user sends a first direct message
    Then Chatwoot took the message in from Meta and delivered it to the CRM and to the agent flow
    And the agent's answer appears in the customer's Chatwoot conversation

  @checklist-4.2 @checklist-4.4 @needs_n8n @needs_chatwoot @needs_db @needs_provider_whatsapp
  Scenario: A WhatsApp message that Meta delivers to Chatwoot is answered in the same conversation
    Given a WhatsApp customer with no history in the organisation
    When the customer writes on WhatsApp
    Then Chatwoot took the message in from Meta and delivered it to the CRM and to the agent flow
    And the agent's answer appears in the customer's Chatwoot conversation
