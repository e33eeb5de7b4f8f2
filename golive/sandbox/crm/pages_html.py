"""HTML of the CRM double's pages: the texts and roles LagostaCRM's pages render (read from
its source: app/login, features/settings, features/messaging, features/boards,
features/inbox/FocusContextPanel), server-rendered from the double's own data.

Everything is escaped here; the pages module hands plain values.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

_CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,sans-serif;background:#f8fafc;color:#0f172a}
a{color:#2563eb}
nav.side{position:fixed;top:0;left:0;bottom:0;width:190px;background:#0f172a;padding:16px}
nav.side a{display:block;color:#e2e8f0;text-decoration:none;padding:8px 6px;border-radius:8px}
nav.side a[aria-current=page]{background:#1e293b}main{margin-left:190px;padding:24px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:16px;padding:20px;margin-bottom:24px}
.tabs{display:flex;gap:4px;border-bottom:1px solid #e2e8f0;margin-bottom:24px}
.tabs button{border:0;background:none;padding:12px 16px;font-size:14px;color:#64748b;cursor:pointer}
.tabs button[aria-current=page]{color:#4f46e5;border-bottom:2px solid #4f46e5}
.sub button{border:1px solid #e2e8f0;border-radius:12px;background:#fff;padding:8px 12px;
margin-right:6px}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:8px;border-bottom:1px solid #e2e8f0}
.badge{display:inline-block;font-size:11px;padding:2px 8px;border-radius:999px;
border:1px solid #cbd5e1}
.wa{background:#d1fae5;color:#047857}.ig{background:#fce7f3;color:#be185d}
.ok{background:#dcfce7;color:#166534}
.inbox{display:flex;gap:0;height:calc(100vh - 48px)}
.col{overflow:auto;border-right:1px solid #e2e8f0;background:#fff}
.conv{display:block;width:100%;text-align:left;border:1px solid transparent;border-radius:12px;
background:none;
padding:10px;margin:2px 0;cursor:pointer}
.conv[aria-current=true]{background:#eef2ff;border-color:#c7d2fe}
.bubble{max-width:70%;padding:8px 12px;border-radius:12px;margin:6px 0;background:#f1f5f9}
.out{margin-left:auto;background:#e0e7ff}.kanban{display:flex;gap:16px;overflow-x:auto}
.stage{min-width:240px;flex:1;background:#fff;border:2px solid #e2e8f0;border-radius:12px}
.stage-head{padding:12px;border-bottom:1px solid #e2e8f0;display:flex;justify-content:space-between}
.stage-label{font-weight:700;text-transform:uppercase;font-size:13px}.deal{margin:8px;padding:10px;
border:1px solid #e2e8f0;border-radius:10px;background:#fff}
.pipeline{display:flex;gap:12px;flex-wrap:wrap}
.pipeline button{border:1px solid #cbd5e1;border-radius:8px;background:#fff;padding:6px 10px}
.muted{color:#64748b;font-size:13px}
[role=alert]{background:#fef2f2;color:#b91c1c;padding:12px;border-radius:8px}
"""

_NAV = (
    ("/dashboard", "Dashboard"),
    ("/boards", "Boards"),
    ("/messaging", "Mensagens"),
    ("/settings", "Configurações"),
)


def e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def page(title: str, body: str, *, nav: str | None = None) -> str:
    """A whole document; `nav` = the current path when the user is logged in."""
    side = ""
    if nav is not None:
        links = "".join(
            f'<a href="{href}"{" aria-current=page" if nav.startswith(href) else ""}>{e(label)}</a>'
            for href, label in _NAV
        )
        side = f'<nav class="side" aria-label="Menu principal">{links}</nav>'
    return (
        f'<!doctype html><html lang="pt-BR"><head><meta charset="utf-8"><title>{e(title)} · CRM IA</title>'
        f"<style>{_CSS}</style></head><body>{side}<main>{body}</main></body></html>"
    )


# --- login -----------------------------------------------------------------------------------


def login(error: str | None, email: str, next_path: str) -> str:
    alert = f'<div id="login-error" role="alert" aria-live="polite">{e(error)}</div>' if error else ""
    described = ' aria-describedby="login-error"' if error else ""
    year = datetime.now(UTC).year
    body = f"""
<div style="max-width:420px;margin:80px auto">
  <div style="text-align:center;margin-bottom:32px"><h1>Bem-vindo de volta</h1>
  <p class="muted">Entre na sua conta para continuar.</p></div>
  <div class="card"><form method="post" action="/login">
    <input type="hidden" name="next" value="{e(next_path)}">
    <div><label for="email-address">Email</label><br><input id="email-address" name="email" type="email"
      autocomplete="email" required aria-required="true"{described} placeholder="seu@email.com"
      value="{e(email)}" style="width:100%;padding:10px"></div>
    <div style="margin-top:16px"><label for="password">Senha</label><br><input id="password" name="password"
      type="password" autocomplete="current-password" required aria-required="true"{described}
      placeholder="••••••••" style="width:100%;padding:10px"></div>
    {alert}
    <button type="submit" style="margin-top:20px;width:100%;padding:12px">Entrar</button>
  </form></div>
  <p class="muted" style="text-align:center">&copy; {year} CRM IA. Todos os direitos reservados.</p>
</div>"""
    return page("Entrar", body)


