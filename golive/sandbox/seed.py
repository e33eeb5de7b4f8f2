"""Seed data: two organisations on one Chatwoot account, each with WhatsApp and Instagram
inboxes, a sales board and a follow-up board, an API key and a legacy WhatsApp customer."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field, replace

from golive.sandbox.db import Conn

ACCOUNT_ID = 7
ACCOUNT_NAME = "Lagosta Sandbox"
SALES_STAGES = ("Novo contato", "Em atendimento", "Proposta", "Reserva confirmada", "Perdido")
FOLLOW_UP_STAGES = ("Acompanhamento", "Fidelizado")


@dataclass
class SeedOrg:
    slug: str
    name: str
    whatsapp_inbox: int
    instagram_inbox: int
    legacy_name: str
    legacy_phone_stored: str  # as a pre-v2 import left it: not E.164
    legacy_phone_e164: str
    test_igsid: str
    whatsapp_channel: str = "Channel::Whatsapp"  # Channel::Api: a bridge (Evolution) inbox
    # how Chatwoot starts its n8n flow: the account webhook's message_created, or an automation
    # rule posting automation_event.message_created (some real LagostaCRM flows)
    n8n_trigger: str = "account_webhook"
    # Meta's side of its channels: the Instagram account id (Meta's recipient.id) and, for a
    # WhatsApp Cloud inbox, the number and its phone number id; `provider`: the suite injects
    # its messages as Meta would, through Chatwoot's channel webhooks
    instagram_account_id: str = ""
    whatsapp_phone_number: str = ""
    whatsapp_phone_number_id: str = ""
    provider: bool = False
    organization_id: str = ""
    api_key: str = field(default="", repr=False)


SEED_ORGS = (
    SeedOrg(
        "sandbox-pilot",
        "Coronel Picanha (sandbox)",
        30,
        31,
        "Maria Legado",
        "(11) 98765-4321",
        "+5511987654321",
        "17841400000000031",
        instagram_account_id="17841499000000031",
        whatsapp_phone_number="+5511300000030",
        whatsapp_phone_number_id="110000000000030",
        provider=True,
    ),
    # The second tenant's WhatsApp comes through an API-channel inbox (an Evolution bridge), so
    # its messages can be created through Chatwoot's API: true end to end.
    SeedOrg(
        "sandbox-second",
        "Emporio Sabor (sandbox)",
        40,
        41,
        "Joao Antigo",
        "21 98765 4322",
        "+5521987654322",
        "17841400000000041",
        "Channel::Api",
        "automation_rule",
        instagram_account_id="17841499000000041",
    ),
)


def new_api_key() -> str:
    return "ncrm_" + secrets.token_hex(16)  # 37 characters, like the real keys


BUSINESS_TABLES = (
    "activities",
    "contact_identifiers",
    "messaging_identity_resolution_log",
    "messaging_contact_identities",
    "messaging_messages_cache",
    "messaging_conversation_links",
    "messaging_channel_configs",
    "api_keys",
    "deals",
    "board_stages",
    "boards",
    "contacts",
    "crm_companies",
    "organizations",
)


def seed(
    conn: Conn,
    *,
    chatwoot_url: str,
    chatwoot_token: str,
    again: list[SeedOrg] | None = None,
    templates: tuple[SeedOrg, ...] = SEED_ORGS,
) -> list[SeedOrg]:
    """Insert the seed organisations (`templates`, see `sandbox_orgs`). `again` re-creates
    earlier ones with the same ids and API keys (a reset), so the profiles the suite holds stay
    valid."""
    orgs = []
    for template in again or templates:
        org = SeedOrg(**{**template.__dict__})
        org.api_key = org.api_key or new_api_key()
        row = conn.execute(
            "INSERT INTO organizations (id, name) VALUES (COALESCE(%s::uuid, gen_random_uuid()), %s) "
            "RETURNING id::text AS id",
            (org.organization_id or None, org.name),
        ).fetchone()
        assert row is not None
        org.organization_id = str(row["id"])
        conn.execute(
            "INSERT INTO api_keys (organization_id, key_prefix, key_hash) VALUES (%s, %s, %s)",
            (
                org.organization_id,
                org.api_key[:12],
                hashlib.sha256(org.api_key.encode()).hexdigest(),
            ),
        )
        for channel, inbox in (
            ("whatsapp", org.whatsapp_inbox),
            ("instagram", org.instagram_inbox),
        ):
            conn.execute(
                "INSERT INTO messaging_channel_configs (organization_id, chatwoot_base_url, "
                "chatwoot_api_token, chatwoot_account_id, chatwoot_inbox_id, channel_type, name) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    org.organization_id,
                    chatwoot_url,
                    chatwoot_token,
                    ACCOUNT_ID,
                    inbox,
                    channel,
                    f"{channel.capitalize()} {org.name}",
                ),
            )
        _board(
            conn,
            org.organization_id,
            "atendimento",
            "Atendimento",
            SALES_STAGES,
            0,
            won="Reserva confirmada",
            lost="Perdido",
        )
        _board(conn, org.organization_id, "pos-venda", "Pos-venda", FOLLOW_UP_STAGES, 1)
        conn.execute(
            "INSERT INTO contacts (organization_id, name, phone, source) VALUES (%s, %s, %s, 'MANUAL')",
            (org.organization_id, org.legacy_name, org.legacy_phone_stored),
        )
        orgs.append(org)
    return orgs


def wipe(conn: Conn) -> None:
    conn.execute(f"TRUNCATE {', '.join(BUSINESS_TABLES)} RESTART IDENTITY CASCADE")


def _board(
    conn: Conn,
    org_id: str,
    key: str,
    name: str,
    stages: tuple[str, ...],
    position: int,
    *,
    won: str | None = None,
    lost: str | None = None,
) -> None:
    board = conn.execute(
        "INSERT INTO boards (organization_id, key, name, position, is_default) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id::text AS id",
        (org_id, key, name, position, position == 0),
    ).fetchone()
    assert board is not None
    ids = {}
    for order, stage in enumerate(stages):
        row = conn.execute(
            'INSERT INTO board_stages (board_id, organization_id, name, label, "order") '
            "VALUES (%s, %s, %s, %s, %s) RETURNING id::text AS id",
            (board["id"], org_id, stage, stage, order),
        ).fetchone()
        assert row is not None
        ids[stage] = row["id"]
    conn.execute(
        "UPDATE boards SET won_stage_id = %s, lost_stage_id = %s WHERE id = %s",
        (ids.get(won or ""), ids.get(lost or ""), board["id"]),
    )


# --- more organisations on demand (`golive sandbox --orgs N`) -------------------------------------

ORGS_ENV = "GOLIVE_SANDBOX_ORGS"
MAX_ORGS = 200  # inbox ids, phone numbers and Redis databases are laid out for at most this many


def sandbox_orgs(count: int | None = None) -> tuple[SeedOrg, ...]:
    """The seed organisations: the two above, then `sandbox-03`… up to `count` (at least 2: the
    tenant-isolation scenarios need a second organisation). Each added one copies the pilot
    (odd numbers: a native WhatsApp inbox, the account webhook starts its flow) or the second
    tenant (even: an API-channel inbox, an automation rule), with its own inboxes, names,
    phone and IGSID, so both ways are exercised at any scale."""
    wanted = len(SEED_ORGS) if count is None else count
    if not len(SEED_ORGS) <= wanted <= MAX_ORGS:
        raise ValueError(
            f"{ORGS_ENV} / --orgs: expected {len(SEED_ORGS)} to {MAX_ORGS} organisations, got {wanted}"
        )
    added = []
    for number in range(len(SEED_ORGS) + 1, wanted + 1):
        like = SEED_ORGS[(number - 1) % 2]
        added.append(
            replace(
                like,
                slug=f"sandbox-{number:02d}",
                name=f"Organizacao {number:02d} (sandbox)",
                whatsapp_inbox=1000 + 10 * number,
                instagram_inbox=1001 + 10 * number,
                legacy_name=f"Cliente Legado {number:02d}",
                # stored the pre-v2 way, like the pilot's: a formatted local number
                legacy_phone_stored=f"(31) 9{number:04d}-{number:04d}",
                legacy_phone_e164=f"+55319{number:04d}{number:04d}",
                test_igsid=f"178414{number:09d}01",
                # what Meta's events name the inboxes by (provider path): unique per organisation
                # (prefixes the two seed organisations' ids do not share, whatever the number)
                instagram_account_id=f"178414980{number:08d}",
                whatsapp_phone_number=f"+55113100{number:05d}" if like.whatsapp_phone_number else "",
                whatsapp_phone_number_id=f"12{number:013d}" if like.whatsapp_phone_number_id else "",
                organization_id="",
                api_key="",
            )
        )
    return SEED_ORGS + tuple(added)
