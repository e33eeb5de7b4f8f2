Feature: Stage moves by deal id
  The agent moves deals by deal_id, never by who the customer is: a customer may have
  several open deals, and only the one the conversation is about may move.

  Background:
    Given a customer with an open deal on the sales board and another on the follow-up board

  @smoke @checklist-6.5 @checklist-3.2 @needs_api @needs_board
  Scenario: A move by deal id moves exactly that deal
    When the agent moves the sales deal to the target stage by its deal id
    Then the sales deal is in the target stage
    And the follow-up deal has not moved

  @smoke @checklist-6.5 @needs_api @needs_board
  Scenario: A move to an unknown stage is refused
    When the agent moves the sales deal to a stage the board does not have
    Then the move is refused because the stage is unknown
    And the sales deal has not moved

  @smoke @checklist-6.5 @checklist-3.2 @known_gap @crm-gap-2 @needs_api @needs_board
  Scenario: A move by identity with two open deals is refused as ambiguous
    When an automation moves the customer's deal by phone without saying which one
    Then the move is refused as ambiguous
    And the sales deal has not moved
    And the follow-up deal has not moved

  @smoke @checklist-6.5 @checklist-3.2 @known_gap @crm-gap-8 @needs_api @needs_board
  Scenario: A move with an AI summary stores the summary
    When the agent moves the sales deal to the target stage with a summary of the conversation
    Then the sales deal is in the target stage
    And the sales deal keeps that summary

  @smoke @checklist-6.5 @known_gap @crm-gap-13 @needs_api @needs_board
  Scenario: A move into a stage where the customer has another open deal is answered without a server error
    Given the customer has a second open deal in another stage of the sales board
    When the agent moves the sales deal by its deal id into the second deal's stage
    Then the move succeeds or is refused with a reason, never a server error
    And the second deal has not moved
