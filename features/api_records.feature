Feature: Contacts and deals that automations write through the public API
  The n8n flows and other automations find and upsert contacts and create deals through the
  public API. An upsert changes only what it is sent, a lookup by phone finds a number however
  it was stored, and a new deal never fails with a server error or crosses tenants.

  @smoke @known_gap @crm-gap-9 @checklist-3.4 @needs_api
  Scenario: Updating a known contact with only its phone keeps everything else
    Given a contact the CRM knows with an email, a phone, a source and notes
    When an automation upserts the contact with only its phone
    Then the contact keeps every field it was not sent

  @smoke @known_gap @crm-gap-10 @checklist-3.4 @needs_api @needs_db
  Scenario: A customer whose phone is stored in a legacy format is found by the E.164 number
    Given a customer the CRM already knows by a phone stored in a legacy format
    When an automation looks the customer up by phone in E.164
    Then the lookup finds the customer's contact

  @smoke @known_gap @crm-gap-11 @checklist-3.2 @needs_api @needs_board
  Scenario: A new deal for a customer with two open deals on the board returns one of them
    Given a customer with two open deals in different stages of the sales board
    When an automation creates a deal for the customer on the sales board
    Then the CRM returns one of the customer's open deals instead of failing
    And the customer still has exactly those two open deals on the sales board

  @smoke @known_gap @crm-gap-11 @checklist-3.2 @needs_api @needs_board
  Scenario: A deal for a contact that does not exist is refused
    When an automation creates a deal for a contact that does not exist
    Then the deal is refused as a bad request, never a server error

  @smoke @known_gap @crm-gap-11 @checklist-1.2 @needs_api @needs_board @needs_other_organisation
  Scenario: A deal for another organisation's contact is refused
    Given another organisation has a customer with an open deal
    When this organisation's key creates a deal for that organisation's contact
    Then the deal is refused as a bad request, never a server error
