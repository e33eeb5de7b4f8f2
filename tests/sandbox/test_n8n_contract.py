"""The one contract that holds the n8n double to the real n8n.

The same customer journey runs through a sandbox with the real n8n (1.123, the v2 template,
Redis, the model double) and through a sandbox with the n8n double: an Instagram first DM, the
customer asking for an "orçamento" in the same conversation, a DM without a usable identifier,
and a WhatsApp message through the second organisation's automation rule. Each execution is
reduced to what the suite reads from it — the nodes in the order they ran, the shape of every
run (status, connection kind, the memory's actions, the model and tool calls), the parts of the
flow found by role, the memory key and deal id read through the run data, where the answer
went — and the two reductions must be equal. Skipped, with the reason, when no real n8n is
installed (`make tools`, or `GOLIVE_N8N_HOME`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from golive.runtime.registry import Targets
from golive.runtime.sandbox_process import STATE_ENV
from golive.sandbox.n8n_real.install import find_install, missing_reason
from golive.sandbox.redis import find_redis_server
from golive.sandbox.stack import Stack, start_stack
from golive.scenario import agent_flow, customers
from golive.scenario.injection import Sent

pytestmark = pytest.mark.slow

Journey = dict[str, Any]


def _sub_run_shape(execution: Any, node: str | None) -> list[tuple[str, str, str]]:
    """(status, what it was asked, what it answered) of each call of a sub-node."""
    shape = []
    for call in execution.sub_runs(node):
        asked = str(call.asked.get("action") or sorted(call.asked))
        answered = str(call.answered.get("action") or sorted(call.answered))
        shape.append((call.status, asked, answered))
    return shape


def _reduce(run: agent_flow.FlowRun) -> dict[str, Any]:
    execution, roles = run.execution, run.roles
    runs = execution.run_data()
    reduced: dict[str, Any] = {
        "status": execution.status,
        "nodes": execution.nodes_run(),
        "runs": {
            name: [(r.get("executionStatus"), sorted((r.get("data") or {}).keys())) for r in entries]
            for name, entries in runs.items()
        },
        "roles": (roles.trigger, roles.agent, roles.memory, roles.stage_tools, roles.deal, roles.reply),
        "trigger_keys": sorted(execution.main_output(roles.trigger or "") or {}),
        "memory": _sub_run_shape(execution, roles.memory),
        "history": run.memory_history(),
        "tools": {tool: _sub_run_shape(execution, tool) for tool in roles.stage_tools},
        "tool_asked": [sorted(call.asked) for tool in roles.stage_tools for call in execution.sub_runs(tool)],
    }
    if roles.agent and execution.ran(roles.agent):
        reply = execution.main_output(roles.reply or "") or {}
        reduced |= {
            "session_key_is_canonical": run.session_key()
            == f"{run.sent.channel}:"
            + (run.sent.person.igsid if run.sent.channel == "instagram" else run.sent.person.phone or ""),
            "has_deal_id": bool(run.deal_id()),
            "answered_in_its_conversation": reply.get("conversation_id") == run.sent.conversation_id,
            "reply_type": reply.get("message_type"),
        }
    return reduced


def journey(stack: Stack) -> Journey:
    """The customer journey through `stack`, reduced execution by execution."""
    previous = os.environ.get(STATE_ENV)
    os.environ[STATE_ENV] = str(stack.state_dir)
    targets = Targets(orgs_dir=stack.state_dir / "orgs", run_id="contract")
    try:
        pilot, second = targets.clients("sandbox-pilot"), targets.clients("sandbox-second")
        assert pilot.n8n is not None and second.n8n is not None
        org, data = pilot.organisation, targets.data
        first = agent_flow.run_for(
            pilot.n8n, org, customers.first_dm_from_new_user(pilot.conversations, data)
        )
        moved = agent_flow.asks_for_next_step(pilot.conversations, pilot.n8n, org, first)
        invalid_sent: Sent = customers.sends_first_dm(
            pilot.conversations, customers.new_instagram_user(data, usable_identifier=False)
        )
        invalid = agent_flow.run_for(pilot.n8n, org, invalid_sent)
        by_rule = agent_flow.run_for(
            second.n8n,
            second.organisation,
            customers.writes_on_whatsapp(second.conversations, customers.new_whatsapp_customer(data)),
        )
        return {
            "first DM": _reduce(first),
            "asks for an orçamento": _reduce(moved),
            "no usable identifier": _reduce(invalid),
            "automation rule (second organisation)": _reduce(by_rule),
        }
    finally:
        targets.close()
        if previous is None:
            os.environ.pop(STATE_ENV, None)
        else:
            os.environ[STATE_ENV] = previous


def _stack(mode: str) -> Iterator[Stack]:
    stack = start_stack(Path(tempfile.mkdtemp(prefix=f"golive-contract-{mode}-")), n8n_mode=mode)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def real() -> Iterator[Journey]:
    if find_install() is None:
        pytest.skip(f"no real n8n to hold the double to: {missing_reason()}")
    if find_redis_server() is None:
        pytest.skip("no redis-server for the real n8n's memory (run `make tools`)")
    for stack in _stack("real"):
        assert stack.n8n is not None and stack.n8n.kind == "real"
        yield journey(stack)


@pytest.fixture(scope="module")
def double() -> Iterator[Journey]:
    for stack in _stack("double"):
        assert stack.n8n is not None and stack.n8n.kind == "double"
        yield journey(stack)


@pytest.mark.parametrize(
    "step",
    ["first DM", "asks for an orçamento", "no usable identifier", "automation rule (second organisation)"],
)
def test_the_double_records_what_the_real_n8n_records(real: Journey, double: Journey, step: str) -> None:
    assert double[step] == real[step]


def test_the_real_n8n_ran_the_journey_as_the_template_says(real: Journey) -> None:
    """What the contract compares is worth comparing: the real n8n handled every step."""
    first, moved, invalid = real["first DM"], real["asks for an orçamento"], real["no usable identifier"]
    assert first["status"] == moved["status"] == "success"
    assert (
        first["session_key_is_canonical"] and first["has_deal_id"] and first["answered_in_its_conversation"]
    )
    assert first["history"] == 0 and moved["history"] == 2
    assert first["memory"] == [
        ("success", "loadMemoryVariables", "loadMemoryVariables"),
        ("success", "saveContext", "saveContext"),
    ]
    assert [calls for calls in moved["tools"].values()] == [
        [("success", "['ai_summary', 'to_stage_label']", "['response']")]
    ]
    assert "AI Agent" not in invalid["nodes"] and invalid["nodes"][-1] == "Registrar evento invalido"
    assert real["automation rule (second organisation)"]["answered_in_its_conversation"]
