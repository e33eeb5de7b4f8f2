"""Allure categories: a failure caused by configuration is not filed as a product defect, under
Allure 2's whole-message match and Allure 3's search alike."""

from __future__ import annotations

import re

import pytest

from golive.evidence.allure_files import CATEGORIES


def category(message: str, status: str) -> tuple[str, str]:
    """(the category Allure 2 files it under, the one Allure 3 does): the first that matches."""

    def first(match: str) -> str:
        for entry in CATEGORIES:
            pattern = entry.get("messageRegex")
            if status not in entry["matchedStatuses"]:
                continue
            if pattern is None or getattr(re, match)(str(pattern), message):
                return str(entry["name"])
        return ""

    return first("fullmatch"), first("search")


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ("golive.errors.ConfigError: cannot open the read-only database connection (X): refused", "broken"),
        ("golive.errors.TargetUnreachable: cannot reach the target (ConnectError)\nmore", "broken"),
        ("Failed: sandbox-pilot: target unreachable, not running its scenarios: …", "failed"),
    ],
)
def test_configuration_failures_have_their_own_category(message: str, status: str) -> None:
    assert category(message, status) == ("Configuration problems (not product defects)",) * 2


def test_a_failed_check_is_a_product_defect_and_a_known_gap_its_own() -> None:
    defect = "AssertionError: expected the CRM to ignore the event as 'foreign_inbox', but it answered: 200"
    gap = "AssertionError: signature scheme not Chatwoot's: … (crm-contract §7 #6)\nmore lines"

    assert category(defect, "failed") == ("Product defects (rollout checks failed)",) * 2
    assert category(gap, "failed") == ("Known gaps of the real CRM",) * 2
    assert category("KeyError: 'data'", "broken") == ("Suite errors",) * 2
