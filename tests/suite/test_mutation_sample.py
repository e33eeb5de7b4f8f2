"""A fixed sample of mutants of the CRM double that the suite must kill (issue 16): if an
assertion is weakened, or a check stops looking at a field, the mutant it used to kill survives
and this test names it with its diff. Each mutant is named by module, function, cosmic-ray
operator and the line it writes, so it survives unrelated edits; if the code it mutates changes,
the test says which entry to pick again (`golive mutation` lists every mutant's diff).

Cost: one suite run for `sandbox-pilot` per mutant (the survivor case), two at a time."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from golive.commands.mutation import (
    MutationConfig,
    execute_session,
    init_session,
    keep_only,
    matching_items,
)
from golive.commands.mutation_report import summarise

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CRM = "golive/sandbox/crm"

SAMPLE = [
    # the webhook: a WhatsApp identity must be E.164 whatever the phone looked like
    {
        "module": f"{CRM}/links.py",
        "function": "_external_id",
        "operator": "core/ReplaceAndWithOr",
        "line": 'if phone or self.faults.on("wa-raw-phone-identity"):',
    },
    # who wrote last on a conversation (whole-state: the link's last message)
    {
        "module": f"{CRM}/messages.py",
        "function": "created",
        "operator": "core/ReplaceComparisonOperator_Eq_NotEq",
        "line": '"customer" if kind != "incoming" else "agent",',
    },
    # an agent's reply is not counted unread (issue 16: "an outgoing message increments the unread
    # count" survived before the whole-state checks looked at the count)
    {
        "module": f"{CRM}/messages.py",
        "function": "created",
        "operator": "core/NumberReplacer",
        "line": '1 if kind == "incoming" else 1,',
    },
    # Chatwoot ids past the `int` column are refused, not stored
    {
        "module": f"{CRM}/inputs.py",
        "function": "chatwoot_int",
        "operator": "core/ReplaceComparisonOperator_LtE_Is",
        "line": "if not 0 <= value is INT4_MAX:",
    },
    # a body the document refuses is refused
    {
        "module": f"{CRM}/api_validation.py",
        "function": "body_problem",
        "operator": "core/ReplaceUnaryOperator_Delete_Not",
        "line": "if  operation.body.is_valid(body):",
    },
    # a move by label finds exactly that stage
    {
        "module": f"{CRM}/api_deals.py",
        "function": "_move",
        "operator": "core/ReplaceComparisonOperator_Eq_NotEq",
        "line": 'hits = [s for s in stages if str(s["label"] or s["name"]).lower() != wanted]',
    },
    # deals listed by status
    {
        "module": f"{CRM}/api_deals.py",
        "function": "list_or_create",
        "operator": "core/ReplaceComparisonOperator_Eq_Is",
        "line": 'if status is "open":',
    },
    # pages hand out every record once
    {
        "module": f"{CRM}/api_common.py",
        "function": "page",
        "operator": "core/ReplaceBinaryOperator_Add_Sub",
        "line": "more = offset - size < len(rows)",
    },
    # a new activity is a 201 created
    {
        "module": f"{CRM}/api_activities.py",
        "function": "create",
        "operator": "core/NumberReplacer",
        "line": 'return 200, {"data": jsonable(row), "action": "created"}',
    },
]


def test_the_fixed_sample_of_mutants_is_killed_by_the_suite(tmp_path: Path) -> None:
    config = MutationConfig.load(ROOT / "mutation/cosmic-ray.toml")
    modules = tuple(dict.fromkeys(m["module"] for m in SAMPLE))
    config = dataclasses.replace(config, modules=modules)
    db = tmp_path / "session.sqlite"
    init_session(db, ROOT, config)
    found = matching_items(db, ROOT, SAMPLE)
    missing = [SAMPLE[n] for n in range(len(SAMPLE)) if n not in found]
    assert not missing, f"the code no longer has these mutants; pick them again: {missing}"
    keep_only(db, set(found.values()))
    execute_session(db, ROOT, config, workers=2, say=lambda line: print(line))
    summary = summarise(db)
    assert summary["tested"] == len(SAMPLE), summary
    survivors = "\n\n".join(
        f"{s['module']}:{s['line']} {s['operator']}\n{s['diff']}" for s in summary["survivors"]
    )
    assert summary["survived"] == 0, f"the suite no longer kills these mutants:\n{survivors}"
