"""The organisation's v2 agent flow in n8n, seen through its executions.

A delivery to the flow's webhook starts an execution; its run data shows which nodes ran,
the keys they used, and the CRM calls they made. These checks read it like a reviewer would.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from golive.clients.crm import CrmClient
from golive.clients.n8n import Execution, N8nClient, Workflow
from golive.config import Organisation
from golive.scenario.data import required
from golive.scenario.deals import deal_in_stage
from golive.scenario.injection import Conversations, Sent

AGENT = "AI Agent"
MEMORY = "Memoria"
DEAL_CONTEXT = "Contexto_Deal"
MOVE_TOOL = "Mover estagio"
INVALID = "Registrar evento invalido"


@dataclass(frozen=True)
class FlowRun:
    sent: Sent
    execution: Execution

    def deal_id(self) -> str | None:
        context = self.execution.output(DEAL_CONTEXT) or {}
        value = context.get("deal_id")
        return str(value) if value else None


def _fail(message: str) -> AssertionError:
    return AssertionError(message)


def v2_workflow(n8n: N8nClient, org: Organisation) -> Workflow:
    path = required(org.n8n.webhook_path, f"the n8n webhook path of '{org.slug}'")
    workflow = n8n.workflow_for_path(path)
    if workflow is None:
        raise _fail(f"no n8n workflow listens on the webhook path {path!r} of '{org.slug}'")
    return workflow


def run_for(n8n: N8nClient, org: Organisation, sent: Sent) -> FlowRun:
    refused = [a for a in sent.n8n_answers if a.status != 200]
    if refused:
        raise _fail(f"n8n refused the delivery to the agent flow: {refused[0].status} {refused[0].body}")
    workflow = v2_workflow(n8n, org)
    return FlowRun(sent, n8n.execution_for_message(workflow.id, sent.message.id, timeout=org.timeout_s))


def asks_for_next_step(
    conversations: Conversations, n8n: N8nClient, org: Organisation, first: FlowRun
) -> FlowRun:
    keyword = org.n8n.move_keyword or "orçamento"
    text = f"Perfeito! Pode me mandar um {keyword} para o evento?"
    return run_for(n8n, org, conversations.next_message(first.sent, text))


# --- checks ----------------------------------------------------------------------------------


def handled(run: FlowRun) -> None:
    execution = run.execution
    if execution.status != "success" or AGENT not in execution.nodes_run():
        raise _fail(
            f"the agent flow did not handle the message: execution {execution.id} ended "
            f"{execution.status!r} after {execution.nodes_run()}; {execution.error()}"
        )


def resolved_before_agent(run: FlowRun) -> None:
    execution = run.execution
    nodes = execution.nodes_run()
    if not run.deal_id():
        raise _fail(f"the flow exposed no deal_id before the agent (nodes run: {nodes})")
    if AGENT in nodes and nodes.index(DEAL_CONTEXT) > nodes.index(AGENT):
        raise _fail("the flow resolved the deal only after the agent ran")


def memory_keyed_by(run: FlowRun, expected: str) -> None:
    memory = run.execution.output(MEMORY) or {}
    key = memory.get("sessionKey")
    if key != expected:
        raise _fail(
            f"the flow keyed the conversation memory by {key!r}, expected the canonical key {expected!r}"
        )


def memory_keyed_by_instagram_identity(run: FlowRun) -> None:
    memory_keyed_by(run, f"instagram:{run.sent.person.instagram_id}")


def memory_keyed_by_whatsapp_identity(run: FlowRun) -> None:
    memory_keyed_by(run, f"whatsapp:{run.sent.person.whatsapp_id}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def moved_by_deal_id(run: FlowRun, first: FlowRun, crm: CrmClient, org: Organisation) -> None:
    handled(run)
    deal_id = first.deal_id()
    if run.deal_id() != deal_id:
        raise _fail(
            f"the flow worked on deal {run.deal_id()} in the second message, but the "
            f"conversation's deal is {deal_id}"
        )
    calls = [s for s in _strings(run.execution.run_data().get(MOVE_TOOL, [])) if "move-stage" in s]
    if not calls:
        raise _fail(
            f"the agent did not call its stage-move tool ({MOVE_TOOL!r}) for a message "
            f"asking for the next step"
        )
    if any("move-stage-by-identity" in c for c in calls) or not any(
        f"/deals/{deal_id}/move-stage" in c for c in calls
    ):
        raise _fail(f"the agent moved the stage by identity, not by deal_id (rule R1): {calls[0]}")
    stage = required(org.n8n.move_stage or org.target_stage, f"the agent's stage of '{org.slug}'")
    deal_in_stage(
        crm, required(org.board_key, f"the board key of '{org.slug}'"), required(deal_id, "deal_id"), stage
    )


def stopped_as_invalid(run: FlowRun) -> None:
    execution = run.execution
    nodes = execution.nodes_run()
    if AGENT in nodes or MEMORY in nodes:
        key = (execution.output(MEMORY) or {}).get("sessionKey")
        raise _fail(
            f"the agent ran for a message without a usable identifier (memory key {key!r}): "
            "the flow must stop invalid identities, never fall back to a name"
        )
    if INVALID not in nodes:
        raise _fail(f"the flow did not record the message as an invalid identity (nodes run: {nodes})")


def handled_run(n8n: N8nClient, org: Organisation, sent: Sent) -> FlowRun:
    run = run_for(n8n, org, sent)
    handled(run)
    return run


def separate_memories(
    n8n: N8nClient, org: Organisation, whatsapp_sent: Sent, instagram_sent: Sent
) -> tuple[FlowRun, FlowRun]:
    whatsapp, instagram = run_for(n8n, org, whatsapp_sent), run_for(n8n, org, instagram_sent)
    keys = [(r.execution.output(MEMORY) or {}).get("sessionKey") for r in (whatsapp, instagram)]
    expected = [
        f"whatsapp:{whatsapp.sent.person.phone}",
        f"instagram:{instagram.sent.person.igsid}",
    ]
    if keys != expected:
        raise _fail(
            f"the two conversations were keyed {keys}, expected the distinct canonical keys {expected}"
        )
    return whatsapp, instagram


def no_shared_history(whatsapp: FlowRun, instagram: FlowRun) -> None:
    for run in (whatsapp, instagram):
        history = (run.execution.output(MEMORY) or {}).get("history_length")
        if history:
            raise _fail(
                f"the first message on {run.sent.channel} found {history} earlier message(s) "
                "in its memory: conversations are mixing"
            )
