"""The n8n double's deterministic v2 agent flow, run by the worker for each queued execution:
filter, canonical identity, contact and deal through the CRM public API, then the agent (no
AI: a keyword decides the stage move). Every node's input and output is recorded as n8n run
data; an execution that raises is recorded as `crashed`.

The flow is this package's own reading of the template. It never imports the suite's identity
rules, payload builders or clients.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import httpx

from golive.sandbox.crm.rules import dig
from golive.sandbox.n8n.flow_rules import canonical_identity, passes_filter
from golive.sandbox.n8n.records import Job, WorkflowSetup, now
from golive.sandbox.n8n.run_data import NodeFailure, Run
from golive.sandbox.n8n.state import State

log = logging.getLogger("golive.sandbox.n8n")

CRM_PATH = "/api/public/v1"
CRM_TIMEOUT_S = 10.0


def _excerpt(data: Any, limit: int = 300) -> str:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


class Flow:
    """Runs executions one at a time (on the worker's thread), with one CRM client per workflow."""

    def __init__(self, state: State) -> None:
        self._state = state
        self._clients: dict[str, httpx.Client] = {}

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

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

    def _client(self, setup: WorkflowSetup) -> httpx.Client:
        client = self._clients.get(setup.id)
        if client is None:
            client = httpx.Client(
                base_url=setup.crm_base_url.rstrip("/"),
                headers={"X-Api-Key": setup.crm_api_key, "Accept": "application/json"},
                timeout=CRM_TIMEOUT_S,
            )
            self._clients[setup.id] = client
        return client

    @staticmethod
    def _call(
        client: httpx.Client,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        try:
            response = client.request(method, f"{CRM_PATH}{path}", params=params, json=body)
        except httpx.HTTPError as exc:
            raise NodeFailure(f"The CRM could not be reached: {type(exc).__name__}: {exc}") from exc
        try:
            data: Any = response.json()
        except ValueError:
            data = response.text
        if response.status_code >= 400:
            raise NodeFailure(
                f"The CRM answered {response.status_code} to {method} {CRM_PATH}{path}: {_excerpt(data)}",
                status=response.status_code,
                body=data,
            )
        return response.status_code, data

    # --- the v2 agent flow -------------------------------------------------------------------

    def _flow(self, run: Run, job: Job) -> None:
        setup, item, faults = job.setup, job.item, job.faults
        run.node("Webhook", [item], prev=None)
        body: dict[str, Any] = item["body"] if isinstance(item["body"], dict) else {}

        if not passes_filter(body):
            run.node("Filtrar mensagens", [], prev="Webhook")  # nothing kept: the run ends here
            return
        run.node("Filtrar mensagens", [item], prev="Webhook")

        identity = canonical_identity(setup, body, faults)
        run.node("Identidade canonica", [identity], prev="Filtrar mensagens")
        if not identity["valid"]:
            run.node("Identidade valida?", outputs=[[], [identity]], prev="Identidade canonica")
            run.node(
                "Registrar evento invalido",
                [{"reason": identity["invalid_reason"], "source": identity["source"]}],
                prev="Identidade valida?",
                prev_output=1,
            )
            return
        run.node("Identidade valida?", outputs=[[identity], []], prev="Identidade canonica")

        client = self._client(setup)
        started = time.time()
        try:
            contact, lookup = self._find_contact(client, body, identity)
        except NodeFailure as failure:
            run.fail(
                "Buscar contato",
                failure,
                prev="Identidade valida?",
                started=started,
                node_type="n8n-nodes-base.httpRequest",
            )
            return
        run.node(
            "Buscar contato",
            [{"data": [contact] if contact else [], "lookup": lookup}],
            prev="Identidade valida?",
            started=started,
        )

        session_key = str(identity["session_key"])
        deal_id: str | None = None
        previous = "Buscar contato"
        if contact is not None:
            started = time.time()
            try:
                _, created = self._call(
                    client,
                    "POST",
                    "/deals",
                    body={
                        "title": f"Atendimento {session_key}",
                        "board_key": setup.board_key,
                        "contact_id": contact.get("id"),
                    },
                )
            except NodeFailure as failure:
                run.fail(
                    "Garantir deal",
                    failure,
                    prev=previous,
                    started=started,
                    node_type="n8n-nodes-base.httpRequest",
                )
                return
            data = dig(created, "data")
            deal_id = str(data["id"]) if isinstance(data, dict) and data.get("id") else None
            run.node(
                "Garantir deal",
                [{"deal_id": deal_id, "action": dig(created, "action"), "data": data}],
                prev=previous,
                started=started,
            )
            previous = "Garantir deal"
        run.node(
            "Contexto_Deal",
            [
                {
                    "deal_id": deal_id,
                    "contact_id": contact.get("id") if contact else None,
                    "session_key": session_key,
                }
            ],
            prev=previous,
        )

        content = body.get("content") if isinstance(body.get("content"), str) else ""
        run.node("Buffer", [{"list": identity["buffer_key"], "pushed": content}], prev="Contexto_Deal")
        self._agent(run, setup, identity, deal_id, str(content), faults, client)

    def _find_contact(
        self, client: httpx.Client, body: dict[str, Any], identity: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, str]:
        """Buscar contato: by identity, then (WhatsApp) by phone, then create (WhatsApp)."""
        source = str(identity["source"] or "")
        external_id = identity["external_id"]
        if external_id is None:
            # Only under the name fallback fault: the flow looks the customer up by name and
            # carries on without a CRM contact when nobody has that name.
            name = str(identity.get("fallback_name") or "")
            _, found = self._call(client, "GET", "/contacts", params={"q": name})
            hits = dig(found, "data")
            return (hits[0] if isinstance(hits, list) and hits else None), "name"
        _, found = self._call(
            client,
            "GET",
            "/contacts",
            params={"identifier": str(external_id), "channel": source.lower()},
        )
        hits = dig(found, "data")
        if isinstance(hits, list) and hits:
            return hits[0], "identifier"
        if source != "WHATSAPP":
            raise NodeFailure(f"contact not resolved for {source.lower()}:{external_id}")
        _, found = self._call(client, "GET", "/contacts", params={"phone": str(external_id)})
        hits = dig(found, "data")
        if isinstance(hits, list) and hits:
            return hits[0], "phone"
        name = dig(body, "sender", "name") or dig(body, "conversation", "meta", "sender", "name")
        _, created = self._call(
            client,
            "POST",
            "/contacts",
            body={"name": str(name or f"{source} Contact"), "phone": str(external_id)},
        )
        contact = dig(created, "data")
        if not isinstance(contact, dict):
            raise NodeFailure(f"contact not resolved for {source.lower()}:{external_id}")
        return contact, "created"

    def _agent(
        self,
        run: Run,
        setup: WorkflowSetup,
        identity: dict[str, Any],
        deal_id: str | None,
        content: str,
        faults: frozenset[str],
        client: httpx.Client,
    ) -> None:
        """AI Agent with Memoria, Chat Model and the tool "Mover estagio" (no AI: a keyword)."""
        agent_started = time.time()
        session_key = str(identity["session_key"])
        with self._state.lock:
            history = list(self._state.memory.get(session_key, []))
        run.node(
            "Memoria",
            [
                {
                    "action": "loadMemoryVariables",
                    "sessionKey": session_key,
                    "history_length": len(history),
                }
            ],
            prev="AI Agent",
        )
        wants_move = setup.move_keyword.casefold() in content.casefold()
        reply = (
            f"Perfeito! Vou encaminhar o seu pedido de {setup.move_keyword}."
            if wants_move
            else "Obrigado pela mensagem! Em instantes seguimos com o seu atendimento."
        )
        run.node("Chat Model", [{"response": {"generations": [[{"text": reply}]]}}], prev="AI Agent")
        tool_calls: list[dict[str, Any]] = []
        if wants_move:
            summary = f"Cliente pediu {setup.move_keyword}: {content.strip()[:120]}"
            request_body: dict[str, Any]
            if "n8n-move-by-phone" in faults:
                path = "/deals/move-stage-by-identity"
                request_body = {
                    "board_key_or_id": setup.board_key,
                    "phone": identity["external_id"],
                    "to_stage_label": setup.move_stage,
                    "ai_summary": summary,
                }
            elif deal_id is not None:
                path = f"/deals/{deal_id}/move-stage"
                request_body = {"to_stage_label": setup.move_stage, "ai_summary": summary}
            else:
                path = ""  # no deal in context: the tool has nothing to move
                request_body = {}
            if path:
                call = {"method": "POST", "url_path": f"{CRM_PATH}{path}", "body": request_body}
                started = time.time()
                try:
                    status, answer = self._call(client, "POST", path, body=request_body)
                except NodeFailure as failure:
                    record = {
                        "request": call,
                        "response": {"status": failure.status, "body": failure.body},
                    }
                    run.fail(
                        "Mover estagio",
                        failure,
                        prev="AI Agent",
                        started=started,
                        node_type="n8n-nodes-base.httpRequestTool",
                        extra=record,
                    )
                    return
                record = {"request": call, "response": {"status": status, "body": answer}}
                run.node(
                    "Mover estagio",
                    [record],
                    prev="AI Agent",
                    started=started,
                    input_override={"query": request_body},
                )
                tool_calls.append({"tool": "Mover estagio", **record})
        with self._state.lock:
            stored = self._state.memory.setdefault(session_key, [])
            stored.append({"type": "human", "content": content})
            stored.append({"type": "ai", "content": reply})
        run.node(
            "AI Agent",
            [{"output": reply, "tool_calls": tool_calls}],
            prev="Buffer",
            started=agent_started,
        )
