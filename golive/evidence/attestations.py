"""The attestation file: a person's answers to the manual items of the rollout checklist.

Format (TOML, one ``[[item]]`` per answered checklist item)::

    [[item]]
    id = "6.1"                         # a checklist item id (golive.evidence.checklist)
    answer = "yes"                     # "yes", "no" or "n/a"
    by = "Ana Souza (release manager)" # who answers
    at = 2026-11-28T14:05:00-03:00     # when: ISO 8601 with a UTC offset (TOML date-time or string)
    seen = "Pilot dashboard with the 3 alert rules, screenshot in the ticket"  # what was seen
    mandatory = true                   # the release manager marks it: needed for GO
    organisations = ["sandbox-pilot"]  # slugs, or ["*"] for every organisation

An item the release manager marks ``mandatory`` but nobody answered yet is written
with ``id``, ``mandatory`` and ``organisations`` only (no ``answer``): the dossier
then reports it as a missing mandatory attestation.

A mandatory *scenario* that a target cannot run (it offers no switch to take the CRM webhook
down, or the run has no second organisation) is answered by a person the same way, in a
``[[scenario]]`` table naming it as ``"<feature>: <scenario>"`` (the dossier prints the name)::

    [[scenario]]
    scenario = "webhook_recovery: A delivery lost during an outage is replayed once the CRM is back"
    answer = "yes"
    by = "Ana Souza (release manager)"
    at = 2026-11-28T15:10:00-03:00
    seen = "webhook blocked 10 min at the proxy; the lost delivery replayed; one link, one contact"
    organisations = ["runbook"]

Only items whose evidence kind includes *attest*, or is *static* alone, can be
attested; items proven by scenarios (*auto*, *auto+db*, *static+auto*) cannot be
answered by a person.
A specific entry for an organisation takes precedence over a ``["*"]`` entry for
the same item (``mandatory`` is kept if either marks it).

Every problem raises :class:`AttestationError` with one line naming the file, the
``[[item]]`` (1-based) and the field.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from golive.errors import EvidenceError
from golive.evidence import checklist

ANSWERS = ("yes", "no", "n/a")
ALL_ORGANISATIONS = "*"
_FIELDS = ("id", "answer", "by", "at", "seen", "mandatory", "organisations")
_SCENARIO_FIELDS = ("scenario", "answer", "by", "at", "seen", "organisations")
_TOP_LEVEL = ("item", "scenario", "description")
_Fail = Callable[[str, str], "AttestationError"]


class AttestationError(EvidenceError):
    """The attestation file is unreadable or one of its items is invalid."""

    def __init__(self, message: str, *, path: str, index: int | None = None, field: str = "") -> None:
        self.path = path
        self.index = index
        self.field = field
        super().__init__(message)


ACCEPTED = ("yes", "n/a")  # "n/a": the item does not apply


def _applies(organisations: tuple[str, ...], organisation: str) -> bool:
    """Whether an answer given for `organisations` covers `organisation` ("*": every one)."""
    return ALL_ORGANISATIONS in organisations or organisation in organisations


def attestable(item: checklist.Item) -> bool:
    """Whether a person may answer this item: its evidence kind includes *attest*, or it is
    *static* only (a check of files a person may have run, e.g. ``golive n8n-lint``)."""
    kinds = set(item.evidence.split("+"))
    return "attest" in kinds or kinds == {"static"}


@dataclass(frozen=True)
class Attestation:
    """One ``[[item]]`` of the file. ``answer`` is None while a mandatory item is unanswered."""

    id: str
    answer: str | None
    by: str | None
    at: datetime | None
    seen: str | None
    mandatory: bool
    organisations: tuple[str, ...]
    index: int  # 1-based position in the file, for messages

    @property
    def answered(self) -> bool:
        return self.answer is not None

    @property
    def accepted(self) -> bool:
        """Answered positively: "yes", or "n/a" (the item does not apply)."""
        return self.answer in ACCEPTED

    def applies_to(self, organisation: str) -> bool:
        return _applies(self.organisations, organisation)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "answer": self.answer,
            "by": self.by,
            "at": self.at.isoformat() if self.at else None,
            "seen": self.seen,
            "mandatory": self.mandatory,
            "organisations": list(self.organisations),
        }


@dataclass(frozen=True)
class ScenarioAttestation:
    """One ``[[scenario]]``: a person's answer for a mandatory scenario the target cannot run."""

    scenario: str  # "<feature>: <scenario>"
    answer: str
    by: str
    at: datetime
    seen: str
    organisations: tuple[str, ...]
    index: int

    @property
    def accepted(self) -> bool:
        return self.answer in ACCEPTED

    def applies_to(self, organisation: str) -> bool:
        return _applies(self.organisations, organisation)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "answer": self.answer,
            "by": self.by,
            "at": self.at.isoformat(),
            "seen": self.seen,
            "organisations": list(self.organisations),
        }


