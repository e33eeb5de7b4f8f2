"""Attestation file parsing: every mistake gives one line naming the file, item and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from golive.errors import EvidenceError
from golive.evidence.attestations import AttestationError, load_attestations

GOOD = """
id = "6.1"
answer = "yes"
by = "Ana Souza"
at = 2026-11-28T09:00:00-03:00
seen = "pilot dashboard with reinforced alerts"
mandatory = true
organisations = ["sandbox-pilot"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "attest.toml"
    path.write_text(text, encoding="utf-8")
    return path


def second_item(body: str) -> str:
    """A valid first [[item]], then the item under test as #2."""
    return f"[[item]]\n{GOOD}\n[[item]]\n{body}\n"


def replaced(field: str, line: str | None) -> str:
    lines = [x for x in GOOD.strip().splitlines() if not x.startswith(f"{field} =")]
    body = "\n".join([*lines, line] if line is not None else lines)
    return body.replace('id = "6.1"', 'id = "9.1"')


def test_a_valid_file_parses(tmp_path: Path) -> None:
    parsed = load_attestations(write(tmp_path, f"[[item]]\n{GOOD}"))

    (item,) = parsed.items
    assert (item.id, item.answer, item.by, item.mandatory) == ("6.1", "yes", "Ana Souza", True)
    assert item.at is not None and item.at.utcoffset() == timedelta(hours=-3)
    assert item.organisations == ("sandbox-pilot",)
    assert len(parsed.sha256) == 64


def test_a_string_date_with_z_and_upper_case_answer_are_accepted(tmp_path: Path) -> None:
    body = GOOD.replace("2026-11-28T09:00:00-03:00", '"2026-11-28T12:00:00Z"').replace('"yes"', '"N/A"')
    (item,) = load_attestations(write(tmp_path, f"[[item]]\n{body}")).items

    assert item.answer == "n/a" and item.at is not None and item.at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        (replaced("answer", 'answer = "maybe"'), "answer", "'maybe' is not one of yes, no, n/a"),
        (replaced("by", None), "by", "field 'by': missing"),
        (replaced("seen", 'seen = "  "'), "seen", "field 'seen': expected a non-empty string"),
        (replaced("at", "at = 2026-11-28T09:00:00"), "at", "has no UTC offset"),
        (replaced("at", 'at = "yesterday"'), "at", "'yesterday' is not an ISO 8601 date-time"),
        (replaced("at", "at = 20261128"), "at", "got int"),
        (replaced("at", None), "at", "field 'at': missing"),
        (replaced("mandatory", 'mandatory = "yes"'), "mandatory", "expected true or false"),
        (replaced("organisations", None), "organisations", "missing"),
        (replaced("organisations", "organisations = []"), "organisations", "non-empty list"),
        (
            replaced("organisations", 'organisations = ["*", "sandbox-pilot"]'),
            "organisations",
            "list it alone",
        ),
        (replaced("by", 'by = "x"\norganization = "typo"'), "organization", "unknown field"),
        (
            GOOD.replace('id = "6.1"', 'id = "11.1"'),
            "id",
            "'11.1' is not an item of the rollout checklist",
        ),
        (
            GOOD.replace('id = "6.1"', 'id = "6.2"'),
            "id",
            "item 6.2 is proven by scenarios (auto), it cannot be attested",
        ),
        (GOOD.replace('id = "6.1"', "id = 6.1"), "id", "missing or not a string"),
        (
            'id = "9.1"\nmandatory = true\norganisations = ["*"]\nby = "Ana"',
            "answer",
            "missing, but 'by' is given",
        ),
        ('id = "9.1"\norganisations = ["*"]', "answer", "only useful when mandatory"),
        (GOOD, "id", "item 6.1 is already attested for sandbox-pilot in [[item]] #1"),
    ],
)
def test_item_errors_name_file_item_and_field(tmp_path: Path, body: str, field: str, expected: str) -> None:
    path = write(tmp_path, second_item(body))

    with pytest.raises(AttestationError) as caught:
        load_attestations(path)

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: [[item]] #2")
    assert f"field '{field}'" in message
    assert expected in message
    assert (caught.value.index, caught.value.field) == (2, field)
    assert isinstance(caught.value, EvidenceError)


def test_the_same_item_for_every_organisation_twice_is_refused(tmp_path: Path) -> None:
    everyone = GOOD.replace('["sandbox-pilot"]', '["*"]')
    with pytest.raises(AttestationError, match=r"already attested for every organisation"):
        load_attestations(write(tmp_path, f"[[item]]\n{everyone}\n[[item]]\n{everyone}"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[item]]\nid = "6.1"\nanswer = yes\n', "not valid TOML"),
        ('title = "x"\n', "unknown top-level key 'title'"),
        ('item = "6.1"\n', "'item' must be an array of tables"),
    ],
)
def test_file_level_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(AttestationError) as caught:
        load_attestations(path)

    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AttestationError, match=r"attest\.toml: attestation file not found"):
        load_attestations(tmp_path / "attest.toml")


def test_an_empty_file_has_no_items(tmp_path: Path) -> None:
    assert load_attestations(write(tmp_path, 'description = "nothing yet"\n')).items == ()
