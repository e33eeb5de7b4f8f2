"""What the n8n double knows, behind one lock: its workflows (by id and by webhook path), the
executions, and the agent's chat memory per session key."""

from __future__ import annotations

import itertools
import json
import threading

from golive.sandbox.faults import FaultState
from golive.sandbox.n8n.records import Execution, Workflow, WorkflowSetup, now
from golive.sandbox.n8n.served import fault_nodes


class State:
    def __init__(self, faults: FaultState, workflows: list[WorkflowSetup]) -> None:
        self.faults = faults
        self.lock = threading.Lock()
        self.workflows: dict[str, Workflow] = {}
        self.by_path: dict[str, Workflow] = {}
        created = now()
        for setup in workflows:
            path = setup.webhook_path.strip("/")
            if setup.id in self.workflows:
                raise ValueError(f"two n8n workflows share the id {setup.id!r}")
            if path in self.by_path:
                raise ValueError(f"two n8n workflows share the webhook path {path!r}")
            template = json.loads(setup.template_path.read_text(encoding="utf-8"))
            workflow = Workflow(
                setup,
                template,
                fault_nodes(setup.template_path, template),
                setup.active,
                created,
                created,
            )
            self.workflows[setup.id] = workflow
            self.by_path[path] = workflow
        self.executions: dict[int, Execution] = {}
        self.ids = itertools.count(1)
        self.memory: dict[str, list[dict[str, str]]] = {}  # chat history per session key
