"""R6: the IGSID comes from ``contact_inbox.source_id`` and never ends up as a phone."""

from __future__ import annotations

import re

from golive.n8n_lint.rules.context import NAME_TOKENS, Check
from golive.n8n_lint.values import around, excerpt, is_expression, norm, strings
from golive.n8n_lint.workflow import GATE_TYPES, Derivation

_PHONE_NAMES = {"phone", "phonenumber", "telefone", "celular", "whatsapp", "phonee164", "waphone"}
# parts of a field name that make it a phone (ClienteTelefone, contact_phone, sender_phone …)
_PHONE_TOKENS = ("phone", "telefone", "celular")
_IG_ID_NAMES = {"igsid", "igid", "instagramid", "externalid", "identifier", "instagramscopedid"}

_SOURCE_ID_RE = re.compile(r"contact_inbox\s*\??\.\s*source_id|contact_inbox\s*\??\.?\s*\[\s*['\"]source_id")
_SENDER_IDENTIFIER_RE = re.compile(r"sender\s*\??\.\s*identifier\b|sender\s*\??\.?\s*\[\s*['\"]identifier")
_IG_READ_RE = re.compile(
    r"contact_inbox\s*\??\.\s*source_id|contact_inbox\s*\??\.?\s*\[\s*['\"]source_id"
    r"|sender\s*\??\.\s*identifier\b|sender\s*\??\.?\s*\[\s*['\"]identifier"
)
_PHONE_FROM_IG_RE = re.compile(r"\bidentifier\b|igsid|external_?id|instagram", re.I)
_PHONE_FALLBACK_TO_ID_RE = re.compile(r"phone_number\s*(?:\|\||\?\?)[^;\n]{0,60}\bidentifier\b", re.I)
# an IGSID read that is one alternative of a || / ?? chain: whatever the chain feeds gets the
# IGSID whenever the alternatives before it are empty (an Instagram contact has no phone)
_IG_IN_CHAIN_RE = re.compile(
    r"(?:\|\||\?\?)\s*\(?\s*[\w$.?\[\]'\"()]*?(?:" + _IG_READ_RE.pattern + r")"
    r"|(?:" + _IG_READ_RE.pattern + r")[\w$.?\[\]'\"()]*\s*(?:\|\||\?\?)"
)
_PHONE_FALLBACK = "uses the Instagram identifier as a phone fallback"
_WHATSAPP_RE = re.compile(r"whatsapp", re.I)
# a phone lookup written into the URL: …/contacts?phone={{ … }}
_URL_PHONE_RE = re.compile(r"[?&]((?:phone|telefone|celular)\w*)=(\{\{.*?\}\})", re.I | re.S)


def _ig_reads(check: Check, name: str) -> list[tuple[str, str]]:
    """(label, text) of the node's own expressions that read the Instagram id."""
    wf = check.wf
    if wf.is_code(name):
        defs = wf.js(name)
        parts = [(k, defs.derive(k) or "") for k in defs.defs if norm(k) in _IG_ID_NAMES]
        parts = [(k, t) for k, t in parts if _IG_READ_RE.search(t)]
        if parts:
            return parts
        code = wf.code_text(name)
        return [("code", code)] if _IG_READ_RE.search(code) else []
    if wf.is_set(name):
        return [
            (k, v)
            for k, v in wf.set_fields(name)
            if _IG_READ_RE.search(v)
            and not (any(t in norm(k) for t in NAME_TOKENS) and "identif" not in norm(k))
        ]
    return [("parameters", s) for s in strings(wf.params(name)) if _IG_READ_RE.search(s)]


def _is_phone_name(name: str) -> bool:
    if is_expression(name):
        return False  # a name chosen at run time (e.g. 'phone' or 'email'): judged by its value elsewhere
    normed = norm(name)
    return normed in _PHONE_NAMES or any(tok in normed for tok in _PHONE_TOKENS)


def _phone_values(check: Check, name: str) -> list[tuple[str, Derivation]]:
    """(field, derivation) of every phone value the node defines or sends (body, query, URL)."""
    wf = check.wf
    values: list[tuple[str, Derivation]] = []
    if wf.is_code(name):
        for key in wf.js(name).defs:
            if _is_phone_name(key) and not re.fullmatch(r"[A-Z0-9_]+", key):
                derivation = wf.code_field(name, key)
                if derivation is not None:
                    values.append((key, derivation))
    elif wf.is_set(name):
        values = [(k, wf.derive(v, name)) for k, v in wf.set_fields(name) if _is_phone_name(k)]
    elif wf.is_http(name):
        values = [(k, wf.derive(v, name)) for _, k, v in wf.http_values(name) if _is_phone_name(k)]
        values += [(m.group(1), wf.derive(m.group(2), name)) for m in _URL_PHONE_RE.finditer(wf.url(name))]
    return values


