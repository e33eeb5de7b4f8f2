"""The sandbox's real n8n: started from the migrated user-folder template, set up through its
own API, one workflow (and one set of credentials) per organisation, and a workflow fault
switched per organisation by importing a broken variant over that organisation's workflow."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from golive.errors import SandboxError
from golive.sandbox import workflows
from golive.sandbox.n8n_real import process
from golive.sandbox.n8n_real.admin import FULL_SCOPES, LIMITED_SCOPES, N8nAdmin
from golive.sandbox.n8n_real.install import N8nInstall

TAGS = ("v2", "lagosta-agent")


@dataclass(frozen=True)
class Credential:
    """A credential an organisation's workflow uses, created in n8n under its own name."""

    name: str
    kind: str
    data: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class OrgSetup:
    slug: str
    workflow: workflows.OrgWorkflow
    # the export's credential name -> the organisation's credential
    credentials: Mapping[str, Credential] = field(repr=False)


@dataclass
class Timings:
    template_made: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


class RealN8n:
    def __init__(self, running: process.RunningN8n, admin: N8nAdmin, api_key: str, list_key: str) -> None:
        self.running = running
        self.admin = admin
        self.api_key = api_key
        self.list_key = list_key
        self.version = admin.version() or running.install.version
        self._lock = threading.Lock()
        self._orgs: dict[str, OrgSetup] = {}
        self._ids: dict[str, str] = {}  # slug -> workflow id
        self._variant: dict[str, str | None] = {}  # slug -> the fault whose variant is imported
        self.timings = Timings()

    @property
    def url(self) -> str:
        return self.running.url

    @classmethod
    def start(cls, install: N8nInstall, log: Path) -> RealN8n:
        started = time.monotonic()
        template, made = process.ensure_template(install, log)
        after_template = time.monotonic()
        folder = process.fresh_user_folder(template)
        try:
            running = process.start(install, folder, log)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        admin = N8nAdmin(running.url)
        try:
            admin.setup_owner()
            api_key = admin.api_key("golive suite", FULL_SCOPES)
            list_key = admin.api_key("golive list-only", LIMITED_SCOPES)
            n8n = cls(running, admin, api_key, list_key)
        except BaseException:
            admin.close()
            running.stop()
            shutil.rmtree(folder, ignore_errors=True)
            raise
        n8n.timings.template_made = made
        n8n.timings.seconds["template"] = after_template - started
        n8n.timings.seconds["start"] = time.monotonic() - after_template
        return n8n

    def add_organisations(self, orgs: list[OrgSetup]) -> None:
        began = time.monotonic()
        tag_ids = [self.admin.tag(name) for name in TAGS]
        for org in orgs:
            names = {
                export_name: (
                    self.admin.credential(cred.name, cred.kind, dict(cred.data)),
                    cred.name,
                )
                for export_name, cred in org.credentials.items()
            }
            wired = workflows.OrgWorkflow(
                org.workflow.name, org.workflow.webhook_path, org.workflow.variables, names
            )
            setup = OrgSetup(org.slug, wired, org.credentials)
            wanted = set(workflows.credential_names(workflows.load(workflows.TEMPLATE)))
            missing = sorted(wanted - set(names))
            if missing:
                raise SandboxError(f"the sandbox has no credential for {missing} of the v2 template")
            exported = workflows.for_organisation(workflows.load(workflows.TEMPLATE), wired)
            workflow_id = self.admin.create_workflow(exported)
            self.admin.set_tags(workflow_id, tag_ids)
            self.admin.activate(workflow_id)
            self._orgs[org.slug] = setup
            self._ids[org.slug] = workflow_id
            self._variant[org.slug] = None
        self.timings.seconds["provision"] = time.monotonic() - began

    def workflow_id(self, slug: str) -> str:
        return self._ids[slug]

    def switch(self, slug: str, fault: str | None) -> None:
        """Import the variant of `fault` (None: the template) over `slug`'s workflow."""
        with self._lock:
            if self._variant.get(slug) == fault:
                return
            setup = self._orgs[slug]
            exported = workflows.for_organisation(workflows.load(workflows.variant_of(fault)), setup.workflow)
            self.admin.replace_workflow(self._ids[slug], exported)
            self._variant[slug] = fault

    def apply(self, wanted: Callable[[str], str | None]) -> None:
        """Bring every organisation's workflow to the variant `wanted(slug)` asks for."""
        for slug in list(self._orgs):
            self.switch(slug, wanted(slug))

    def reactivate(self) -> None:
        """Every organisation's workflow active again (a scenario may have switched one off)."""
        for workflow_id in self._ids.values():
            self.admin.activate(workflow_id)

    def stop(self) -> None:
        self.admin.close()
        self.running.stop()
        shutil.rmtree(self.running.user_folder, ignore_errors=True)
