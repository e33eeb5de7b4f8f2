"""R5: ``source`` is derived from the Chatwoot channel, with no default channel."""

from __future__ import annotations

import re

from golive.n8n_lint.rules.context import Check
from golive.n8n_lint.values import excerpt, norm, one_line
from golive.n8n_lint.workflow import Derivation

_SOURCE_DEF_NAMES = {"source", "origem"}
_CHANNEL_NAMES = {"channel", "canal"}

_CHANNEL_REF_RE = re.compile(r"\bchannel(?:_?type)?\b", re.I)
_CHANNEL_MAP_RE = re.compile(r"Channel::(?:Instagram|Whatsapp)", re.I)
_UPPER_SOURCE_RE = re.compile(r"['\"`](?:WHATSAPP|INSTAGRAM)['\"`]")
_SOURCE_LITERAL_RE = re.compile(
    r"^\s*=?\s*(?:\{\{\s*)?['\"`]?\s*(WHATSAPP|INSTAGRAM)\s*['\"`]?\s*(?:\}\})?\s*$", re.I
)
_SOURCE_DEFAULT_RES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"(?:\|\||\?\?)\s*'(?:WHATSAPP|INSTAGRAM)'", re.I),
        "defaults to one channel when the channel is unknown",
    ),
    (
        re.compile(r"(?<!\?)\?(?![.?])[^:;?]*:\s*'(?:WHATSAPP|INSTAGRAM)'\s*(?:[;,)}\n]|$)", re.I),
        "defaults to one channel in the else branch of a ternary",
    ),
    (
        re.compile(
            r"\b(?:default\s*:|else)\s*\{?\s*(?:return\s+|[\w$.]+\s*=\s*)'(?:WHATSAPP|INSTAGRAM)'",
            re.I,
        ),
        "defaults to one channel when the channel is unknown",
    ),
    (
        re.compile(
            r"(?:identifier|source_id|igsid)\b[^;\n]{0,60}&&\s*!\s*[\w$.?]*phone"
            r"|!\s*[\w$.?]*phone\w*\s*&&[^;\n]{0,60}(?:identifier|source_id|igsid)"
            r"|!\s*[\w$.?]*phone\w*\s*\?\s*'INSTAGRAM'",
            re.I,
        ),
        "infers the channel from 'has an identifier but no phone'",
    ),
]
_RETURN_SOURCE_RE = re.compile(r"^\s*return\s+['\"`](?:WHATSAPP|INSTAGRAM)['\"`]", re.M)
_CONDITION_LINE_RE = re.compile(r"^(?:\}\s*)?(?:else\s+)?if\b|^case\b", re.I)


def _replace_string_colons(text: str) -> str:
    """Drop ``:`` inside quoted strings (``'Channel::Instagram'``) for ternary matching."""
    return re.sub(r"'[^'\n]*'|\"[^\"\n]*\"", lambda m: m.group(0).replace(":", "_"), text)


def _unconditional_source_return(text: str) -> bool:
    """A ``return 'WHATSAPP'`` line that is not the body of an ``if``/``case``: a default."""
    lines = text.splitlines()
    for m in _RETURN_SOURCE_RE.finditer(text):
        index = text.count("\n", 0, m.start())
        prev = next((ln.strip() for ln in reversed(lines[:index]) if ln.strip()), "")
        conditional = (
            prev.endswith(")")
            or (prev.endswith(":") and prev.lower().startswith("case"))
            or (prev.endswith("{") and bool(_CONDITION_LINE_RE.match(prev)))
        )
        if not conditional:
            return True
    return False


def _source_problems(primary: str, text: str) -> list[str]:
    if _SOURCE_LITERAL_RE.match(primary):
        literal = one_line(primary).lstrip("= ")
        return [f"is hard-coded to {literal} instead of derived from the channel"]
    problems: list[str] = []
    normalised = _replace_string_colons(text)
    for regex, what in _SOURCE_DEFAULT_RES:
        if regex.search(normalised):
            problems.append(what)
    if _unconditional_source_return(text):
        problems.append("defaults to one channel when the channel is unknown")
    if not _CHANNEL_REF_RE.search(text):
        problems.append("is not derived from the Chatwoot channel")
    elif not (_CHANNEL_MAP_RE.search(text) or re.search(r"instagram|whatsapp", text, re.I)):
        problems.append("does not map Channel::Instagram/Channel::Whatsapp to a source")
    return list(dict.fromkeys(problems))


def _source_definitions(check: Check, name: str) -> list[tuple[str, str, Derivation]]:
    """(label, primary expression, derivation) of the source/channel fields of a node."""
    wf = check.wf
    out: list[tuple[str, str, Derivation]] = []
    if wf.is_code(name):
        defs = wf.js(name).defs
        for key in defs:
            normed = norm(key)
            if normed not in _SOURCE_DEF_NAMES | _CHANNEL_NAMES:
                continue
            derivation = wf.code_field(name, key)
            if derivation is None:
                continue
            if normed in _CHANNEL_NAMES and not _UPPER_SOURCE_RE.search(derivation.text):
                continue  # the raw Chatwoot channel, not the CRM source
            primaries = [r for r in defs[key] if r != key]
            out.append((key, primaries[0] if primaries else key, derivation))
    elif wf.is_set(name):
        for key, value in wf.set_fields(name):
            normed = norm(key)
            if normed not in _SOURCE_DEF_NAMES | _CHANNEL_NAMES:
                continue
            derivation = wf.derive(value, name)
            if (
                normed in _CHANNEL_NAMES
                and not _UPPER_SOURCE_RE.search(derivation.text)
                and not _SOURCE_LITERAL_RE.match(value)
            ):
                continue
            out.append((key, value, derivation))
    elif wf.is_http(name):
        for _, key, value in wf.http_values(name):
            if norm(key) in _SOURCE_DEF_NAMES | _CHANNEL_NAMES and _SOURCE_LITERAL_RE.match(value):
                out.append((key, value, Derivation(parts=[value])))
    return out


def source_from_channel(check: Check) -> None:
    """R5: each node that defines ``source`` maps the Chatwoot channel, with no default."""
    reported = False
    for name in check.wf.enabled():
        definitions = _source_definitions(check, name)
        if not definitions:
            continue
        reported = True
        problems: list[str] = []
        evidence: list[str] = []
        for label, primary, derivation in definitions:
            evidence.append(f"{label} = {excerpt(primary, 140)}")
            problems.extend(f"{label} {p}" for p in _source_problems(primary, derivation.text))
        ev_text = " | ".join(evidence)
        if problems:
            check.add("R5", name, False, ev_text, "; ".join(problems))
        else:
            check.add(
                "R5",
                name,
                True,
                ev_text,
                "derives source from the Chatwoot channel (Channel::Instagram → INSTAGRAM, "
                "Channel::Whatsapp → WHATSAPP); other channels are invalid",
            )
    if not reported:
        check.add(
            "R5",
            None,
            False,
            "no Set/Code node defines source",
            "no node derives source from the Chatwoot channel",
        )
