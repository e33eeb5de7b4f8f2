"""Reading loosely typed parameter values and normalising names and excerpts."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any


def as_map(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def as_str(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return ""


def fold(text: str) -> str:
    """Lower-case and strip accents (``Estágio`` -> ``estagio``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def norm(name: str) -> str:
    """Normalise a field name for matching: ``Session Key`` / ``session_key`` -> ``sessionkey``."""
    return re.sub(r"[^a-z0-9]", "", fold(name))


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def excerpt(text: str, limit: int = 160) -> str:
    flat = one_line(text)
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def strings(value: object) -> Iterator[str]:
    """Every string value (not key) nested in a parameter structure."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def short_type(node_type: str) -> str:
    return node_type.rsplit(".", 1)[-1] if node_type else "?"


def type_version(node: Mapping[str, Any]) -> float:
    raw = node.get("typeVersion", 1)
    return float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else 1.0


def around(text: str, start: int, end: int, width: int = 45) -> str:
    """``text[start:end]`` with a little context on each side, on one line."""
    a, b = max(0, start - width), min(len(text), end + width)
    return ("…" if a else "") + one_line(text[a:b]) + ("…" if b < len(text) else "")


def line_at(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start : (len(text) if end < 0 else end)].strip()


def is_expression(raw: str) -> bool:
    return raw.lstrip().startswith("=")
