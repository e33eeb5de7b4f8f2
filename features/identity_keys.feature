Feature: Only real identifiers become identities
  An Instagram identity is an IGSID (digits) and a WhatsApp identity a real phone number in
  E.164. A placeholder a broken bridge sends where the id belongs (`unknown`, a name, a short
  number) is logged as invalid: it creates no contact and no identity.

  @smoke @known_gap @crm-gap-16 @checklist-3.3 @checklist-3.1 @needs_db
  Scenario Outline: A message whose sender id is a placeholder is not processed
    Given a customer whose <channel> id arrives as the placeholder "<placeholder>"
    When the customer writes on <channel> with that id
    Then nothing is created for the placeholder
    And the placeholder is logged as an invalid identity

    Examples:
      | channel   | placeholder |
      | Instagram | unknown     |
      | Instagram | anabeatriz  |
      | WhatsApp  | Maria Silva |
      | WhatsApp  | 12345678    |
