"""Which Filter/If/Switch outputs carry only events with a valid external id (R4's gate).

A gate stops an event without a valid id when one of its conditions passes only if the
validated identity is there: a validity flag that must be true (``$json.valid`` is true), or an
external id / session key that must exist, be non-empty or match a pattern. Conditions about
groups (``notContains "@g.us"``), the assignee, hand-off labels, the message type or the event
are filters, not identity gates: an event with no id at all passes every one of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from golive.n8n_lint.values import as_list, as_map, as_str, fold, type_version
from golive.n8n_lint.workflow import T_IF, T_SWITCH, Workflow

# a validity flag: valid, is_valid, isValid, valida, identidade_valida — not invalid_reason
_VALID_FLAG_RE = re.compile(r"(?<![a-z])(?:is_?|has_?)?valid(?:[ao]|ad[ao])?(?![a-z])", re.I)
_ID_SUBJECT_RE = re.compile(
    r"external_?id|session_?key|igsid|e164|source_id|identifier|phone|telefone|wa_?id", re.I
)
_RETURN_RE = re.compile(r"\breturn\b([^;\n]*)")

# operations (lower-cased; n8n filter v2 and If v1 spellings) that pass only a present value
_PRESENT_OPS = {"exists", "notempty", "isnotempty", "regex", "startswith", "endswith"}
_ABSENT_OPS = {"notexists", "empty", "isempty"}
_EQUAL_OPS = {"equals", "equal"}
_NOT_EQUAL_OPS = {"notequals", "notequal"}
_TRUE_VALUES = {"true", "=true", "={{ true }}", "={{true}}"}
_FALSE_VALUES = {"false", "=false", "={{ false }}", "={{false}}"}

# what a non-identity condition filters, for the evidence of an R4 failure
_FILTER_KINDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"@g\.us|\bgroup|isgroup", re.I), "groups"),
    (re.compile(r"assignee", re.I), "assigned conversations"),
    (re.compile(r"label|atendimento-humano|handoff|hand-off|human", re.I), "hand-off labels"),
    (re.compile(r"message_type|incoming|outgoing", re.I), "the message type"),
    (re.compile(r"private", re.I), "private notes"),
    (re.compile(r"\bevent\b|message_created|automation_event", re.I), "the event"),
]


@dataclass(frozen=True)
class Condition:
    left: str
    operation: str  # lower-cased
    right: str


@dataclass(frozen=True)
class _Rule:
    output: int
    conditions: list[Condition]
    any_of: bool  # "or" combinator / combineOperation "any"


def _conditions(container: object, *, any_default: bool = False) -> tuple[list[Condition], bool]:
    """Conditions of a filter-v2 container ``{conditions: [...], combinator}`` or a v1 one."""
    box = as_map(container)
    if isinstance(box.get("conditions"), list):
        found = []
        for item in as_list(box.get("conditions")):
            entry = as_map(item)
            operation = as_str(as_map(entry.get("operator")).get("operation"))
            found.append(
                Condition(as_str(entry.get("leftValue")), operation.lower(), as_str(entry.get("rightValue")))
            )
        return found, as_str(box.get("combinator")).lower() == "or"
    found = [
        Condition(
            as_str(as_map(item).get("value1")),
            as_str(as_map(item).get("operation")).lower(),
            as_str(as_map(item).get("value2")),
        )
        for values in box.values()
        for item in as_list(values)
    ]
    return found, any_default


def _rules(wf: Workflow, node: str) -> list[_Rule]:
    params = wf.params(node)
    if wf.type_of(node) != T_SWITCH:
        any_default = as_str(params.get("combineOperation")).lower() == "any"
        conditions, any_of = _conditions(params.get("conditions"), any_default=any_default)
        return [_Rule(0, conditions, any_of)]
    rules = as_map(params.get("rules"))
    if type_version(wf.nodes[node]) >= 3:
        return [
            _Rule(index, *_conditions(as_map(rule).get("conditions")))
            for index, rule in enumerate(as_list(rules.get("values")))
        ]
    value1 = as_str(params.get("value1"))
    out = []
    for index, item in enumerate(as_list(rules.get("rules"))):
        rule = as_map(item)
        output = rule.get("output", index)
        condition = Condition(value1, as_str(rule.get("operation")).lower(), as_str(rule.get("value2")))
        out.append(_Rule(output if isinstance(output, int) else index, [condition], False))
    return out


def _subject(left: str) -> str:
    """What a condition tests: the returned value of an IIFE, else the expression itself."""
    returns = _RETURN_RE.findall(left)
    return " ".join(returns) if returns else left


def _polarity(condition: Condition) -> int:
    """+1: passes only a valid identity; -1: passes only an invalid one; 0: not about validity."""
    subject, op, right = _subject(condition.left), condition.operation, condition.right.strip().lower()
    if _VALID_FLAG_RE.search(subject):
        if op == "true" or (op in _EQUAL_OPS and right in _TRUE_VALUES):
            return 1
        if op in _NOT_EQUAL_OPS and right in _FALSE_VALUES:
            return 1
        if op == "false" or (op in _EQUAL_OPS and right in _FALSE_VALUES):
            return -1
        return 0
    if _ID_SUBJECT_RE.search(subject):
        if op in _PRESENT_OPS and (op not in {"regex", "startswith", "endswith"} or right):
            return 1
        if op in _NOT_EQUAL_OPS and not right:
            return 1
        if op in _ABSENT_OPS or (op in _EQUAL_OPS and not right):
            return -1
    return 0


def _validates(conditions: list[Condition], any_of: bool, sign: int) -> bool:
    """Do items pass (sign +1) / fail (sign -1) these conditions only with a valid identity?"""
    signs = [_polarity(c) for c in conditions]
    if not signs:
        return False
    if sign > 0:  # matching items: one required valid-check, or every alternative is one
        return all(s == 1 for s in signs) if any_of else any(s == 1 for s in signs)
    # non-matching items of an If: every alternative failed, or the single check failed
    return all(s == -1 for s in signs) and (any_of or len(signs) == 1)


def validated_outputs(wf: Workflow, node: str) -> set[int]:
    """Outputs of a Filter/If/Switch that only events with a valid external id reach."""
    outputs: set[int] = set()
    for rule in _rules(wf, node):
        if _validates(rule.conditions, rule.any_of, 1):
            outputs.add(rule.output)
        if wf.type_of(node) == T_IF and _validates(rule.conditions, rule.any_of, -1):
            outputs.add(1)
    return outputs


def filters_of(wf: Workflow, node: str) -> list[str]:
    """What a gate filters that is no identity check, e.g. ``["groups", "assigned conversations"]``."""
    kinds: list[str] = []
    for rule in _rules(wf, node):
        for condition in rule.conditions:
            text = fold(_subject(condition.left) + " " + condition.right)
            kinds.extend(what for regex, what in _FILTER_KINDS if regex.search(text))
    return list(dict.fromkeys(kinds))