def _phone_problem(text: str) -> tuple[str, str] | None:
    """(problem, evidence excerpt) when the IGSID can become this phone value."""
    chain = _IG_IN_CHAIN_RE.search(text)
    if chain is not None:
        return "an IGSID can reach the phone through a fallback chain", around(
            text, chain.start(), chain.end()
        )
    m = _PHONE_FROM_IG_RE.search(text)
    if m is not None:
        return "uses the IGSID/identifier as the phone", around(text, m.start(), m.end())
    read = _IG_READ_RE.search(text)
    if read is not None and not _WHATSAPP_RE.search(text):
        return (
            "reads contact_inbox.source_id/sender.identifier (the IGSID on Instagram) as the phone "
            "without checking the channel",
            around(text, read.start(), read.end()),
        )
    return None


def igsid_from_source_id(check: Check) -> None:
    """R6: IGSID reads prefer ``contact_inbox.source_id``; no phone value is built from it."""
    wf = check.wf
    reads_ig = False
    for name in wf.enabled():
        if wf.type_of(name) in GATE_TYPES:
            continue  # a gate looks at the id, it does not derive it
        reads = _ig_reads(check, name)
        problems: list[str] = []
        evidence: list[str] = []
        pass_evidence: list[str] = []
        by_kind: dict[str, list[str]] = {}
        for label, text in reads:
            reads_ig = True
            src = _SOURCE_ID_RE.search(text)
            ident = _SENDER_IDENTIFIER_RE.search(text)
            kind = ""
            if ident and not src:
                kind = "reads the IGSID only from sender.identifier instead of contact_inbox.source_id"
            elif ident and src and ident.start() < src.start():
                kind = "prefers sender.identifier over contact_inbox.source_id for the IGSID"
            fallback = _PHONE_FALLBACK_TO_ID_RE.search(text)
            if fallback:
                by_kind.setdefault(_PHONE_FALLBACK, []).append(label)
                evidence.append(f"{label}: {excerpt(fallback.group(0), 100)}")
            if kind and ident is not None:
                if not by_kind.get(kind):
                    evidence.append(f"{label}: {around(text, ident.start(), ident.end())}")
                by_kind.setdefault(kind, []).append(label)
            elif src and not pass_evidence:
                pass_evidence.append(f"{label}: {around(text, src.start(), src.end())}")
        problems.extend(f"{kind} (in {', '.join(labels)})" for kind, labels in by_kind.items())
        phone_checked = False
        reported = set(by_kind.get(_PHONE_FALLBACK, []))
        for key, derivation in _phone_values(check, name):
            text = derivation.text
            if not (_IG_READ_RE.search(text) or _PHONE_FROM_IG_RE.search(text)):
                continue  # e.g. a phone chosen by the model: nothing to do with the IGSID
            phone_checked = True
            found = _phone_problem(text)
            if found is not None and key not in reported:
                problem, where = found
                problems.append(f"{problem} ({key})")
                chain = f" ⇒ {derivation.chain()}" if derivation.refs else ""
                evidence.append(f"{key} = {excerpt(derivation.parts[0], 80)}{chain}: {where}")
        if not reads and not phone_checked:
            continue
        if not problems:
            evidence.extend(pass_evidence)
        ev_text = " | ".join(dict.fromkeys(evidence)) or "phone values checked"
        if problems:
            check.add("R6", name, False, ev_text, "; ".join(dict.fromkeys(problems)))
        elif reads:
            check.add(
                "R6",
                name,
                True,
                ev_text,
                "reads the IGSID from contact_inbox.source_id (then sender.identifier), never as a phone",
            )
        else:
            check.add("R6", name, True, ev_text, "does not use the IGSID as a phone")
    if not reads_ig:
        check.add(
            "R6",
            None,
            False,
            "no node reads contact_inbox.source_id or sender.identifier",
            "no node derives the Instagram IGSID from contact_inbox.source_id",
        )
