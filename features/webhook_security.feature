Feature: Only genuine Chatwoot deliveries reach the CRM
  With a webhook secret configured, the CRM accepts only deliveries that Chatwoot signed with
  it, within five minutes of their timestamp, over the exact bytes that were signed. Anything
  else is refused and writes nothing.

  @smoke @readonly @checklist-1.4 @needs_secret
  Scenario: The webhook endpoint reports a configured secret
    Then the CRM webhook endpoint says a signature secret is configured

  @smoke @known_gap @crm-gap-6 @checklist-1.4 @needs_secret
  Scenario: A delivery signed the way Chatwoot signs is accepted
    Given an Instagram user with no history in the organisation
    When the user's first direct message comes signed the way Chatwoot signs it
    Then the CRM accepts the delivery signed the way Chatwoot signs it

  @smoke @known_gap @crm-gap-1 @checklist-1.4 @needs_secret @needs_db
  Scenario: A delivery without a signature is refused
    Given an Instagram user with no history in the organisation
    When the user's first direct message arrives without a signature
    Then the CRM refuses the delivery as not genuine
    And nothing is written for that conversation

  @regression @checklist-1.4 @needs_secret @needs_db
  Scenario Outline: A delivery that is not genuinely signed is refused
    Given an Instagram user with no history in the organisation
    When the user's first direct message arrives <how>
    Then the CRM refuses the delivery as not genuine
    And nothing is written for that conversation

    Examples:
      | how                                             |
      | signed with the wrong secret                    |
      | with a timestamp outside the five-minute window |
      | signed and then modified in transit             |
