"""R2: ``deal_id`` is resolved before the agent (a deal lookup/creation) and the tools use it."""

from __future__ import annotations

import re

from golive.n8n_lint.rules.context import Check
from golive.n8n_lint.rules.stage_move import DEAL_IN_MOVE_URL_RE, MOVE_ROUTE_RE
from golive.n8n_lint.values import excerpt, is_expression, norm
from golive.n8n_lint.workflow import T_TOOL_HTTP_LEGACY, Workflow

_DEAL_SEGMENT_RE = re.compile(r"/deals/(?P<seg>\{\{.*?\}\}|\{[\w$]+\}|[^/?#\s'\"`+]+)", re.S)
_DEALS_ROUTE_RE = re.compile(r"/deals(?:[/?#\s'\"`]|$)", re.I)
_MARK_ROUTE_RE = re.compile(r"mark[-_](won|lost)", re.I)
_FROM_AI_RE = re.compile(r"\$fromAI\s*\(", re.I)
# the legacy toolHttpRequest fills "{name}" placeholders with values the model chooses
_PLACEHOLDER_RE = re.compile(r"(?<!\{)\{\s*([A-Za-z_]\w*)\s*\}(?!\})")
_DEAL_ID_NAMES = {"dealid"}


def _deal_id_expressions(wf: Workflow, node: str) -> list[str]:
    exprs: list[str] = []
    url = wf.url(node)
    m = DEAL_IN_MOVE_URL_RE.search(url) or _DEAL_SEGMENT_RE.search(url)
    if m is not None:
        seg = m.group("seg")
        if not MOVE_ROUTE_RE.match(seg.strip()):
            exprs.append(seg)
    exprs.extend(v for _, n, v in wf.http_values(node) if norm(n) in _DEAL_ID_NAMES)
    return exprs


def _deal_id_raws(wf: Workflow, node: str) -> list[str]:
    if wf.is_set(node):
        return [v for k, v in wf.set_fields(node) if norm(k) in _DEAL_ID_NAMES]
    defs = wf.js(node)
    return [defs.derive(k) or "" for k in defs.defs if norm(k) in _DEAL_ID_NAMES]


def _deal_exposers(wf: Workflow) -> list[str]:
    return [n for n in wf.enabled() if (wf.is_set(n) or wf.is_code(n)) and _deal_id_raws(wf, n)]


def _deal_lookups(wf: Workflow) -> list[str]:
    return [
        n
        for n in wf.enabled()
        if wf.is_http(n)
        and not wf.is_tool(n)
        and _DEALS_ROUTE_RE.search(wf.url(n))
        and not MOVE_ROUTE_RE.search(wf.url(n))
        and not _MARK_ROUTE_RE.search(wf.url(n))
    ]


def deal_id_resolved_first(check: Check, stage_moves: list[str]) -> None:
    """R2: a Set/Code node exposes a looked-up ``deal_id`` before the agent; tools read it."""
    wf = check.wf
    agents = [n for n in wf.enabled() if wf.is_agent(n) and not wf.is_sub_node(n)]
    anchors = agents + [n for n in stage_moves if not wf.is_sub_node(n)]
    upstream: set[str] = set()
    for anchor in anchors:
        upstream |= wf.ancestors(anchor)
    lookups = _deal_lookups(wf)
    exposers = _deal_exposers(wf)
    valid_exposers: list[str] = []
    for name in exposers:
        raw = _deal_id_raws(wf, name)[0]
        derivation = wf.derive(raw, name)
        evidence = f"deal_id = {raw}" + (f" ⇒ {derivation.chain()}" if derivation.refs else "")
        if anchors and name not in upstream:
            check.add(
                "R2",
                name,
                False,
                evidence,
                "exposes deal_id only after the agent, so the tools cannot use it",
            )
            continue
        ancestors = wf.ancestors(name)
        before = [lk for lk in lookups if lk in ancestors or lk in derivation.nodes]
        if wf.is_set(name) and not is_expression(raw):
            check.add("R2", name, False, evidence, "hard-codes deal_id instead of resolving it")
        elif not before:
            check.add(
                "R2",
                name,
                False,
                evidence,
                "exposes deal_id but no node finds or creates the deal before it "
                "(e.g. POST /api/public/v1/deals)",
            )
        else:
            valid_exposers.append(name)
            check.add(
                "R2",
                name,
                True,
                evidence,
                f'exposes deal_id resolved by "{before[0]}" before the agent/stage move',
            )
    if not exposers:
        what = f"deal lookup(s): {', '.join(lookups)}" if lookups else "no POST/GET /deals node"
        check.add(
            "R2",
            None,
            False,
            what,
            "no Set/Code node exposes deal_id before the agent, so the deal is not resolved at the start",
        )
    for name in [n for n in wf.enabled() if wf.is_tool(n) or n in stage_moves]:
        exprs = _deal_id_expressions(wf, name)
        if not exprs:
            continue  # no deal_id at all: that is R1's failure; R2 judges its origin
        is_legacy_tool = wf.type_of(name) == T_TOOL_HTTP_LEGACY
        problems: list[str] = []
        sources: list[str] = []
        for expr in exprs:
            from_ai = _FROM_AI_RE.search(expr) is not None or (
                is_legacy_tool
                and "{{" not in expr
                and any("deal" in p.lower() for p in _PLACEHOLDER_RE.findall(expr))
            )
            if from_ai:
                problems.append("takes deal_id from $fromAI(…), so the model chooses the deal")
                continue
            derivation = wf.derive(expr, name)
            hits = [n for n in derivation.nodes if n in valid_exposers]
            if hits:
                sources.append(hits[0])
            else:
                origin = derivation.chain() or excerpt(expr, 60)
                problems.append(f"takes deal_id from {origin} instead of the node that resolved the deal")
        evidence = "deal_id: " + " | ".join(excerpt(e, 120) for e in exprs)
        if problems:
            check.add("R2", name, False, evidence, problems[0])
        else:
            check.add(
                "R2", name, True, evidence, f'uses deal_id from "{sources[0]}" (resolved before the agent)'
            )
