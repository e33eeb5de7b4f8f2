"""One look at an organisation over [since, until): counts from the resolution log, the
conversation links and n8n's executions of its v2 workflow. Read-only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from golive.clients.n8n import Execution, N8nClient, Workflow
from golive.clients.sql import SqlVerifier
from golive.evidence.monitoring import Observation

BACKFILL_STAGE = "backfill"  # the backfill's rows are not live traffic
FAILED_STATUSES = {"error", "crashed"}
MOVE_MARKER = "move-stage"  # every CRM stage-move route has it (crm-contract §5.2)
EXAMPLES = 3


def resolution_counts(sql: SqlVerifier, since: datetime, until: datetime) -> dict[str, Any]:
    rows = sql.query(
        "SELECT count(*) AS total, count(*) FILTER (WHERE action = 'error') AS errors, "
        "count(*) FILTER (WHERE action = 'ambiguous') AS ambiguous FROM messaging_identity_resolution_log "
        "WHERE organization_id = %(org)s AND created_at >= %(since)s AND created_at < %(until)s "
        "AND coalesce(metadata->>'stage', '') <> %(backfill)s",
        since=since,
        until=until,
        backfill=BACKFILL_STAGE,
    )
    examples = sql.query(
        "SELECT created_at::text AS at, source, coalesce(metadata->>'reason', '') AS reason, "
        "coalesce(error_message, '') AS message FROM messaging_identity_resolution_log "
        "WHERE organization_id = %(org)s AND action = 'error' AND created_at >= %(since)s "
        "AND created_at < %(until)s AND coalesce(metadata->>'stage', '') <> %(backfill)s "
        "ORDER BY created_at LIMIT %(limit)s",
        since=since,
        until=until,
        backfill=BACKFILL_STAGE,
        limit=EXAMPLES,
    )
    return {
        **rows[0],
        "examples": [
            f"identity error at {e['at']} ({e['source']}): {e['reason'] or e['message']}" for e in examples
        ],
    }


def link_counts(sql: SqlVerifier, since: datetime, until: datetime) -> dict[str, Any]:
    return sql.query(
        "SELECT count(*) AS total, count(*) FILTER (WHERE contact_id IS NULL) AS without_contact, "
        "count(*) FILTER (WHERE deal_id IS NULL) AS without_deal FROM messaging_conversation_links "
        "WHERE organization_id = %(org)s AND created_at >= %(since)s AND created_at < %(until)s",
        since=since,
        until=until,
    )[0]


def move_nodes(workflow: Workflow) -> set[str]:
    """The workflow's nodes that call a CRM stage-move route."""
    return {
        str(node.get("name"))
        for node in workflow.raw.get("nodes") or []
        if MOVE_MARKER in json.dumps(node.get("parameters") or {})
    }


def _started(execution: Execution) -> datetime | None:
    raw = execution.raw.get("startedAt")
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None


def _node_failed(entry: dict[str, Any]) -> bool:
    return entry.get("executionStatus") == "error" or bool(entry.get("error"))


def execution_counts(
    n8n: N8nClient, workflow: Workflow, since: datetime, until: datetime
) -> tuple[int, int, int, int, list[str]]:
    """(executions, failed, stage moves, failed stage moves, examples) started in the window."""
    moves = move_nodes(workflow)
    executions = failed = calls = failed_calls = 0
    examples: list[str] = []
    for execution in n8n.executions_started(workflow.id, since=since):
        started = _started(execution)
        if started is None or not since <= started < until or not execution.finished:
            continue
        executions += 1
        if execution.status in FAILED_STATUSES:
            failed += 1
            if len(examples) < EXAMPLES:
                examples.append(f"n8n execution {execution.id} {execution.status}: {execution.error()}")
        for node in moves:
            for entry in execution.run_data().get(node) or []:
                calls += 1
                failed_calls += _node_failed(entry)
    return executions, failed, calls, failed_calls, examples


def observe(
    sql: SqlVerifier, n8n: N8nClient | None, workflow: Workflow | None, since: datetime, until: datetime
) -> Observation:
    resolutions = resolution_counts(sql, since, until)
    links = link_counts(sql, since, until)
    examples = list(resolutions["examples"])
    runs = failed = moves = failed_moves = None
    if n8n is not None and workflow is not None:
        runs, failed, moves, failed_moves, more = execution_counts(n8n, workflow, since, until)
        examples += more
    return Observation(
        since=since.isoformat(),
        until=until.isoformat(),
        resolutions=int(resolutions["total"]),
        resolution_errors=int(resolutions["errors"]),
        ambiguous=int(resolutions["ambiguous"]),
        conversations=int(links["total"]),
        without_contact=int(links["without_contact"]),
        without_deal=int(links["without_deal"]),
        n8n_executions=runs,
        n8n_failed=failed,
        stage_moves=moves,
        stage_moves_failed=failed_moves,
        examples=tuple(examples),
    )
