"""The sandbox's n8n side: a real n8n (with a real Redis and the model double) running each
organisation's copy of the v2 template, or — when no n8n is installed — the n8n double, with one
warning that says why. Either way each organisation gets a workflow on its own webhook path,
and the workflow faults are switched per organisation.

`GOLIVE_SANDBOX_N8N` chooses: `auto` (the default: real when installed), `real` (fail without
it) or `double` (the fast path)."""

from __future__ import annotations

import json
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from golive.errors import SandboxError
from golive.sandbox import workflows
from golive.sandbox.faults import FaultState
from golive.sandbox.latency import Latency, delayed
from golive.sandbox.model import ModelDouble, ModelSetup
from golive.sandbox.n8n import N8nDouble, WorkflowSetup
from golive.sandbox.n8n.served import workflow_fault
from golive.sandbox.n8n_real.install import find_install, missing_reason
from golive.sandbox.n8n_real.instance import Credential, OrgSetup, RealN8n
from golive.sandbox.proxy import proxy_app
from golive.sandbox.redis import RunningRedis, find_redis_server, flush_all, start_redis
from golive.sandbox.servers import RunningServer, serve

MODE_ENV = "GOLIVE_SANDBOX_N8N"
MODES = ("auto", "real", "double")
TAGS = ("v2", "lagosta-agent")
# The template's credential names (fixtures/n8n/agent-v2.json) and what each one is for.
CRM_CREDENTIAL = "LagostaCRM API key (staging)"
CHATWOOT_CREDENTIAL = "Chatwoot API (agente)"
REDIS_CREDENTIAL = "Redis agente"
MODEL_CREDENTIAL = "OpenAI LagostaCRM"


@dataclass(frozen=True)
class OrgFlow:
    """What the n8n side needs to know about one organisation."""

    slug: str
    name: str
    webhook_path: str
    crm_api_key: str = field(repr=False)
    api_channel_sources: dict[int, str]
    database: int  # its Redis database


@dataclass(frozen=True)
class Shared:
    """The sandbox's other systems, as the flows reach them."""

    crm_url: str
    chatwoot_url: str
    chatwoot_token: str = field(repr=False)
    account_id: int
    board_key: str
    move_keyword: str
    move_stage: str


def choose(mode: str | None = None) -> tuple[str, str]:
    """("real" | "double", why not real)."""
    wanted = (mode or os.environ.get(MODE_ENV) or "auto").strip().lower()
    if wanted not in MODES:
        raise SandboxError(f"{MODE_ENV}={wanted!r}: expected one of {', '.join(MODES)}")
    if wanted == "double":
        return "double", f"{MODE_ENV}=double"
    why = ""
    if find_install() is None:
        why = missing_reason()
    elif find_redis_server() is None:
        why = "redis-server is not installed (run `make tools`)"
    if why and wanted == "real":
        raise SandboxError(f"{MODE_ENV}=real but {why}")
    return ("double", why) if why else ("real", "")


