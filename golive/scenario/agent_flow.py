"""The organisation's v2 agent flow in n8n, seen through its executions.

A delivery to the flow's webhook starts an execution; its run data shows which nodes ran, what
the agent's memory loaded, which tools the agent called, and what the flow answered the
customer. The flow's parts are found by what they do (`flow_roles`), so these checks read any
real export as a reviewer would; the values the flow computed (the memory's session key, the
deal id) are read from the run data of the node that computed them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from golive.clients.chatwoot import ChatwootClient
from golive.clients.crm import CrmClient
from golive.clients.n8n import Execution, N8nClient, Workflow
from golive.clients.redis import RedisReader
from golive.n8n_lint import FAIL, lint_workflow
from golive.organisation import Organisation
from golive.scenario.data import required
from golive.scenario.deals import deal_in_stage
from golive.scenario.flow_roles import Roles, Unreadable, find_roles, memory_key, value_of
from golive.scenario.injection import Conversations, Sent


@dataclass(frozen=True)
class FlowRun:
    sent: Sent
    execution: Execution
    org: Organisation

    @cached_property
    def roles(self) -> Roles:
        try:
            return find_roles(self.execution, self.org.n8n.roles, self.org.n8n.webhook_path)
        except Unreadable as exc:
            raise _fail(f"cannot read the agent flow of execution {self.execution.id}: {exc}") from None

    def deal_id(self) -> str | None:
        deal = self.roles.deal
        value = (self.execution.main_output(deal) or {}).get("deal_id") if deal else None
        return str(value) if value else None

    def session_key(self) -> Any:
        try:
            return memory_key(self.roles, self.execution)
        except Unreadable as exc:
            raise _fail(
                f"cannot tell the agent's memory key in execution {self.execution.id}: {exc}"
            ) from None

    def memory_history(self) -> int | None:
        """Messages the memory held when the agent started (None: the memory did not run)."""
        for call in self.execution.sub_runs(self.roles.memory):
            if call.answered.get("action") == "loadMemoryVariables":
                history = call.answered.get("chatHistory")
                return len(history) if isinstance(history, list) else 0
        return None


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
    return FlowRun(sent, n8n.execution_for_message(workflow.id, sent.message.id, timeout=org.timeout_s), org)


def asks_for_next_step(
    conversations: Conversations, n8n: N8nClient, org: Organisation, first: FlowRun
) -> FlowRun:
    keyword = org.n8n.move_keyword or "orçamento"
    text = f"Perfeito! Pode me mandar um {keyword} para o evento?"
    return run_for(n8n, org, conversations.next_message(first.sent, text))


# --- checks ----------------------------------------------------------------------------------


def handled(run: FlowRun) -> None:
    """The execution succeeded, the agent ran, and the flow answered the customer."""
    execution, roles = run.execution, run.roles
    nodes = execution.nodes_run()
    if roles.agent is None:
        raise _fail(f"the workflow that ran has no AI Agent fed by its webhook ({roles.describe()})")
    if roles.reply is not None and execution.node_status(roles.reply) == "error":
        target = _quiet_value(roles.workflow.url(roles.reply), roles, roles.reply, execution)
        raise _fail(
            f"the flow could not answer the customer in conversation {run.sent.conversation_id}: "
            f"{roles.reply!r} posted to {target} and failed: {execution.node_error(roles.reply)}"
        )
    if execution.status != "success" or not execution.ran(roles.agent):
        raise _fail(
            f"the agent flow did not handle the message: execution {execution.id} ended "
            f"{execution.status!r} after {nodes}; {execution.error()}"
        )
    if roles.reply is not None and not execution.ran(roles.reply):
        raise _fail(f"the agent answered but the flow did not send the answer to Chatwoot ({roles.reply!r})")


def handled_run(n8n: N8nClient, org: Organisation, sent: Sent) -> FlowRun:
    run = run_for(n8n, org, sent)
    handled(run)
    return run


def resolved_before_agent(run: FlowRun) -> None:
    roles, execution = run.roles, run.execution
    if roles.deal is None:
        raise _fail(f"no node of the flow hands the tools a deal_id ({roles.describe()})")
    if not run.deal_id():
        raise _fail(
            f"the flow exposed no deal_id before the agent: {roles.deal!r} output "
            f"{execution.main_output(roles.deal)} (nodes run: {execution.nodes_run()})"
        )
    if roles.agent and not execution.started_before(roles.deal, roles.agent):
        raise _fail(f"the flow resolved the deal ({roles.deal!r}) only after the agent ran")


def memory_keyed_by(run: FlowRun, expected: str, redis: RedisReader | None) -> None:
    key = run.session_key()
    if key != expected:
        raise _fail(
            f"the flow keyed the conversation memory by {key!r} (memory {run.roles.memory!r}), "
            f"expected the canonical key {expected!r}"
        )
    if redis is not None:
        canonical_keys_in_redis(run, redis)


def memory_keyed_by_instagram_identity(run: FlowRun, redis: RedisReader | None) -> None:
    memory_keyed_by(run, f"instagram:{run.sent.person.instagram_id}", redis)


def memory_keyed_by_whatsapp_identity(run: FlowRun, redis: RedisReader | None) -> None:
    memory_keyed_by(run, f"whatsapp:{run.sent.person.whatsapp_id}", redis)


def canonical_keys_in_redis(run: FlowRun, redis: RedisReader | None) -> None:
    """The memory (and the buffer) live in Redis under the canonical key of the customer, and
    nothing was written under a key made from the conversation id."""
    if redis is None:
        raise _fail("the profile gives no read-only Redis ([redis] url_env): cannot read the keys")
    person = run.sent.person
    external = person.instagram_id if run.sent.channel == "instagram" else person.whatsapp_id
    canonical = f"{run.sent.channel}:{external}"
    by_conversation = redis.keys(f"*conversation:{run.sent.conversation_id}*")
    if by_conversation:
        raise _fail(
            f"Redis holds the conversation's memory under {by_conversation} (keyed by the "
            f"conversation id), not only under the canonical key {canonical!r}"
        )
    if not redis.length(canonical):
        found = redis.keys(f"*{canonical.split(':', 1)[1]}*") + redis.keys(f"*{run.sent.conversation_id}*")
        raise _fail(
            f"Redis has no memory under the canonical key {canonical!r} after the agent ran; "
            f"keys of this customer: {sorted(set(found)) or 'none'}"
        )


def moved_by_deal_id(run: FlowRun, first: FlowRun, crm: CrmClient, org: Organisation) -> None:
    handled(run)
    deal_id = first.deal_id()
    if run.deal_id() != deal_id:
        raise _fail(
            f"the flow worked on deal {run.deal_id()} in the second message, but the "
            f"conversation's deal is {deal_id}"
        )
    roles, execution = run.roles, run.execution
    if not roles.stage_tools:
        raise _fail(f"the agent has no stage-move tool ({roles.describe()})")
    called = [t for t in roles.stage_tools if execution.sub_runs(t)]
    if not called:
        said = (execution.main_output(roles.agent or "") or {}).get("output")
        raise _fail(
            f"the agent did not call its stage-move tool ({', '.join(roles.stage_tools)}) for a "
            f"message asking for the next step; the model only answered in text: {said!r}"
        )
    findings = lint_workflow(execution.workflow_data(), source=f"execution {execution.id}")
    broken = [f for f in findings if f.rule == "R1" and f.node in called and f.verdict == FAIL]
    if broken:
        raise _fail(f"the agent moved the stage by identity, not by deal_id (rule R1): {broken[0].message}")
    stage = required(org.n8n.move_stage or org.target_stage, f"the agent's stage of '{org.slug}'")
    deal_in_stage(
        crm, required(org.board_key, f"the board key of '{org.slug}'"), required(deal_id, "deal_id"), stage
    )


def stopped_as_invalid(run: FlowRun) -> None:
    """A message without a usable identifier stops at the identity gate: the agent does not run,
    and the flow looks nobody up with something that is not an identity."""
    execution, roles = run.execution, run.roles
    if (roles.agent and execution.ran(roles.agent)) or execution.ran(roles.memory):
        key = _quiet_key(run)
        raise _fail(
            f"the agent ran for a message without a usable identifier (memory key {key!r}): "
            "the flow must stop invalid identities, never fall back to a name"
        )
    lookup = roles.contact_lookup
    if lookup is not None and execution.ran(lookup):
        used = {
            name: _quiet_value(value, roles, lookup, execution)
            for where, name, value in roles.workflow.http_values(lookup)
            if where == "query"
        }
        raise _fail(
            f"the flow let a message without a usable identifier past its identity gate: the "
            f"contact lookup {lookup!r} ran with {used} — a name or a guess, not an identifier"
        )


def _quiet_key(run: FlowRun) -> Any:
    try:
        return memory_key(run.roles, run.execution)
    except Unreadable:
        return None


def _quiet_value(expression: str, roles: Roles, node: str, execution: Execution) -> Any:
    try:
        return value_of(expression, roles, node, execution)
    except Unreadable:
        return expression


def separate_memories(
    n8n: N8nClient, org: Organisation, whatsapp_sent: Sent, instagram_sent: Sent
) -> tuple[FlowRun, FlowRun]:
    whatsapp, instagram = run_for(n8n, org, whatsapp_sent), run_for(n8n, org, instagram_sent)
    keys = [r.session_key() for r in (whatsapp, instagram)]
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
        history = run.memory_history()
        if history:
            raise _fail(
                f"the first message on {run.sent.channel} found {history} earlier message(s) "
                "in its memory: conversations are mixing"
            )


def answered_in_own_conversations(
    n8n: N8nClient, org: Organisation, chatwoot: ChatwootClient, whatsapp_sent: Sent, instagram_sent: Sent
) -> None:
    """Each message got the agent's answer in the conversation it came from — not in the same
    person's conversation on the other channel."""
    runs = [run_for(n8n, org, sent) for sent in (whatsapp_sent, instagram_sent)]
    for run, other in ((runs[0], runs[1]), (runs[1], runs[0])):
        handled(run)
        answer = str((run.execution.main_output(run.roles.agent or "") or {}).get("output") or "")
        reply = run.execution.main_output(run.roles.reply or "") or {}
        where = reply.get("conversation_id")
        own, theirs = run.sent.conversation_id, other.sent.conversation_id
        if where != own:
            elsewhere = " — the same person's other channel" if where == theirs else ""
            raise _fail(
                f"the agent's answer to the {run.sent.channel} message went to conversation "
                f"{where}{elsewhere}, not to conversation {own} where the customer wrote"
            )
        outgoing = [m for m in chatwoot.messages(own) if m.get("message_type") in (1, "outgoing")]
        if not any(m.get("content") == answer for m in outgoing):
            raise _fail(
                f"Chatwoot's conversation {own} ({run.sent.channel}) does not show the agent's "
                f"answer {answer!r}; outgoing messages there: {[m.get('content') for m in outgoing]}"
            )
    for run, other in ((runs[0], runs[1]), (runs[1], runs[0])):
        answer = str((run.execution.main_output(run.roles.agent or "") or {}).get("output") or "")
        strays = [
            m
            for m in chatwoot.messages(other.sent.conversation_id)
            if m.get("message_type") in (1, "outgoing")
        ]
        if len(strays) > 1:
            raise _fail(
                f"the {other.sent.channel} conversation {other.sent.conversation_id} got "
                f"{len(strays)} answers for one message: the answer to the {run.sent.channel} "
                f"message ({answer!r}) landed in the other channel"
            )
