Feature: First contact on Instagram
  An Instagram user with no history who writes a direct message becomes a contact of the
  organisation, known by an Instagram identity (the IGSID, which Chatwoot sends as the
  conversation's source id), and the conversation is linked to that contact.

  @smoke @checklist-6.3 @checklist-3.1 @checklist-3.3 @needs_db
  Scenario: An Instagram user with no history writes for the first time
    Given an Instagram user with no history in the organisation
    When the user sends a first direct message
    Then the CRM accepts the conversation
    And a new contact is created for the user
    And the user has an Instagram identity keyed by the IGSID
    And the conversation is linked to the user's contact
    And the identity resolution is logged as created
    And everything the CRM wrote matches what Chatwoot sent

  @smoke @known_gap @crm-gap-5 @checklist-3.1 @checklist-6.3 @needs_db
  Scenario: The IGSID is read from the conversation's contact inbox
    Given an Instagram user with no history in the organisation
    When the user sends a first direct message
    Then the user has an Instagram identity keyed by the IGSID
    And the identity resolution is logged as created

  @smoke @checklist-6.3 @checklist-3.3 @needs_db
  Scenario: A direct message without a usable identifier is not processed
    Given an Instagram user whose message arrives without a usable identifier
    When the user sends a first direct message
    Then no contact and no identity are created for the user
    And the rejection is logged as an invalid identity