@dataclass(frozen=True)
class AttestationFile:
    path: str
    sha256: str
    items: tuple[Attestation, ...]
    scenarios: tuple[ScenarioAttestation, ...] = ()

    def for_scenarios(self, organisation: str) -> dict[str, ScenarioAttestation]:
        """ "<feature>: <scenario>" -> the answer that applies to this organisation (a specific
        entry wins over a ``["*"]`` one)."""
        chosen: dict[str, ScenarioAttestation] = {}
        for wildcard_pass in (True, False):
            for entry in self.scenarios:
                if (ALL_ORGANISATIONS in entry.organisations) == wildcard_pass and entry.applies_to(
                    organisation
                ):
                    chosen[entry.scenario] = entry
        return chosen

    def for_organisation(self, organisation: str) -> dict[str, Attestation]:
        """item id -> the attestation that applies to this organisation."""
        chosen: dict[str, Attestation] = {}
        for wildcard_pass in (True, False):  # specific entries override the wildcard ones
            for entry in self.items:
                is_wildcard = ALL_ORGANISATIONS in entry.organisations
                if is_wildcard != wildcard_pass or not entry.applies_to(organisation):
                    continue
                previous = chosen.get(entry.id)
                if previous is not None and previous.mandatory and not entry.mandatory:
                    entry = replace(entry, mandatory=True)
                chosen[entry.id] = entry
        return chosen

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "scenarios": [s.as_dict() for s in self.scenarios]}


