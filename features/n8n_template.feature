Feature: The organisation's n8n workflow follows template v2
  Stage-move tools move by deal_id, the deal is resolved at the start and propagated, session,
  buffer and memory keys are canonical, no identity falls back to a name, the source comes from
  the channel, and the IGSID comes from the contact inbox's source id.

  @smoke @readonly @checklist-4.1 @checklist-4.3 @checklist-8.2 @checklist-1.2 @needs_exports
  Scenario: The exported workflows follow the template
    Given the organisation's exported n8n workflows
    Then every template v2 rule holds for each of them

  @smoke @readonly @checklist-4.1 @checklist-4.3 @checklist-8.2 @needs_n8n
  Scenario: The live v2 workflow follows the template
    Given the organisation's active v2 workflow in n8n
    Then every template v2 rule holds for each of them
