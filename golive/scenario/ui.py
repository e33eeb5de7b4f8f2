"""The CRM's web app as the organisation's QA user sees it: the screens the runbook asks for as
evidence (crm-contract §6.5), found by role and visible text as LagostaCRM renders them:

* `/login` (app/login/page.tsx): "Email", "Senha", the button "Entrar";
* Configurações → Integrações (features/settings/SettingsPage.tsx, admins only): the channel
  configuration per inbox. LagostaCRM's page has no such section although its onboarding guide
  (docs/NOVO-CLIENTE.md, step 6) configures Chatwoot there: on its staging this check fails and
  says so; the sandbox renders the section the guide describes ("Canais do Chatwoot");
* `/messaging` (features/messaging): "Buscar conversas...", one button per conversation named
  by the contact, the thread with the messages;
* `/boards` (features/boards/components/Kanban): a column per stage headed by its label, a
  card per deal (role button, named by its title).

Every screen shown is captured (the hooks attach it); a page showing a secret is never captured.
"""

from __future__ import annotations

import re

from golive.clients.browser import UiSession, secrets_in
from golive.clients.crm import CrmClient
from golive.organisation import Organisation
from golive.scenario.data import required
from golive.scenario.deals import CustomerDeals
from golive.scenario.injection import Sent
from golive.waiting import eventually

CHANNELS_SECTION = "Canais do Chatwoot"
CHANNEL_LABELS = {"whatsapp": "WhatsApp", "instagram": "Instagram"}
ACTIVE = "Ativo"


def log_in(ui: UiSession, org: Organisation) -> UiSession:
    """Log in as the profile's QA user, then start recording (the trace never sees the password)."""
    user = required(org.ui_user, f"'{org.slug}': the QA user ([ui] user)")
    password = required(org.ui_password, f"'{org.slug}': the QA user's password ([ui] password_env)")
    page = ui.page
    page.goto("/login")
    page.get_by_label("Email").fill(user)
    page.get_by_label("Senha").fill(password.reveal())
    page.get_by_role("button", name="Entrar").click()
    try:
        page.wait_for_url(lambda url: "/login" not in url)
    except Exception:
        alert = page.get_by_role("alert")
        said = alert.inner_text() if alert.count() else "no error shown"
        raise AssertionError(f"the QA user {user} could not log into {ui.base_url}: {said}") from None
    ui.start_trace(f"{org.slug}: {user}")
    return ui


# --- Configurações → Integrações ----------------------------------------------------------------


def open_integrations(ui: UiSession) -> None:
    ui.page.goto("/settings/integracoes")
    tab = ui.page.get_by_role("button", name="Integrações", exact=True)
    if tab.count() == 0:
        raise AssertionError(
            "Configurações shows no 'Integrações' tab: the QA user is not an admin of the organisation "
            "(only admins see it)"
        )
    tab.first.click()
    ui.page.wait_for_load_state()


def inboxes_shown(ui: UiSession, org: Organisation) -> None:
    """Every inbox of the profile is listed with its channel and active."""
    page = ui.page
    table = page.get_by_role("table", name=CHANNELS_SECTION)
    if table.count() == 0:
        raise AssertionError(
            f"Configurações → Integrações shows no '{CHANNELS_SECTION}' section: the active channel "
            "configuration per inbox (runbook evidence) is not on screen. LagostaCRM's page has none "
            "(features/settings/SettingsPage.tsx), although docs/NOVO-CLIENTE.md step 6 configures "
            "Chatwoot there"
        )
    headers = [h.strip() for h in table.get_by_role("columnheader").all_inner_texts()]
    column = {name: headers.index(name) for name in ("Canal", "Inbox", "Status") if name in headers}
    if len(column) < 3:
        raise AssertionError(
            f"the '{CHANNELS_SECTION}' table has columns {headers}, not Canal, Inbox, Status"
        )
    rows = [
        [c.strip() for c in row.get_by_role("cell").all_inner_texts()]
        for row in table.get_by_role("row").all()
    ]
    rows = [r for r in rows if len(r) == len(headers)]
    ui.capture("Configurações → Integrações: canais por inbox")
    problems = []
    for channel, inbox in sorted(org.inboxes.items()):
        mine = [r for r in rows if r[column["Inbox"]] == str(inbox.id)]
        label = CHANNEL_LABELS[channel]
        if not mine:
            problems.append(f"inbox {inbox.id} ({label}) is not listed")
        elif not any(r[column["Canal"]] == label and r[column["Status"]] == ACTIVE for r in mine):
            problems.append(
                f"inbox {inbox.id} is listed as {[(r[column['Canal']], r[column['Status']]) for r in mine]}"
            )
    if problems:
        raise AssertionError(
            f"the channel configuration on screen is wrong for '{org.slug}': {'; '.join(problems)}"
        )


