Feature: WhatsApp identity backfill of the existing base
  Customers who wrote on WhatsApp before v2 have no identity yet. The backfill gives each of
  them the identity WHATSAPP / <number in E.164>; where a number is shared by several contacts,
  or its identity is already held by another contact, it assigns nothing and records the
  conflict for manual review; a phone that is not a number is recorded too. Running it again
  changes nothing. On a staging the team runs its own backfill and these checks only read what
  it left; LagostaCRM has no such backfill yet (its migration copies raw phones and drops
  conflicts), so there they fail and say why.

  @readonly @known_gap @crm-gap-18 @checklist-5.1 @needs_db
  Scenario: Every existing WhatsApp contact gets its identity in E.164
    Given the WhatsApp identity backfill has run
    Then every eligible WhatsApp contact has its WhatsApp identity in E.164 or a recorded conflict
    And every WhatsApp identity and identifier is stored in E.164

  @readonly @known_gap @crm-gap-18 @checklist-5.2 @needs_db
  Scenario: Identity conflicts are recorded for manual review
    Given the WhatsApp identity backfill has run
    Then every number several contacts share is recorded as a conflict for manual review
    And every number no contact can have is recorded for manual review

  @checklist-5.3 @needs_db @needs_control @exclusive
  Scenario: Running the backfill again changes nothing
    Given the WhatsApp identity backfill has run
    When the backfill runs again
    Then the identities, conflicts and review records are unchanged