class N8nSide:
    def __init__(self, kind: str, why: str) -> None:
        self.kind = kind
        self.why = why
        self.real: RealN8n | None = None
        self.double: N8nDouble | None = None
        self.redis: RunningRedis | None = None
        self.model: ModelDouble | None = None
        self.servers: dict[str, RunningServer] = {}
        self.api_key = ""
        self.list_key = ""
        self._workflow_ids: dict[str, str] = {}
        self._orgs: list[OrgFlow] = []
        self.latency = Latency()

    # --- start --------------------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        orgs: list[OrgFlow],
        shared: Shared,
        faults: FaultState,
        state_dir: Path,
        mode: str | None = None,
        latency: Latency | None = None,
    ) -> N8nSide:
        kind, why = choose(mode)
        side = cls(kind, why)
        side._orgs = orgs
        side.latency = latency or side.latency
        try:
            if kind == "real":
                side._start_real(orgs, shared, faults, state_dir)
            else:
                # One warning, on the sandbox's stderr (its log), naming what is missing; whoever
                # started the sandbox repeats it from ready.json (`n8n.why`).
                print(
                    f"golive sandbox: WARNING: the agent flows run on the n8n double: {why}", file=sys.stderr
                )
                side._start_double(orgs, shared, faults)
        except BaseException:
            side.stop()
            raise
        return side

    def _start_double(self, orgs: list[OrgFlow], shared: Shared, faults: FaultState) -> None:
        self.api_key, self.list_key = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        setups = [
            WorkflowSetup(
                id=f"wf-{org.webhook_path.removeprefix('lagosta-agent-v2-')}-v2",
                name=workflow_name(org),
                webhook_path=org.webhook_path,
                crm_base_url=shared.crm_url,
                crm_api_key=org.crm_api_key,
                board_key=shared.board_key,
                move_keyword=shared.move_keyword,
                move_stage=shared.move_stage,
                template_path=workflows.TEMPLATE,
                api_channel_sources=org.api_channel_sources,
                organisation=org.slug,
                chatwoot_base_url=shared.chatwoot_url,
                chatwoot_token=shared.chatwoot_token,
                chatwoot_account_id=shared.account_id,
            )
            for org in orgs
        ]
        self.double = N8nDouble(
            faults=faults, api_key=self.api_key, limited_api_key=self.list_key, workflows=setups, why=self.why
        )
        self.servers["n8n"] = serve("n8n", delayed(self.double.app(), self.latency, "n8n"))
        self._workflow_ids = {org.slug: setup.id for org, setup in zip(orgs, setups, strict=True)}

    def _start_real(self, orgs: list[OrgFlow], shared: Shared, faults: FaultState, state_dir: Path) -> None:
        install = find_install()
        assert install is not None
        self.redis = start_redis(databases=len(orgs))
        model_keys = {org.slug: "sk-golive-" + secrets.token_hex(16) for org in orgs}
        self.model = ModelDouble(
            [ModelSetup(o.slug, model_keys[o.slug], shared.move_keyword, shared.move_stage) for o in orgs],
            lambda name, slug: faults.on(name, slug),
        )
        self.servers["model"] = serve("model", delayed(self.model.app(), self.latency, "model"))
        self.real = RealN8n.start(install, state_dir / "n8n.log")
        self.api_key, self.list_key = self.real.api_key, self.real.list_key
        model_url, redis = self.servers["model"].url, self.redis
        self.real.add_organisations(
            [
                OrgSetup(
                    org.slug,
                    workflows.OrgWorkflow(workflow_name(org), org.webhook_path, flow_variables(org, shared)),
                    {
                        CRM_CREDENTIAL: Credential(
                            f"{org.slug} CRM API key",
                            "httpHeaderAuth",
                            {"name": "X-Api-Key", "value": org.crm_api_key},
                        ),
                        CHATWOOT_CREDENTIAL: Credential(
                            f"{org.slug} Chatwoot API",
                            "httpHeaderAuth",
                            {"name": "api_access_token", "value": shared.chatwoot_token},
                        ),
                        REDIS_CREDENTIAL: Credential(
                            f"{org.slug} Redis",
                            "redis",
                            {
                                "host": redis.host,
                                "port": redis.port,
                                "password": redis.password,
                                "database": org.database,
                            },
                        ),
                        MODEL_CREDENTIAL: Credential(
                            f"{org.slug} OpenAI",
                            "openAiApi",
                            {"apiKey": model_keys[org.slug], "url": self.model.base_url(model_url, org.slug)},
                        ),
                    },
                )
                for org in orgs
            ]
        )
        self._workflow_ids = {org.slug: self.real.workflow_id(org.slug) for org in orgs}
        if self.latency.get("n8n") is not None:  # the suite and Chatwoot reach n8n through it
            self.servers["n8n"] = serve("n8n", delayed(proxy_app(self.real.url), self.latency, "n8n"))

    # --- what the stack publishes ---------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.real is not None and "n8n" not in self.servers:
            return self.real.url
        return self.servers["n8n"].url

    def describe(self) -> dict[str, Any]:
        """ready.json's `n8n`: which n8n runs, and the figures of its start."""
        if self.real is not None:
            return {
                "kind": "real",
                "version": self.real.version,
                "url": self.real.url,
                "template_made": self.real.timings.template_made,
                "seconds": {k: round(v, 2) for k, v in self.real.timings.seconds.items()},
                "redis_port": self.redis.port if self.redis else None,
            }
        return {"kind": "double", "why": self.why, "url": self.url}

    def redis_url(self, org: OrgFlow) -> str | None:
        return self.redis.url(org.database) if self.redis is not None else None

    # --- run time -----------------------------------------------------------------------------

    def apply_faults(self, faults: FaultState) -> None:
        """Import each organisation's workflow variant (real n8n); the double reads the faults
        itself at each call."""
        if self.real is not None:
            self.real.apply(lambda slug: workflow_fault(faults.for_organisation(slug)))

    def reset(self) -> None:
        """Chat memory and buffers forgotten, every workflow active; which variant each runs
        follows `apply_faults`."""
        if self.real is not None:
            self.real.reactivate()
        if self.redis is not None:
            flush_all(self.redis)
        if self.model is not None:
            self.model.reset()
        if self.double is not None:
            self.double.reset()

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()
        if self.double is not None:
            self.double.close()
        if self.real is not None:
            self.real.stop()
        if self.redis is not None:
            self.redis.stop()


def workflow_name(org: OrgFlow) -> str:
    return f"LagostaCRM Agente v2 — {org.name}"


def flow_variables(org: OrgFlow, shared: Shared) -> dict[str, str]:
    """The `Fluxo_Variaveis` of the organisation's copy (hosts and ids, as real flows keep them)."""
    return {
        "CRM-Host": shared.crm_url,
        "CRM-BoardKey": shared.board_key,
        "CW-Host": shared.chatwoot_url,
        "CW-Account": str(shared.account_id),
        "CW-CanaisAPI": json.dumps({str(k): v for k, v in org.api_channel_sources.items()}),
    }