def no_secret_on_screen(ui: UiSession) -> None:
    shown = secrets_in(ui.page.content())
    if shown:
        raise AssertionError(f"the page {ui.page.url} shows the secret(s) {', '.join(shown)} in clear")


# --- the inbox ---------------------------------------------------------------------------------


def open_conversation(ui: UiSession, sent: Sent, *, timeout: float) -> None:
    """Find the customer's conversation in /messaging (reloading until it is listed) and open it."""
    page = ui.page
    name = sent.person.name
    item = page.get_by_role("button", name=re.compile(re.escape(name)))

    def listed() -> int:
        page.goto("/messaging")
        search = page.get_by_placeholder("Buscar conversas...")
        search.fill(name)
        search.press("Enter")
        page.wait_for_load_state()
        return item.count()

    eventually(listed, lambda n: n > 0, timeout=timeout, what=f"the conversation of {name!r} in the inbox")
    item.first.click()
    page.get_by_role("heading", name=name).first.wait_for()


def conversation_shown(ui: UiSession, sent: Sent) -> None:
    page = ui.page
    text = required(sent.message.content, "the text of the user's message")
    if page.get_by_role("heading", name=sent.person.name).count() == 0:
        raise AssertionError(f"the inbox does not show the conversation of {sent.person.name!r}")
    if page.get_by_text(text, exact=True).count() == 0:
        raise AssertionError(f"the conversation of {sent.person.name!r} does not show the message {text!r}")
    ui.capture(f"Inbox: conversation of {sent.person.name}")


# --- the board ---------------------------------------------------------------------------------


def open_board(ui: UiSession, org: Organisation) -> None:
    board = required(org.board_key, f"'{org.slug}': [board] key")
    ui.page.goto(f"/boards?board={board}")
    ui.page.wait_for_load_state()


def deal_shown_in_stage(ui: UiSession, org: Organisation, crm: CrmClient, deals: CustomerDeals) -> None:
    """The sales deal's card sits in the column of the profile's target stage.

    Which column holds a card, by role and text only: every container of the card that also
    holds a stage label is an ancestor of the card; the card's own column is the innermost one,
    so its label is the one found in one more container than any other label."""
    board = required(org.board_key, f"'{org.slug}': [board] key")
    target = required(org.target_stage, f"'{org.slug}': [board] target_stage")
    page = ui.page
    title = deals.sales.title
    card = page.get_by_role("button", name=re.compile(re.escape(title)))
    if card.count() == 0:
        raise AssertionError(f"the board {board!r} shows no card for the deal {title!r}")
    labels = [stage.label for stage in crm.stages(board)]
    holders = {
        label: page.locator("div")
        .filter(has=page.get_by_text(label, exact=True))
        .filter(has=card.first)
        .count()
        for label in labels
    }
    deepest = max(holders.values(), default=0)
    shown_in = [label for label, count in holders.items() if count == deepest]
    ui.capture(f"Board {board}: {title}")
    if len(shown_in) != 1:
        raise AssertionError(f"cannot tell which stage column of {board!r} holds {title!r} ({holders})")
    if shown_in[0].casefold() != target.casefold():
        raise AssertionError(
            f"the board shows the deal {title!r} in stage {shown_in[0]!r}, but the CRM has it in "
            f"{target!r}: the screen contradicts the data"
        )