def dashboard(name: str) -> str:
    return page("Dashboard", f"<h1>Dashboard</h1><p class='muted'>Olá, {e(name)}.</p>", nav="/dashboard")


# --- settings → integrações --------------------------------------------------------------------

SETTINGS_TABS = (
    ("general", "Geral", "/settings", False),
    ("products", "Produtos/Serviços", "/settings/products", True),
    ("integrations", "Integrações", "/settings/integracoes", True),
    ("ai", "Central de I.A", "/settings/ai", False),
    ("scheduling", "Agendamento", "/settings/agendamento", True),
    ("data", "Dados", "/settings/data", False),
    ("users", "Equipe", "/settings/users", True),
)
INTEGRATION_SUBTABS = ("WhatsApp (Evolution)", "WhatsApp (WPP)", "Webhooks", "API", "MCP")
CHANNELS_TITLE = "Canais do Chatwoot"


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    name: str
    account_id: int
    inbox_id: int | None
    base_url: str
    token_shown: str  # "configurado", never the token (unless a fault renders it)
    status: str


_STATUS_PT = {"active": "Ativo", "inactive": "Inativo", "error": "Erro"}
_CHANNEL_PT = {"whatsapp": "WhatsApp", "instagram": "Instagram"}


def settings(active: str, admin: bool, content: str) -> str:
    buttons = "".join(
        f'<form method="get" action="{href}" style="display:inline"><button type="submit"'
        f"{' aria-current=page' if tab == active else ''}>{e(label)}</button></form>"
        for tab, label, href, admin_only in SETTINGS_TABS
        if admin or not admin_only
    )
    return page("Configurações", f'<div class="tabs">{buttons}</div>{content}', nav="/settings")


def integrations(rows: Sequence[ChannelRow]) -> str:
    subtabs = "".join(f'<button type="button">{e(label)}</button>' for label in INTEGRATION_SUBTABS)
    cells = "".join(
        "<tr>"
        f"<td><span class='badge {'wa' if r.channel == 'whatsapp' else 'ig'}'>"
        f"{e(_CHANNEL_PT.get(r.channel, r.channel))}</span></td><td>{e(r.name)}</td>"
        f"<td>{e(r.account_id)}</td><td>{e(r.inbox_id if r.inbox_id is not None else '—')}</td>"
        f"<td>{e(r.base_url)}</td><td>{e(r.token_shown)}</td>"
        f"<td><span class='badge ok'>{e(_STATUS_PT.get(r.status, r.status))}</span></td>"
        "</tr>"
        for r in rows
    )
    empty = "" if rows else "<p class='muted'>Nenhum canal configurado.</p>"
    return f"""
<div class="sub" style="margin-bottom:24px">{subtabs}</div>
<section class="card" aria-labelledby="chatwoot-channels">
  <h3 id="chatwoot-channels">{CHANNELS_TITLE}</h3>
  <p class="muted">Gerencie suas configurações de {CHANNELS_TITLE.lower()}.</p>
  <table aria-label="{CHANNELS_TITLE}"><thead><tr><th>Canal</th><th>Nome</th><th>Conta</th><th>Inbox</th>
  <th>URL do Chatwoot</th><th>Token de API</th><th>Status</th></tr></thead><tbody>{cells}</tbody></table>
  {empty}
</section>"""


def general_settings() -> str:
    return (
        '<div class="card"><h3>Página Inicial</h3><p class="muted">Escolha qual tela deve abrir quando você '
        'iniciar o CRM.</p><select aria-label="Selecionar página inicial"><option>Dashboard</option>'
        "</select></div>"
    )


# --- messaging -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConversationView:
    id: int
    contact_name: str
    source: str | None  # WHATSAPP | INSTAGRAM
    handle: str  # phone, or the IGSID
    status: str
    preview: str
    unread: int
    ai_enabled: bool
    deal_id: str | None
    deal_title: str | None
    deal_value: float | None
    stage_label: str | None


@dataclass(frozen=True)
class MessageView:
    content: str
    outgoing: bool
    at: str


_STATUS_LABEL = {"open": "Aberta", "pending": "Pendente", "resolved": "Resolvida"}
_FILTERS = (("all", "Todas"), ("open", "Abertas"), ("pending", "Pendentes"), ("resolved", "Resolvidas"))
_SOURCES = (("all", "Todos canais"), ("WHATSAPP", "WhatsApp"), ("INSTAGRAM", "Instagram"))


