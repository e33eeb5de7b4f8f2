"""The scenario language: what scenarios do to an organisation and what they check.

This is the only package `steps/` imports. Its modules are grouped by subject — customers and
what they write (`customers`, `injection`), what the CRM made of it (`webhooks`, `identities`,
`links`, `deals`, `api_access`, `data_checks`), the agent flow (`agent_flow`), the T-2 checks
(`preactivation`), hostile input (`hostile`) and run-time switches (`switches`). The names
below are the types step signatures need.
"""

from __future__ import annotations

from golive.clients.browser import UiSession
from golive.clients.chatwoot import ChatwootClient
from golive.clients.control import ControlClient
from golive.clients.crm import Answer, CrmClient, Deal
from golive.clients.n8n import N8nClient
from golive.clients.redis import RedisReader
from golive.clients.sql import SqlVerifier
from golive.clients.webhook import WebhookAnswer, WebhookEmitter
from golive.organisation import Organisation
from golive.scenario.data import DataFactory
from golive.scenario.injection import Conversations, Sent
from golive.scenario.switches import Outage, WorkflowSwitch
from golive.settings import Channel

# How the feature files name the channels.
CHANNEL_NAMES: dict[str, Channel] = {"WhatsApp": "whatsapp", "Instagram": "instagram"}

__all__ = [
    "CHANNEL_NAMES",
    "Answer",
    "ChatwootClient",
    "ControlClient",
    "Conversations",
    "CrmClient",
    "DataFactory",
    "Deal",
    "N8nClient",
    "Organisation",
    "Outage",
    "RedisReader",
    "Sent",
    "SqlVerifier",
    "UiSession",
    "WebhookAnswer",
    "WebhookEmitter",
    "WorkflowSwitch",
]
