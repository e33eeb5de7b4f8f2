"""The T-2 pre-activation checks and the template v2 conformance of an organisation's flows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from golive.clients.chatwoot import ChatwootClient
from golive.clients.crm import CrmClient
from golive.clients.n8n import N8nClient
from golive.n8n_lint import lint_workflow
from golive.organisation import Organisation
from golive.scenario.agent_flow import v2_workflow
from golive.scenario.data import required
from golive.scenario.injection import Sent

FITTING_CHANNELS = {
    "whatsapp": {"Channel::Whatsapp", "Channel::Api", "Channel::TwilioSms"},
    "instagram": {"Channel::Instagram", "Channel::FacebookPage"},
}
CRM_EVENTS = {"conversation_created", "message_created"}


@dataclass(frozen=True)
class ExportedWorkflow:
    source: str
    data: dict[str, Any]


def _fail(message: str) -> AssertionError:
    return AssertionError(message)


def exported_workflows(org: Organisation) -> list[ExportedWorkflow]:
    found = []
    for path in org.n8n.workflow_exports:
        if not Path(path).is_file():
            raise _fail(f"the profile names an n8n export that does not exist: {path}")
        found.append(ExportedWorkflow(str(path), json.loads(Path(path).read_text(encoding="utf-8"))))
    return found


def live_workflow(n8n: N8nClient, org: Organisation) -> list[ExportedWorkflow]:
    workflow = v2_workflow(n8n, org)
    return [ExportedWorkflow(f"n8n workflow {workflow.id}", n8n.workflow(workflow.id).raw)]


def template_rules_hold(workflows: list[ExportedWorkflow]) -> None:
    broken = [f for w in workflows for f in lint_workflow(w.data, source=w.source) if f.failed]
    if broken:
        lines = "; ".join(f.message for f in broken[:5])
        raise _fail(f"{len(broken)} template v2 rule(s) broken: {lines}")


def api_key_names_organisation(crm: CrmClient, org: Organisation) -> None:
    me = crm.me()
    if org.organization_id and me.organization_id != org.organization_id:
        raise _fail(
            f"the API key of '{org.slug}' belongs to organisation {me.organization_id} "
            f"({me.organization_name!r}), not {org.organization_id}"
        )


def inboxes_fit(chatwoot_api: ChatwootClient, org: Organisation) -> None:
    inboxes = {inbox.id: inbox for inbox in chatwoot_api.inboxes()}
    for channel, expected in org.inboxes.items():
        inbox = inboxes.get(expected.id)
        if inbox is None:
            raise _fail(
                f"Chatwoot account {org.account_id} has no inbox {expected.id} "
                f"(the profile's {channel} inbox)"
            )
        if inbox.channel_type not in FITTING_CHANNELS[channel]:
            raise _fail(
                f"inbox {inbox.id} ({inbox.name!r}) is a {inbox.channel_type}, which cannot carry {channel}"
            )
        if expected.injection == "chatwoot" and inbox.channel_type != "Channel::Api":
            raise _fail(
                f"the profile injects {channel} through Chatwoot, but inbox {inbox.id} is a "
                f"{inbox.channel_type}: Chatwoot creates incoming messages only on API inboxes"
            )


def crm_webhook_registered(chatwoot_api: ChatwootClient, org: Organisation) -> None:
    hooks = [w for w in chatwoot_api.webhooks() if w.url == org.webhook_url]
    if not hooks:
        raise _fail(f"no Chatwoot webhook of account {org.account_id} points to {org.webhook_url}")
    events = set().union(*(set(w.subscriptions) for w in hooks))
    if not events >= CRM_EVENTS:
        raise _fail(f"the CRM webhook misses events {sorted(CRM_EVENTS - events)}")


def n8n_webhook_registered(chatwoot_api: ChatwootClient, org: Organisation) -> None:
    url = f"{org.n8n.base_url}/webhook/{org.n8n.webhook_path}"
    inbox_ids = {inbox.id for inbox in org.inboxes.values()}
    if org.n8n.trigger == "automation_rule":
        rules = [
            r
            for r in chatwoot_api.automation_rules()
            if r.active and r.event_name == "message_created" and url in r.webhook_urls
        ]
        if not rules:
            raise _fail(
                f"no active Chatwoot automation rule sends message_created to the n8n flow at {url} "
                "(the profile's [n8n] trigger is automation_rule)"
            )
        return
    hooks = [
        w
        for w in chatwoot_api.webhooks()
        if w.url == url
        and "message_created" in w.subscriptions
        and (w.inbox_id is None or w.inbox_id in inbox_ids)
    ]
    if not hooks:
        raise _fail(f"no Chatwoot webhook sends message_created to the n8n flow at {url}")


def stages_exist(crm: CrmClient, org: Organisation) -> None:
    labels = {s.label.lower() for s in crm.stages(required(org.board_key, f"the board key of '{org.slug}'"))}
    for stage in {s for s in (org.target_stage, org.n8n.move_stage) if s is not None}:
        if stage.lower() not in labels:
            raise _fail(f"board {org.board_key!r} has no stage {stage!r} (it has {sorted(labels)})")


def workflow_active_and_tagged(n8n: N8nClient, org: Organisation) -> None:
    workflow = v2_workflow(n8n, org)
    if not workflow.active:
        raise _fail(
            f"the v2 workflow {workflow.id} ({workflow.name!r}) is inactive: its production "
            "webhook is not registered and every message is lost"
        )
    if org.n8n.workflow_tag not in workflow.tags:
        raise _fail(
            f"the v2 workflow {workflow.id} is not tagged {org.n8n.workflow_tag!r} "
            f"(tags: {list(workflow.tags)})"
        )


def finds_inactive(n8n: N8nClient, org: Organisation) -> None:
    try:
        workflow_active_and_tagged(n8n, org)
    except AssertionError as problem:
        if "inactive" in str(problem):
            return
        raise
    raise _fail("the pre-activation check did not notice that the v2 workflow is inactive")


def not_registered(sent: Sent) -> None:
    """n8n's own 404 for a production webhook whose workflow is inactive."""
    if not sent.n8n_answers:
        raise _fail("the message was not delivered to the organisation's n8n flow")
    answer = sent.n8n_answers[0]
    message = str(answer.body.get("message", ""))
    if answer.status != 404 or "is not registered" not in message:
        raise _fail(
            f"expected n8n's 404 'webhook is not registered' for an inactive flow, got "
            f"{answer.status} {answer.body}"
        )