def source_badge(source: str | None, *, icon_only: bool) -> str:
    if source not in ("WHATSAPP", "INSTAGRAM"):
        return ""
    label = "Instagram" if source == "INSTAGRAM" else "WhatsApp"
    css = "ig" if source == "INSTAGRAM" else "wa"
    if icon_only:
        return f'<span class="badge {css}" title="{label}" aria-label="{label}">●</span>'
    return f'<span class="badge {css}">{label}</span>'


def messaging(
    conversations: Sequence[ConversationView],
    selected: ConversationView | None,
    messages: Iterable[MessageView],
    *,
    search: str,
) -> str:
    unread = sum(c.unread for c in conversations)
    unread_note = f' <span class="muted">({unread} não lidas)</span>' if unread else ""
    filters = "".join(f'<button type="button">{label}</button>' for _, label in _FILTERS)
    sources = "".join(f'<button type="button">{label}</button>' for _, label in _SOURCES)
    items = "".join(
        _conversation_item(c, selected is not None and c.id == selected.id) for c in conversations
    )
    if not conversations:
        items = '<p class="muted">Nenhuma conversa encontrada</p>'
    listing = f"""
<div class="col" style="width:340px;padding:12px">
  <h2>Conversas{unread_note}</h2>
  <form method="get" action="/messaging"><input type="text" name="q" value="{e(search)}"
    placeholder="Buscar conversas..." style="width:100%;padding:8px"></form>
  <div style="margin:8px 0">{filters}</div><div style="margin-bottom:8px">{sources}</div>
  <form method="get" action="/messaging"><input type="hidden" name="q" value="{e(search)}">{items}</form>
</div>"""
    if selected is None:
        main = (
            '<div class="col" style="flex:1;display:flex;flex-direction:column;align-items:center;'
            'justify-content:center"><h3>Nenhuma conversa selecionada</h3>'
            "<p>Selecione uma conversa para começar a enviar mensagens</p></div>"
        )
        return page("Mensagens", f'<div class="inbox">{listing}{main}</div>', nav="/messaging")
    return page(
        "Mensagens",
        f'<div class="inbox">{listing}{_thread(selected, messages)}{_info_panel(selected)}</div>',
        nav="/messaging",
    )


def _conversation_item(c: ConversationView, current: bool) -> str:
    deal = f'<span class="muted">{e(c.deal_title)}</span>' if c.deal_title else ""
    unread = f' <span class="badge">{c.unread if c.unread < 100 else "99+"}</span>' if c.unread else ""
    return (
        f'<button class="conv" type="submit" name="conversation" value="{c.id}"'
        f"{' aria-current=true' if current else ''}><strong>{e(c.contact_name)}</strong> "
        f"{source_badge(c.source, icon_only=True)}<br><span>{e(c.preview or c.handle or 'Sem mensagens')}"
        f"</span><br>{deal}{unread}</button>"
    )


def _thread(c: ConversationView, messages: Iterable[MessageView]) -> str:
    ai = '<span class="badge">IA</span>' if c.ai_enabled else ""
    deal = (
        f' • <a href="/deals/{e(c.deal_id)}/cockpit">{e(c.deal_title)}</a>'
        if c.deal_id and c.deal_title
        else ""
    )
    toggle_title = "Mudar para Atendimento Humano" if c.ai_enabled else "Devolver para IA"
    toggle = "IA Ativa" if c.ai_enabled else "Atendimento Humano"
    bubbles = "".join(
        f'<div class="bubble{" out" if m.outgoing else ""}"><p style="margin:0">{e(m.content)}</p>'
        f'<span class="muted">{e(m.at)}</span></div>'
        for m in messages
    )
    return f"""
<div class="col" style="flex:1;display:flex;flex-direction:column">
  <div style="padding:16px;border-bottom:1px solid #e2e8f0;display:flex;justify-content:space-between">
    <div><h3 style="margin:0">{e(c.contact_name)} {ai}</h3>
    <div class="muted">{source_badge(c.source, icon_only=False)} <span>{e(c.handle)}</span>{deal}</div></div>
    <div><button type="button" title="{toggle_title}">{toggle}</button></div>
  </div>
  <div style="flex:1;padding:16px;overflow:auto">{bubbles}</div>
  <div style="padding:12px;border-top:1px solid #e2e8f0"><textarea placeholder="Digite uma mensagem..."
    style="width:100%"></textarea></div>
</div>"""


