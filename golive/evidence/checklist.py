"""The rollout's execution checklist v2 (Instagram DM), item by item.

Item id = `<section>.<position of the bullet>`; a scenario evidencing an item carries
the tag `@checklist-<id>`. `evidence` says how golive can prove it: auto (scenarios),
auto+db (scenarios + SQL checks), static (a check of files), attest (a person answers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    id: str
    section: str
    text: str
    text_pt: str
    evidence: str
    mandatory: bool = False  # needed for GO by the runbook's rules (before attestations)

    @property
    def tag(self) -> str:
        return f"checklist-{self.id}"


SECTIONS = {
    "1": "Technical preparation",
    "2": "Database and modelling",
    "3": "Services and API",
    "4": "n8n workflow (template v2)",
    "5": "Backfill and migration of the existing base",
    "6": "Pilot (Coronel)",
    "7": "Rollout to existing clients",
    "8": "Onboarding of new clients",
    "9": "Observability and operations",
    "10": "Go/No-Go for the wide rollout",
}

_ITEMS = [
    (
        "1.1",
        "work on a working branch, never main",
        "Validar branch de trabalho (`project/lagostacrm` ou `feature/*`), nunca `main`.",
        "attest",
    ),
    (
        "1.2",
        "multi-org scope, nothing hard-coded per client",
        "Revisar escopo multi-org (sem hardcode por cliente).",
        "static+attest",
    ),
    ("1.3", "additive, fork-safe strategy", "Confirmar estratégia aditiva e fork-safe.", "attest"),
    (
        "1.4",
        "Chatwoot, n8n and per-organisation credentials confirmed",
        "Confirmar dependências de Chatwoot, n8n e credenciais por organização.",
        "auto",
    ),
    (
        "2.1",
        "migration for external identities per channel exists",
        "Criar migration de identidades externas por canal (`messaging_contact_identities`).",
        "auto+db",
    ),
    (
        "2.2",
        "idempotency constraint on organization_id + source + external_id",
        "Criar constraints/índices de idempotência por `organization_id + source + external_id`.",
        "auto+db",
    ),
    (
        "2.3",
        "channel config modelled without multi-channel ambiguity",
        "Ajustar modelagem de `messaging_channel_configs` para evitar ambiguidade multi-canal.",
        "auto+db",
    ),
    # auto+db where a database role can check the policies, else a person attests it
    ("2.4", "RLS of the new tables validated", "Validar RLS das novas estruturas.", "auto+db+attest"),
    (
        "3.1",
        "contact resolved by external identity (Instagram/WhatsApp)",
        "Implementar resolução de contato por identidade externa (Instagram/WhatsApp).",
        "auto",
    ),
    (
        "3.2",
        "deal_id returned and used by automations",
        "Garantir retorno e uso de `deal_id` nas automações.",
        "auto",
    ),
    (
        "3.3",
        "canonical session/buffer key per channel",
        "Padronizar chave canônica de sessão/buffer por canal.",
        "auto+static",
    ),
    (
        "3.4",
        "legacy phone/email flow for WhatsApp preserved",
        "Preservar compatibilidade com fluxo legado (`phone/email`) para WhatsApp.",
        "auto",
    ),
    (
        "4.1",
        "flow variables: source, external_id, canonical identity",
        "Atualizar variáveis de canal (`source`, `external_id`, identidade canônica).",
        "static",
    ),
    (
        "4.2",
        "contact/deal resolved at flow start, deal_id propagated",
        "Resolver contato/deal no início do fluxo e propagar `deal_id`.",
        "static+auto",
    ),
    (
        "4.3",
        "stage-move tools operate by deal_id",
        "Migrar tools de stage move para operar por `deal_id`.",
        "static+auto",
    ),
    (
        "4.4",
        "memory/buffer isolated by canonical key",
        "Confirmar isolamento de memória/buffer por chave canônica.",
        "static+auto",
    ),
    (
        "5.1",
        "WhatsApp identity backfill run for existing clients",
        "Executar backfill de identidades WhatsApp para clientes existentes.",
        "auto+db",
    ),
    (
        "5.2",
        "identity conflicts recorded for manual review",
        "Registrar conflitos de identidade para revisão manual.",
        "auto+db",
    ),
    (
        "5.3",
        "backfill idempotent and safe to rerun",
        "Garantir que processo é idempotente e seguro para rerun.",
        "auto+db",
    ),
    (
        "6.1",
        "pilot active with reinforced monitoring",
        "Ativar piloto no Coronel com monitoramento reforçado.",
        "attest",
    ),
    ("6.2", "WhatsApp regression validated", "Validar regressão WhatsApp.", "auto"),
    (
        "6.3",
        "first Instagram contact without history validated",
        "Validar primeiro contato Instagram sem histórico.",
        "auto",
    ),
    (
        "6.4",
        "DM re-entry (idempotency) validated",
        "Validar reentrada de DM (idempotência).",
        "auto",
    ),
    ("6.5", "stage moves by deal_id validated", "Validar stage moves por `deal_id`.", "auto"),
    (
        "7.1",
        "activation waves by risk/volume defined",
        "Definir ondas de ativação por risco/volume.",
        "attest",
    ),
    (
        "7.2",
        "per-client activation checklist applied",
        "Aplicar checklist de ativação por cliente.",
        "auto+attest",
    ),
    ("7.3", "smoke tests run per organisation", "Executar smoke tests por organização.", "auto"),
    ("7.4", "72 h monitoring per activated client", "Monitorar 72h por cliente ativado.", "auto+attest"),
    (
        "8.1",
        "Instagram DM setup in the standard onboarding",
        "Incorporar setup de Instagram DM no processo padrão de onboarding.",
        "attest",
    ),
    ("8.2", "n8n template v2 as the default", "Garantir template n8n v2 como padrão.", "static"),
    (
        "8.3",
        "validation evidence collected before go-live",
        "Coletar evidências de validação antes de go-live.",
        "auto",
    ),
    (
        "9.1",
        "alerts defined (webhook errors, identity failures, stage-move failures)",
        "Definir alertas (webhook error rate, falhas de identidade, falhas de stage move).",
        "auto+attest",
    ),
    (
        "9.2",
        "SLO and rollback thresholds defined",
        "Definir SLO e thresholds de rollback.",
        "attest",
    ),
    (
        "9.3",
        "incident runbook published",
        "Publicar runbook de incidentes para suporte e engenharia.",
        "attest",
    ),
    (
        "10.1",
        "platform plan's technical criteria approved",
        "Critérios técnicos do plano de plataforma aprovados.",
        "auto+attest",
    ),
    (
        "10.2",
        "rollout plan's operational criteria approved",
        "Critérios operacionais do plano de rollout aprovados.",
        "attest",
    ),
    (
        "10.3",
        "pilot incidents' RCA done (if any)",
        "RCA de incidentes do piloto concluída (se houver).",
        "attest",
    ),
    (
        "10.4",
        "final approval for full expansion",
        "Aprovação final para expansão total da base.",
        "attest",
    ),
]
# The runbook's GO rules (seeds README): these items must be proven automatically for an
# organisation; the release manager makes others mandatory in the attestation file.
MANDATORY = {"6.2", "6.3", "6.4", "6.5", "7.3", "2.2", "3.1", "3.2", "3.3", "3.4", "4.3"}

ITEMS: tuple[Item, ...] = tuple(
    Item(id_, SECTIONS[id_.split(".")[0]], text, pt, evidence, id_ in MANDATORY)
    for id_, text, pt, evidence in _ITEMS
)
BY_ID = {item.id: item for item in ITEMS}
BY_TAG = {item.tag: item for item in ITEMS}


SMOKE_TAG = "smoke"


UI_TAG = "ui"  # screens of what other scenarios prove: evidence, never a GO condition


def is_mandatory(tags: Iterable[str]) -> bool:
    """A scenario the runbook's GO needs: every `@smoke` one, and those of a mandatory item —
    never a `@ui` one."""
    found = set(tags)
    if UI_TAG in found:
        return False
    return SMOKE_TAG in found or any(f"checklist-{item}" in found for item in MANDATORY)
