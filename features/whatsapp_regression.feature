Feature: WhatsApp keeps working after the Instagram DM v2 rollout
  Customers who already talk to the organisation on WhatsApp must land on the contact the
  CRM already knows, under a canonical WhatsApp identity, and the automations that move
  deals by phone must keep working.

  @smoke @checklist-6.2 @checklist-3.4 @checklist-3.1 @needs_db
  Scenario: A known customer writes on WhatsApp
    Given a customer the CRM already knows by a phone stored in a legacy format
    When the customer writes on WhatsApp
    Then the CRM accepts the conversation
    And the conversation is linked to the customer's existing contact
    And no second contact exists for the customer's phone
    And the customer has a WhatsApp identity keyed by the phone in E.164
    And the identity resolution is logged as matched or phone fallback
    And everything the CRM wrote matches what Chatwoot sent about the known customer

  @smoke @checklist-6.2 @checklist-3.4 @needs_db
  Scenario: A WhatsApp customer whose phone Chatwoot leaves out is recognised
    Given a WhatsApp customer with no history in the organisation
    When the customer writes on WhatsApp from a contact without a phone number
    Then the CRM records the conversation and its first message
    And the customer gets a WhatsApp identity keyed by the wa_id in E.164
    And everything the CRM wrote matches what Chatwoot sent

  @smoke @checklist-6.2 @checklist-3.4 @needs_api @needs_board
  Scenario: A legacy automation still moves a deal by phone
    Given a WhatsApp customer with exactly one open deal on the sales board
    When an automation moves that customer's deal to the target stage by phone
    Then the customer's deal is in the target stage
