"""R1: stage-move tools move the deal by ``deal_id``, never by phone/email/identifier."""

from __future__ import annotations

import re

from golive.n8n_lint.rules.context import Check
from golive.n8n_lint.values import as_str, excerpt, fold, norm
from golive.n8n_lint.workflow import Workflow

MOVE_ROUTE_RE = re.compile(r"move[-_]?stage", re.I)
DEAL_IN_MOVE_URL_RE = re.compile(r"/deals/(?P<seg>.+?)/move[-_]?stage", re.I | re.S)
_BY_IDENTITY_RE = re.compile(r"move[-_]?stage[-_]?by[-_]?identity", re.I)
_BARE_MOVE_RE = re.compile(r"/deals/move[-_]?stage(?![-_\w])", re.I)
_OTHER_ROUTE_RE = re.compile(
    r"/(boards|activities|contacts|stages|identifiers)\b|/deals/[^/\s]+/mark[-_](won|lost)", re.I
)
# a tool that hides its route in an expression still says what it does
_MOVE_WORDS_RE = re.compile(
    r"\b(mov\w*|mud\w*|avanc\w*|troc\w*|alter\w*|chang\w*|advanc\w*|updat\w*|atualiz\w*)\b"
    r".{0,40}\b(stages?|estagios?|etapas?|fases?)\b",
    re.S,
)
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_IDENTITY_BODY_KEYS = {"phone", "email", "identifier"}


def stage_move_nodes(wf: Workflow) -> list[str]:
    """HTTP nodes and tools that move a deal's stage (by URL, or by a tool's own words)."""
    found: list[str] = []
    for name in wf.enabled():
        if not (wf.is_http(name) or wf.is_tool(name)):
            continue
        url = wf.derive(wf.url(name), name).text
        if MOVE_ROUTE_RE.search(url):
            found.append(name)
            continue
        if wf.is_tool(name):
            params = wf.params(name)
            words = fold(
                " ".join([name, as_str(params.get("toolDescription")), as_str(params.get("description"))])
            )
            if _MOVE_WORDS_RE.search(words) and not _OTHER_ROUTE_RE.search(url):
                found.append(name)
    return found


def _body_names(wf: Workflow, node: str) -> list[str]:
    names = [n for where, n, _ in wf.http_values(node) if where == "body"]
    return list(dict.fromkeys(names))


def stage_moves_by_deal_id(check: Check, stage_moves: list[str]) -> None:
    """R1: each stage move posts to ``/deals/{deal_id}/move-stage`` or sends ``deal_id`` only."""
    wf = check.wf
    if not stage_moves and not check.flow.is_agent:
        check.add(
            "R1",
            None,
            True,
            f"{check.flow.kind} flow: {check.flow.reason}",
            "moves no deal stage, so there is nothing to check (not an agent flow: R2–R6 do not apply)",
        )
        return
    if not stage_moves:
        check.add(
            "R1",
            None,
            False,
            "no node with a …/deals/…/move-stage URL or a stage-moving tool description",
            "no stage-move tool found; the template needs one that moves the stage by deal_id",
        )
        return
    for name in stage_moves:
        raw = wf.url(name)
        url = raw if MOVE_ROUTE_RE.search(raw) else wf.derive(raw, name).text
        body_names = _body_names(wf, name)
        normed = {norm(n) for n in body_names}
        identity = sorted(_IDENTITY_BODY_KEYS & normed)
        evidence = f"{wf.method(name)} {raw}"
        if body_names:
            evidence += f" · body keys: {', '.join(body_names)}"
        seg = DEAL_IN_MOVE_URL_RE.search(url)
        if _BY_IDENTITY_RE.search(url):
            ok = False
            detail = "moves stages via /deals/move-stage-by-identity instead of by deal_id"
            if identity:
                detail += f" (identity: {', '.join(identity)})"
        elif seg is not None:
            segment = seg.group("seg")
            derivation = wf.derive(segment, name)
            seg_text = fold(derivation.text + " " + " ".join(derivation.refs))
            if "deal" not in seg_text and not _UUID_RE.search(segment):
                ok = False
                detail = (
                    f"the {{…}} of /deals/{{…}}/move-stage is {excerpt(segment, 60)!r}, "
                    "which is not a deal_id"
                )
            elif identity:
                ok = False
                detail = (
                    f"sends identity field(s) {', '.join(identity)} in the move body "
                    "(a by-identity move; /deals/{deal_id}/move-stage rejects unknown keys)"
                )
            else:
                ok = True
                detail = "moves the stage by deal_id in the URL (/deals/{deal_id}/move-stage)"
        elif _BARE_MOVE_RE.search(url):
            if "dealid" in normed and not identity:
                ok, detail = True, "moves the stage with deal_id in the /deals/move-stage body"
            elif "dealid" in normed:
                ok = False
                detail = (
                    f"posts deal_id together with identity field(s) {', '.join(identity)} "
                    "to /deals/move-stage"
                )
            else:
                ok = False
                detail = "posts to /deals/move-stage without deal_id"
                if identity:
                    detail += f" (moves by {', '.join(identity)})"
        else:
            ok = False
            detail = (
                "moves stages through a URL that is not /deals/{deal_id}/move-stage (route hidden or unknown)"
            )
        check.add("R1", name, ok, evidence, detail)