def _info_panel(c: ConversationView) -> str:
    deal = ""
    if c.deal_id:
        value = f"<div>{e(brl(c.deal_value))}</div>" if c.deal_value is not None else ""
        deal = f"""
  <div style="padding:16px;border-bottom:1px solid #e2e8f0"><h5>Negócio vinculado</h5>
    <div><strong>{e(c.deal_title)}</strong></div>{value}
    <div><button type="button">{e(c.stage_label or "Desconhecido")}</button></div>
    <a href="/deals/{e(c.deal_id)}/cockpit">Abrir deal</a></div>"""
    initial = (c.contact_name or "?")[:1].upper()
    return f"""
<div class="col" style="width:320px">
  <div style="padding:12px 16px;border-bottom:1px solid #e2e8f0"><h3 style="margin:0">Informações</h3></div>
  <div style="padding:16px;text-align:center;border-bottom:1px solid #e2e8f0">
    <div style="font-size:28px">{e(initial)}</div><h4>{e(c.contact_name or "Contato desconhecido")}</h4>
    {source_badge(c.source, icon_only=False)}
    <span class="badge">{e(_STATUS_LABEL.get(c.status, c.status))}</span>
  </div>
  <div style="padding:16px;border-bottom:1px solid #e2e8f0"><h5>Contato</h5><div>{e(c.handle)}</div></div>
  {deal}
</div>"""


def brl(value: float | None) -> str:
    amount = f"{value or 0:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")
    return f"R$ {amount}"


# --- boards and the deal cockpit -------------------------------------------------------------


@dataclass(frozen=True)
class DealCard:
    id: str
    title: str
    value: float
    contact_name: str
    is_won: bool
    is_lost: bool


@dataclass(frozen=True)
class StageColumn:
    id: str
    label: str
    deals: tuple[DealCard, ...]


def _dollars(value: float) -> str:
    return f"${value:,.0f}"


def _card(d: DealCard) -> str:
    parts = [
        *(["ganho"] if d.is_won else []),
        *(["perdido"] if d.is_lost else []),
        d.title,
        _dollars(d.value),
    ]
    return (
        f'<div class="deal" role="button" tabindex="0" data-deal-id="{e(d.id)}" '
        f'aria-label="{e(", ".join(parts))}">'
        f'<h4 style="margin:0 0 4px">{e(d.title)}</h4><div class="muted">{e(d.contact_name)}</div>'
        f'<div style="font-family:monospace">{e(_dollars(d.value))}</div></div>'
    )


def board(boards: Sequence[tuple[str, str]], current: str, columns: Sequence[StageColumn]) -> str:
    switcher = "".join(
        f'<a href="/boards?board={e(key)}"{" aria-current=page" if name == current else ""} '
        f'style="margin-right:12px">{e(name)}</a>'
        for key, name in boards
    )
    cols = "".join(
        f'<div class="stage"><div class="stage-head"><span class="stage-label">{e(col.label)}</span>'
        f'<span class="badge">{len(col.deals)}</span></div>'
        f'<div class="muted" style="padding:4px 12px">Total: '
        f"{e(_dollars(sum(d.value for d in col.deals)))}</div>"
        f"<div>{''.join(_card(d) for d in col.deals) or '<p class=muted style=padding:12px>Sem negócios</p>'}"
        "</div></div>"
        for col in columns
    )
    body = (
        f"<h1>{e(current)}</h1><div style='margin-bottom:16px'>{switcher}</div>"
        f"<div class='kanban'>{cols}</div>"
    )
    return page("Boards", body, nav="/boards")


def cockpit(
    title: str, board_name: str, value: float, stages: Sequence[str], current: str | None, summary: str | None
) -> str:
    """Like the real cockpit, the current stage is told apart by style only (no ARIA state)."""

    def style(label: str) -> str:
        return ' style="font-weight:700;border-color:#4f46e5"' if label == current else ""

    pipeline = "".join(f'<button type="button"{style(label)}>{e(label)}</button>' for label in stages)
    sidebar = "".join(f'<button type="button"{style(label)}>{e(label)}</button><br>' for label in stages)
    ai = f'<p class="muted">Resumo IA</p><p>{e(summary)}</p>' if summary else ""
    body = f"""
<header class="card"><h1>{e(title)} <span class="muted">|</span> <span class="muted">Empresa</span></h1>
  <div class="muted" style="text-transform:uppercase">{e(board_name)}</div>
  <p style="font-family:monospace">R$ {e(f"{value:,.0f}".replace(",", "."))}</p>
  <div class="pipeline">{pipeline}</div></header>
<div class="card"><p class="muted">Negócio</p><h4>{e(title)}</h4>{ai}
  <p class="muted" style="text-transform:uppercase">Pipeline</p>{sidebar}</div>"""
    return page(title, body, nav="/boards")


def not_found_deal() -> str:
    return page("Negócio", "<p>Negócio não encontrado. Volte e tente novamente.</p>", nav="/boards")
