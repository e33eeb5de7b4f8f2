"""What the n8n double knows, behind one lock: its workflows (by id and by webhook path), the
executions, and the agent's chat memory per organisation and session key."""

from __future__ import annotations

import itertools
import threading

from golive.sandbox.faults import FaultState
from golive.sandbox.n8n.records import Execution, Workflow, WorkflowSetup, now
from golive.sandbox.n8n.served import exports


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
            workflow = Workflow(setup, exports(setup), setup.active, created, created)
            self.workflows[setup.id] = workflow
            self.by_path[path] = workflow
        self.executions: dict[int, Execution] = {}
        self.ids = itertools.count(1)
        # chat history per (organisation, session key): each organisation has its own Redis
        self.memory: dict[tuple[str, str], list[dict[str, str]]] = {}

    def faults_of(self, setup: WorkflowSetup) -> frozenset[str]:
        return self.faults.for_organisation(setup.organisation)
