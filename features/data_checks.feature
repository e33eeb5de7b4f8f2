Feature: Data checks in SQL
  The runbook's three verification queries, and the consistency rules a GO needs: one link
  per conversation, no external identity spread over several contacts, every identity on a
  live contact of its organisation.

  @smoke @readonly @checklist-2.1 @checklist-2.2 @needs_db
  Scenario: The identity table enforces one contact per external identity
    Then the identity table has a unique key on organisation, source and external id
    And the conversation link table has a unique key on organisation and conversation

  @smoke @readonly @checklist-2.2 @checklist-3.1 @checklist-8.3 @needs_db
  Scenario: Links and identities are consistent
    Then no conversation has more than one link
    And no external identity is spread over several contacts
    And every identity points to a live contact of the organisation
    And the runbook's verification queries are recorded as evidence
