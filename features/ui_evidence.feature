Feature: The CRM's screens as evidence
  The runbook's sign-off asks for screens: the active channel configuration of every inbox of
  the organisation, and test evidence of what the scenarios proved. A real browser logs into
  the CRM as the organisation's QA user and captures them (screenshots and a Playwright trace
  in the report). The screens must show what the data says, and never a secret. These
  scenarios show what others prove; they never decide the verdict on their own.

  LagostaCRM's Configurações → Integrações has no Chatwoot channel section, although its
  onboarding guide configures Chatwoot there: on its staging the first scenario fails and
  says so.

  @ui @readonly @known_gap @crm-gap-19 @checklist-2.3 @checklist-8.3 @needs_ui
  Scenario: The channel configuration of the organisation's inboxes is on screen
    Given the QA user is logged into the CRM
    When the QA user opens the integrations settings
    Then every inbox of the organisation is listed with its channel, active
    And no secret is shown on the screen

  @ui @checklist-6.3 @checklist-8.3 @needs_ui
  Scenario: A new Instagram conversation is shown in the inbox
    Given an Instagram user with no history in the organisation
    And the QA user is logged into the CRM
    When the user sends a first direct message
    And the QA user opens the conversation in the inbox
    Then the inbox shows the conversation with the user's message
    And no secret is shown on the screen

  @ui @checklist-6.5 @checklist-8.3 @needs_ui @needs_api @needs_board
  Scenario: A deal moved by the agent is shown in its new stage
    Given a customer with an open deal on the sales board and another on the follow-up board
    And the QA user is logged into the CRM
    When the agent moves the sales deal to the target stage by its deal id
    And the QA user opens the sales board
    Then the board shows the sales deal in the target stage
