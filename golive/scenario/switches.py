"""Outages a scenario switches on and always ends: the CRM webhook, an n8n workflow."""

from __future__ import annotations

from golive.clients.control import ControlClient
from golive.clients.n8n import N8nClient
from golive.organisation import Organisation
from golive.scenario.agent_flow import v2_workflow
from golive.scenario.injection import Conversations


class Outage:
    """The CRM webhook down for one organisation's inboxes (others may be under test too).
    While it lasts the suite delivers the organisation's messages itself, whatever the profile
    says: the scenario must see the refusal that Chatwoot would meet and never report."""

    def __init__(
        self, control: ControlClient, org: Organisation, conversations: Conversations | None = None
    ) -> None:
        self._control = control
        self._inboxes = sorted(inbox.id for inbox in org.inboxes.values())
        self._conversations = conversations
        self.active = False

    def begin(self) -> None:
        self._control.start_outage(self._inboxes)
        self.active = True
        if self._conversations is not None:
            self._conversations.suite_delivers = True

    def end(self) -> None:
        self._control.end_outage()
        self.active = False
        if self._conversations is not None:
            self._conversations.suite_delivers = False


class WorkflowSwitch:
    """Switches an organisation's v2 workflow off in n8n, and back on whatever happens."""

    def __init__(self, n8n: N8nClient, org: Organisation) -> None:
        self._n8n = n8n
        self._org = org
        self._switched: str | None = None

    def off(self) -> None:
        workflow = v2_workflow(self._n8n, self._org)
        self._n8n.set_active(workflow.id, False)
        self._switched = workflow.id

    def restore(self) -> None:
        if self._switched is not None:
            self._n8n.set_active(self._switched, True)
            self._switched = None
