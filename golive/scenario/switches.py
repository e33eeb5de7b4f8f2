"""Outages a scenario switches on and always ends: the CRM webhook, an n8n workflow."""

from __future__ import annotations

from golive.clients.control import ControlClient
from golive.clients.n8n import N8nClient
from golive.config import Organisation
from golive.scenario.agent_flow import v2_workflow


class Outage:
    """The CRM webhook down for one organisation's inboxes (others may be under test too)."""

    def __init__(self, control: ControlClient, org: Organisation) -> None:
        self._control = control
        self._inboxes = sorted(inbox.id for inbox in org.inboxes.values())
        self.active = False

    def begin(self) -> None:
        self._control.set_outage(True, self._inboxes)
        self.active = True

    def end(self) -> None:
        self._control.set_outage(False, self._inboxes)  # only this organisation's inboxes
        self.active = False


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
