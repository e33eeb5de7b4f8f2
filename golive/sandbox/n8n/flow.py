"""The n8n double's deterministic v2 agent flow, run by the worker for each queued execution.

It follows the template export node by node (fixtures/n8n/agent-v2.json): Webhook →
Fluxo_Variaveis → Filtrar mensagens → Identidade canonica → Dados_Evento → Identidade valida? →
Buscar contato → Contato encontrado? → Garantir deal → Contexto_Deal → Buffer → AI Agent (with
Memoria, Chat Model, Mover estagio) → Responder no Chatwoot; invalid identities end in
"Registrar evento invalido", unknown contacts in "Registrar contato ausente". The agent's model
is the model double's own rule (`golive.sandbox.model.behaviour`); its memory is in memory.
Each node's input and output is recorded as n8n records it (`run_data`); under a workflow fault
the flow does what that fault's broken variant does.

The flow is this package's own reading of the template. It never imports the suite's identity
rules, payload builders or clients.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from golive.sandbox.crm.rules import dig
from golive.sandbox.model.behaviour import answer
from golive.sandbox.n8n.flow_rules import canonical_identity, passes_filter
from golive.sandbox.n8n.records import Job, WorkflowSetup, now
from golive.sandbox.n8n.run_data import STATUS_MESSAGES, NodeFailure, Run
from golive.sandbox.n8n.served import variables
from golive.sandbox.n8n.state import State

log = logging.getLogger("golive.sandbox.n8n")

CRM_PATH = "/api/public/v1"
TIMEOUT_S = 10.0
HTTP = "n8n-nodes-base.httpRequest"
AGENT = "AI Agent"
SYSTEM = (
    "Voce e o atendente virtual da Lagosta. Responda em portugues, de forma curta. Quando o cliente "
    'avancar no funil, use a ferramenta "Mover estagio" com o rotulo exato do estagio e um resumo da '
    "conversa. Nunca invente dados do cliente."
)
TOOL = {
    "name": "Mover_estagio",
    "description": "Move o deal atual do cliente para outro estagio do funil.",
    "parameters": {
        "type": "object",
        "properties": {"to_stage_label": {"type": "string"}, "ai_summary": {"type": "string"}},
        "required": ["to_stage_label", "ai_summary"],
    },
}


def _lc(kind: str, content: str) -> dict[str, Any]:
    """A chat message as LangChain serialises it into run data."""
    return {
        "lc": 1,
        "type": "constructor",
        "id": ["langchain_core", "messages", kind],
        "kwargs": {"content": content, "additional_kwargs": {}, "response_metadata": {}},
    }


class Flow:
    """Runs executions one at a time (on the worker's thread), with one HTTP client per host."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._http = httpx.Client(timeout=TIMEOUT_S, trust_env=False)

    def close(self) -> None:
        self._http.close()

    def crashed(self, job: Job, exc: Exception) -> None:
        """An execution that raised is recorded as n8n records it: status `crashed`."""
        log.error("n8n double: execution %s crashed: %s: %s", job.execution_id, type(exc).__name__, exc)
        with self._state.lock:
            execution = self._state.executions[job.execution_id]
            execution.status = "crashed"
            execution.stopped_at = now()
            execution.error = {"message": f"{type(exc).__name__}: {exc}"}

    def execute(self, job: Job) -> None:
        with self._state.lock:
            execution = self._state.executions[job.execution_id]
            execution.status = "running"
            execution.started_at = now()
        run = Run()
        self._flow(run, job)
        with self._state.lock:
            execution.run_data = run.run_data
            execution.last_node = run.last_node
            execution.error = run.error
            execution.status = "error" if run.error is not None else "success"
            execution.stopped_at = now()

    def _call(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """One HTTP Request node's call; a status >= 400 is the node's NodeApiError."""
        try:
            response = self._http.request(method, url, params=params, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise NodeFailure(f"The connection cannot be established: {type(exc).__name__}: {exc}") from exc
        try:
            data: Any = response.json()
        except ValueError:
            data = response.text
        if response.status_code >= 400:
            message = STATUS_MESSAGES.get(
                response.status_code, f"Request failed with status code {response.status_code}"
            )
            raise NodeFailure(message, status=response.status_code, body=data)
        return data

    def _crm(self, setup: WorkflowSetup, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"X-Api-Key": setup.crm_api_key, "Accept": "application/json"}
        return self._call(method, f"{setup.crm_base_url.rstrip('/')}{CRM_PATH}{path}", headers, **kwargs)

    # --- the v2 agent flow -------------------------------------------------------------------

    def _flow(self, run: Run, job: Job) -> None:
        setup, item, faults = job.setup, job.item, job.faults
        run.node("Webhook", [[item]], prev=None)
        flow_vars = {**item, **variables(setup)}
        run.node("Fluxo_Variaveis", [[flow_vars]], prev="Webhook")
        body: dict[str, Any] = item["body"] if isinstance(item["body"], dict) else {}
        if not passes_filter(body):
            run.node("Filtrar mensagens", [[]], prev="Fluxo_Variaveis")  # nothing kept: the run ends
            return
        run.node("Filtrar mensagens", [[flow_vars]], prev="Fluxo_Variaveis")
        event = canonical_identity(setup, body, faults)
        run.node("Identidade canonica", [[event]], prev="Filtrar mensagens")
        run.node("Dados_Evento", [[event]], prev="Identidade canonica")
        if not event["valid"]:
            run.node("Identidade valida?", [[], [event]], prev="Dados_Evento")
            run.node("Registrar evento invalido", [[event]], prev="Identidade valida?")
            return
        run.node("Identidade valida?", [[event], []], prev="Dados_Evento")

        begun = run.start()
        try:
            found = self._crm(
                setup,
                "GET",
                "/contacts",
                params={"identifier": str(event["external_id"]), "channel": str(event["source"]).lower()},
            )
        except NodeFailure as failure:
            run.fail("Buscar contato", failure, prev="Identidade valida?", begun=begun, node_type=HTTP)
            return
        run.node("Buscar contato", [[found]], prev="Identidade valida?", begun=begun)
        hits = dig(found, "data")
        contact = hits[0] if isinstance(hits, list) and hits and isinstance(hits[0], dict) else None
        if contact is None or not contact.get("id"):
            run.node("Contato encontrado?", [[], [found]], prev="Buscar contato")
            run.node("Registrar contato ausente", [[found]], prev="Contato encontrado?")
            return
        run.node("Contato encontrado?", [[found], []], prev="Buscar contato")

        session_key = str(event["session_key"])
        begun = run.start()
        try:
            created = self._crm(
                setup,
                "POST",
                "/deals",
                body={
                    "title": f"Atendimento {session_key}",
                    "board_key": setup.board_key,
                    "contact_id": contact["id"],
                },
            )
        except NodeFailure as failure:
            run.fail("Garantir deal", failure, prev="Contato encontrado?", begun=begun, node_type=HTTP)
            return
        run.node("Garantir deal", [[created]], prev="Contato encontrado?", begun=begun)
        deal = dig(created, "data")
        deal_id = str(deal["id"]) if isinstance(deal, dict) and deal.get("id") else None
        memory_key = session_key
        if "n8n-memory-by-conversation" in faults:  # nonconformant/r3-conversation-session-key.json
            memory_key = f"{str(event['source']).lower()}:conversation:{event['conversation_id']}"
        context = {"deal_id": deal_id, "contact_id": str(contact["id"]), "session_key": memory_key}
        run.node("Contexto_Deal", [[context]], prev="Garantir deal")
        run.node("Buffer", [[context]], prev="Contexto_Deal")  # pushed to `buffer:<session_key>`

        output = self._agent(run, setup, event, context, contact, faults)
        if output is None:
            return
        self._reply(run, setup, event, body, output, faults)

    def _agent(
        self,
        run: Run,
        setup: WorkflowSetup,
        event: dict[str, Any],
        context: dict[str, Any],
        contact: dict[str, Any],
        faults: frozenset[str],
    ) -> str | None:
        """AI Agent: load the memory, ask the model, call the tool it asks for, ask again, save."""
        agent_begun = run.start()
        content = str(event["content"])
        key = (setup.organisation, str(context["session_key"]))
        with self._state.lock:
            history = list(self._state.memory.get(key, []))
        values = {"input": content, "system_message": SYSTEM}
        chat_history = [
            _lc("HumanMessage" if m["type"] == "human" else "AIMessage", m["content"]) for m in history
        ]
        run.sub_node(
            "Memoria",
            "ai_memory",
            {"action": "loadMemoryVariables", "values": values},
            {"action": "loadMemoryVariables", "chatHistory": chat_history},
            agent=AGENT,
            begun=run.start(),
        )
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}]
        messages += [
            {"role": "user" if m["type"] == "human" else "assistant", "content": m["content"]}
            for m in history
        ]
        messages.append({"role": "user", "content": content})
        never = "model-never-calls-tool" in faults
        reply = self._model(run, messages, setup, never)
        if reply.tool_call is not None:
            result = self._tool(run, setup, context, contact, reply.tool_call.arguments, faults)
            messages.append({"role": "assistant", "tool_calls": [{"function": {"name": TOOL["name"]}}]})
            messages.append({"role": "tool", "content": json.dumps(result, ensure_ascii=False)})
            reply = self._model(run, messages, setup, never)
        output = reply.text or ""
        with self._state.lock:
            stored = self._state.memory.setdefault(key, [])
            stored.append({"type": "human", "content": content})
            stored.append({"type": "ai", "content": output})
            saved = [
                _lc("HumanMessage" if m["type"] == "human" else "AIMessage", m["content"]) for m in stored
            ]
        run.sub_node(
            "Memoria",
            "ai_memory",
            {"action": "saveContext", "input": values, "output": {"output": output}},
            {"action": "saveContext", "chatHistory": saved},
            agent=AGENT,
            begun=run.start(),
        )
        run.node(AGENT, [[{"output": output}]], prev="Buffer", begun=agent_begun)
        return output

    def _model(self, run: Run, messages: list[dict[str, Any]], setup: WorkflowSetup, never: bool) -> Any:
        begun = run.start()
        reply = answer(
            messages,
            [{"type": "function", "function": TOOL}],
            keyword=setup.move_keyword,
            stage=setup.move_stage,
            never_calls_tools=never,
        )
        prompt = "\n".join(f"{m['role'].capitalize()}: {m.get('content') or ''}" for m in messages)
        generation = {
            "text": reply.text or "",
            "generationInfo": {"finish_reason": "tool_calls" if reply.tool_call else "stop"},
        }
        run.sub_node(
            "Chat Model",
            "ai_languageModel",
            {
                "messages": [prompt],
                "estimatedTokens": len(prompt.split()),
                "options": {"model": "gpt-4o-mini"},
            },
            {"response": {"generations": [[generation]]}, "tokenUsage": {"totalTokens": 60}},
            agent=AGENT,
            begun=begun,
        )
        return reply

    def _tool(
        self,
        run: Run,
        setup: WorkflowSetup,
        context: dict[str, Any],
        contact: dict[str, Any],
        arguments: dict[str, Any],
        faults: frozenset[str],
    ) -> Any:
        """Mover estagio: POST /deals/{deal_id}/move-stage; under `n8n-move-by-phone` the real
        exports' move-stage-by-identity with the contact's phone and email."""
        begun = run.start()
        stage, summary = arguments.get("to_stage_label"), arguments.get("ai_summary")
        if "n8n-move-by-phone" in faults:  # nonconformant/r1-move-by-identity.json
            path = "/deals/move-stage-by-identity"
            body = {
                "board_key_or_id": setup.board_key,
                "phone": contact.get("phone"),
                "email": contact.get("email"),
                "to_stage_label": stage,
                "ai_summary": summary,
            }
        else:
            path = f"/deals/{context['deal_id']}/move-stage"
            body = {"to_stage_label": stage, "ai_summary": summary}
        try:
            result: Any = [self._crm(setup, "POST", path, body=body)]
        except NodeFailure as failure:  # the error goes back to the model as the tool's answer
            run.tool_failed("Mover estagio", dict(arguments), failure, agent=AGENT, begun=begun)
            return f'There was an error: "{failure.message}"'
        run.sub_node(
            "Mover estagio",
            "ai_tool",
            dict(arguments),
            {"response": result},
            agent=AGENT,
            begun=begun,
            sub_run=True,
        )
        return result

    def _reply(
        self,
        run: Run,
        setup: WorkflowSetup,
        event: dict[str, Any],
        body: dict[str, Any],
        output: str,
        faults: frozenset[str],
    ) -> None:
        """Responder no Chatwoot: the answer as an outgoing message of the event's conversation."""
        begun = run.start()
        conversation = event["conversation_id"]
        if "n8n-reply-wrong-conversation" in faults:  # faults/reply-to-body-id.json
            conversation = body.get("id")
        base = (setup.chatwoot_base_url or "").rstrip("/")
        url = f"{base}/api/v1/accounts/{setup.chatwoot_account_id}/conversations/{conversation}/messages"
        headers = {"api_access_token": setup.chatwoot_token}
        try:
            if not base:
                raise NodeFailure(f'Invalid URL: {url}. URL must start with "http" or "https".')
            sent = self._call(
                "POST", url, headers, body={"content": output, "message_type": "outgoing", "private": False}
            )
        except NodeFailure as failure:
            run.fail("Responder no Chatwoot", failure, prev=AGENT, begun=begun, node_type=HTTP)
            return
        run.node("Responder no Chatwoot", [[sent]], prev=AGENT, begun=begun)
