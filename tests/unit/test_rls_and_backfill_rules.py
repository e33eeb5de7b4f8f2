"""The rules the RLS and backfill checks apply to what they read (no database: the read is faked)."""

from __future__ import annotations

import pytest

from golive.scenario.backfill import (
    BackfillState,
    Contact,
    conflicts_recorded,
    every_contact_has_identity,
    identifiers_in_e164,
    unchanged,
    unusable_numbers_recorded,
)
from golive.scenario.rls import V2_TABLES, Policy, unscoped_tables

SCOPED = "(organization_id IN (SELECT p.organization_id FROM profiles p WHERE p.id = auth.uid()))"


def policy(table: str, using: str, *, permissive: bool = True, command: str = "ALL") -> Policy:
    return Policy(table, f"policy on {table}", permissive, ("authenticated",), command, using)


def test_org_scoped_policies_restrict_every_table() -> None:
    verdict = unscoped_tables([policy(t, SCOPED) for t in V2_TABLES])

    assert verdict == dict.fromkeys(V2_TABLES, "")


def test_lagostacrms_using_true_policies_are_named_as_open() -> None:
    verdict = unscoped_tables([policy(t, "true") for t in V2_TABLES])

    assert all("USING (true)" in why for why in verdict.values())


def test_one_permissive_true_policy_opens_a_table_despite_a_scoped_one() -> None:
    found = [policy(t, SCOPED) for t in V2_TABLES] + [policy(V2_TABLES[0], "true", command="SELECT")]

    verdict = unscoped_tables(found)

    assert verdict[V2_TABLES[0]] and not any(verdict[t] for t in V2_TABLES[1:])


def test_a_restrictive_scoped_policy_restricts_even_next_to_an_open_one() -> None:
    found = [policy(t, "true") for t in V2_TABLES] + [policy(t, SCOPED, permissive=False) for t in V2_TABLES]

    assert not any(unscoped_tables(found).values())


def test_rls_with_no_policy_for_users_is_reported() -> None:
    verdict = unscoped_tables([])

    assert all("no policy" in why for why in verdict.values())


ANA = Contact("c-ana", "Ana", "11 91234-5001", "+5511912345001")
DORA = Contact("c-dora", "Dora", "(11) 91234-5004", "+5511912345004")
DORA_2 = Contact("c-dora2", "Dora R.", "(11) 91234-5004", "+5511912345004")
EVA = Contact("c-eva", "Eva", "invalidphone", None)


def state(**changes: object) -> BackfillState:
    base: dict[str, object] = {
        "started_at": "2026-11-30 12:00:00+00",
        "contacts": (ANA, DORA, DORA_2, EVA),
        "identities": {"+5511912345001": "c-ana"},
        "conflicts": ({"phone": "+5511912345004", "candidates": ["c-dora", "c-dora2"], "stage": "backfill"},),
        "invalid_recorded": frozenset({"c-eva"}),
        "raw_identities": (),
        "raw_identifiers": (),
    }
    return BackfillState(**{**base, **changes})  # type: ignore[arg-type]


def test_the_intended_backfill_passes_every_check() -> None:
    done = state()

    every_contact_has_identity(done)
    conflicts_recorded(done)
    unusable_numbers_recorded(done)
    identifiers_in_e164(done)
    unchanged(done, state())


def test_a_contact_without_identity_or_conflict_fails_5_1() -> None:
    with pytest.raises(
        AssertionError, match=r"1 of 4 eligible contact\(s\) have no WHATSAPP identity.*'Ana'"
    ):
        every_contact_has_identity(state(identities={}))


def test_a_silently_dropped_conflict_fails_5_2() -> None:
    with pytest.raises(AssertionError, match=r"dropped silently.*\+5511912345004.*Dora"):
        conflicts_recorded(state(conflicts=()))


def test_a_conflict_resolved_by_giving_one_contact_the_identity_still_needs_a_record() -> None:
    first_writer_wins = state(
        identities={"+5511912345001": "c-ana", "+5511912345004": "c-dora"}, conflicts=()
    )

    with pytest.raises(AssertionError, match="not recorded for review"):
        conflicts_recorded(first_writer_wins)


def test_raw_phones_in_identifiers_fail_the_e164_check() -> None:
    with pytest.raises(AssertionError, match=r"not stored in E\.164.*'\(11\) 91234-5004'"):
        identifiers_in_e164(state(raw_identifiers=("(11) 91234-5004",)))


def test_an_unusable_number_must_be_recorded() -> None:
    with pytest.raises(AssertionError, match="'Eva'"):
        unusable_numbers_recorded(state(invalid_recorded=frozenset()))


def test_a_rerun_that_logs_the_conflicts_again_is_not_idempotent() -> None:
    again = state(conflicts=state().conflicts * 2)

    with pytest.raises(AssertionError, match=r"conflicts: 1 → 2"):
        unchanged(state(), again)