def load_attestations(path: Path) -> AttestationFile:
    """Read and validate an attestation file; raise AttestationError with one clear line."""
    label = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise AttestationError(f"{label}: attestation file not found", path=label) from None
    except OSError as exc:
        raise AttestationError(
            f"{label}: cannot read the attestation file ({exc.strerror})", path=label
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AttestationError(f"{label}: not UTF-8 text", path=label) from None
    items = parse_attestations(text, source=label)
    scenarios = parse_scenario_attestations(text, source=label)
    return AttestationFile(label, hashlib.sha256(raw).hexdigest(), items, scenarios)


def _tables(text: str, source: str, key: str) -> list[dict[str, Any]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AttestationError(f"{source}: not valid TOML ({exc})", path=source) from None
    for top in data:
        if top not in _TOP_LEVEL:
            raise AttestationError(
                f"{source}: unknown top-level key {top!r} (expected [[item]] or [[scenario]] tables)",
                path=source,
                field=top,
            )
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise AttestationError(
            f"{source}: '{key}' must be an array of tables ([[{key}]])", path=source, field=key
        )
    return entries


def parse_attestations(text: str, *, source: str) -> tuple[Attestation, ...]:
    entries = _tables(text, source, "item")
    items = tuple(_parse_item(entry, index, source) for index, entry in enumerate(entries, start=1))
    _reject_duplicates(items, source)
    return items


def parse_scenario_attestations(text: str, *, source: str) -> tuple[ScenarioAttestation, ...]:
    entries = _tables(text, source, "scenario")
    found = tuple(_parse_scenario(entry, index, source) for index, entry in enumerate(entries, start=1))
    seen: dict[tuple[str, str], int] = {}
    for entry in found:
        for organisation in entry.organisations:
            key = (entry.scenario, organisation)
            if key in seen:
                raise AttestationError(
                    f"{source}: [[scenario]] #{entry.index}: field 'scenario': already attested for "
                    f"{organisation} in [[scenario]] #{seen[key]}",
                    path=source,
                    index=entry.index,
                    field="scenario",
                )
            seen[key] = entry.index
    return found


def _parse_scenario(entry: Mapping[str, Any], index: int, source: str) -> ScenarioAttestation:
    where = f"{source}: [[scenario]] #{index}"

    def fail(field: str, problem: str) -> AttestationError:
        return AttestationError(f"{where}: field '{field}': {problem}", path=source, index=index, field=field)

    for key in entry:
        if key not in _SCENARIO_FIELDS:
            raise fail(key, f"unknown field (allowed: {', '.join(_SCENARIO_FIELDS)})")
    name = entry.get("scenario")
    if not isinstance(name, str) or ": " not in name:
        raise fail("scenario", 'expected "<feature>: <scenario>", as the dossier names it')
    answer = entry.get("answer")
    if not isinstance(answer, str) or answer.strip().lower() not in ANSWERS:
        raise fail("answer", f"{answer!r} is not one of {', '.join(ANSWERS)}")
    organisations = entry.get("organisations")
    if (
        not isinstance(organisations, list)
        or not organisations
        or not all(isinstance(o, str) and o.strip() for o in organisations)
    ):
        raise fail("organisations", 'expected a non-empty list of slugs, or ["*"]')
    return ScenarioAttestation(
        " ".join(name.split()),
        answer.strip().lower(),
        _text(entry, "by", fail),
        _timestamp(entry.get("at"), fail),
        _text(entry, "seen", fail),
        tuple(o.strip() for o in organisations),
        index,
    )


def _parse_item(entry: Mapping[str, Any], index: int, source: str) -> Attestation:
    item_id = entry.get("id")
    named = f" (id {item_id})" if isinstance(item_id, str) else ""
    where = f"{source}: [[item]] #{index}{named}"

    def fail(field: str, problem: str) -> AttestationError:
        return AttestationError(f"{where}: field '{field}': {problem}", path=source, index=index, field=field)

    for key in entry:
        if key not in _FIELDS:
            raise fail(key, f"unknown field (allowed: {', '.join(_FIELDS)})")
    if not isinstance(item_id, str) or not item_id.strip():
        raise fail("id", 'missing or not a string (e.g. id = "6.1")')
    item = checklist.BY_ID.get(item_id.strip())
    if item is None:
        raise fail("id", f"{item_id!r} is not an item of the rollout checklist")
    if not attestable(item):
        raise fail("id", f"item {item.id} is proven by scenarios ({item.evidence}), it cannot be attested")

    mandatory = entry.get("mandatory", False)
    if not isinstance(mandatory, bool):
        raise fail("mandatory", "expected true or false")

    organisations = entry.get("organisations")
    if organisations is None:
        raise fail("organisations", 'missing (list of organisation slugs, or ["*"])')
    if (
        not isinstance(organisations, list)
        or not organisations
        or not all(isinstance(o, str) and o.strip() for o in organisations)
    ):
        raise fail("organisations", 'expected a non-empty list of slugs, or ["*"]')
    slugs = tuple(o.strip() for o in organisations)
    if ALL_ORGANISATIONS in slugs and len(slugs) > 1:
        raise fail("organisations", '"*" already means every organisation; list it alone')

    answer_raw = entry.get("answer")
    if answer_raw is None:
        for key in ("by", "at", "seen"):
            if key in entry:
                raise fail("answer", f"missing, but '{key}' is given (answer yes, no or n/a)")
        if not mandatory:
            raise fail("answer", "missing (an unanswered item is only useful when mandatory)")
        return Attestation(item.id, None, None, None, None, True, slugs, index)
    if not isinstance(answer_raw, str) or answer_raw.strip().lower() not in ANSWERS:
        raise fail("answer", f"{answer_raw!r} is not one of {', '.join(ANSWERS)}")

    by = _text(entry, "by", fail)
    seen = _text(entry, "seen", fail)
    at = _timestamp(entry.get("at"), fail)
    return Attestation(item.id, answer_raw.strip().lower(), by, at, seen, mandatory, slugs, index)


def _text(entry: Mapping[str, Any], key: str, fail: _Fail) -> str:
    value = entry.get(key)
    if value is None:
        raise fail(key, "missing")
    if not isinstance(value, str) or not value.strip():
        raise fail(key, "expected a non-empty string")
    return " ".join(value.split())


def _timestamp(value: Any, fail: _Fail) -> datetime:
    if value is None:
        raise fail("at", "missing (ISO 8601 with a UTC offset, e.g. 2026-11-28T14:05:00-03:00)")
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise fail("at", f"{value!r} is not an ISO 8601 date-time") from None
    else:
        raise fail("at", f"expected an ISO 8601 date-time with offset, got {type(value).__name__}")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise fail("at", f"{parsed.isoformat()} has no UTC offset (add e.g. -03:00 or Z)")
    return parsed


def _reject_duplicates(items: Sequence[Attestation], source: str) -> None:
    seen: dict[tuple[str, str], int] = {}
    for entry in items:
        for organisation in entry.organisations:
            key = (entry.id, organisation)
            if key in seen:
                scope = "every organisation" if organisation == ALL_ORGANISATIONS else organisation
                raise AttestationError(
                    f"{source}: [[item]] #{entry.index} (id {entry.id}): field 'id': item "
                    f"{entry.id} is already attested for {scope} in [[item]] #{seen[key]}",
                    path=source,
                    index=entry.index,
                    field="id",
                )
            seen[key] = entry.index
