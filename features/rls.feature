Feature: Row-level security of the v2 tables
  The CRM's screens read the v2 tables with the logged-in user's session, so the database must
  keep each organisation's identities, conversation links, cached messages and resolution log
  to its own users. The policies are read from the catalog; where the read-only role may act
  as a logged-in user (the sandbox), a user of one organisation also tries to read another's
  rows. LagostaCRM's policies let every logged-in user read every row, so on its staging these
  scenarios fail and say so.

  @readonly @known_gap @crm-gap-17 @checklist-2.4 @needs_db
  Scenario: Row-level security restricts the v2 tables by organisation
    Then row-level security is enabled on every v2 table
    And every policy on the v2 tables restricts rows to the user's organisation

  @known_gap @crm-gap-17 @checklist-2.4 @needs_db
  Scenario: A user of one organisation reads none of another organisation's rows
    Given an Instagram user has written to this organisation and another to the other organisation
    When a user of this organisation reads the v2 tables
    Then the user sees their own organisation's identities, links and cached messages
    And the user sees none of the other organisation's identities, links or cached messages
