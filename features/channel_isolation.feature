Feature: Channels and tenants stay apart
  WhatsApp and Instagram identities of one person never mix, an inbox that no organisation
  configured is ignored, and two organisations on one Chatwoot account never see each
  other's customers.

  @smoke @checklist-3.3 @checklist-3.1 @needs_db
  Scenario: One person writing on WhatsApp and on Instagram gets two identities
    Given a person who writes on both WhatsApp and Instagram
    When the person writes on WhatsApp and then on Instagram
    Then the CRM accepts both conversations
    And the person has a WhatsApp and an Instagram identity with distinct keys
    And each conversation is linked to the contact of its own channel's identity
    And everything the CRM wrote for both conversations matches what Chatwoot sent

  @smoke @checklist-2.3 @needs_db
  Scenario: An event for an inbox of no organisation creates nothing
    Given an Instagram user with no history in the organisation
    When the user writes to an inbox that no organisation has configured
    Then the CRM ignores the event as coming from a foreign inbox
    And nothing is written for that conversation

  @smoke @known_gap @crm-gap-7 @checklist-2.3 @needs_db @needs_other_organisation
  Scenario: A delivery that names another organisation in a header is filed under its inbox's organisation
    Given an Instagram user with no history in the organisation
    When the user's first direct message is sent with a header naming another organisation
    Then nothing is written for that conversation in the other organisation
    And the CRM records the conversation and its first message

  @smoke @checklist-2.3 @needs_db @needs_other_organisation
  Scenario: Two tenants on the same Chatwoot account stay apart
    Given an Instagram user with no history in the organisation
    When the user writes to this organisation and to another organisation on the same account
    Then each organisation has its own contact and identity for the user

  @smoke @checklist-4.4 @checklist-3.3 @needs_n8n
  Scenario: One person's WhatsApp and Instagram conversations keep separate agent memories
    Given a person who writes on both WhatsApp and Instagram
    When the person writes on WhatsApp and then on Instagram
    Then the agent flow keyed the two conversations by two distinct canonical identities
    And neither conversation saw the other's memory
