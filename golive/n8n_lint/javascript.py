"""A tiny JavaScript reader for n8n expressions and Code nodes.

It masks strings, comments and regex literals (so quotes and slashes inside them cannot
confuse a scan) and collects definitions (``name -> right-hand sides``).  It is a heuristic
reader, not a parser: exported workflows hold arrow-function IIFEs and object literals, and
this is enough to follow what a key or an identity is built from.
"""

from __future__ import annotations

import re

_IDENT = r"[A-Za-z_$][\w$]*"
JS_KEYWORDS = frozenset(
    {
        "await",
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "let",
        "new",
        "null",
        "of",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "undefined",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "async",
    }
)
_REGEX_AFTER_WORDS = frozenset(
    {
        "return",
        "typeof",
        "case",
        "do",
        "else",
        "in",
        "of",
        "new",
        "delete",
        "void",
        "throw",
        "yield",
        "await",
    }
)
_CONT_END = set("+-*/%&|^!~?:=,.(<>[{")
_CONT_START = set("+-*/%&|^?:.=<>,")


def mask_js(src: str) -> str:
    """Same-length copy of ``src`` with string/comment/regex contents blanked.

    Quote delimiters are kept; ``${ … }`` expressions inside template literals are kept.
    Newlines are kept so line-based heuristics keep working.
    """
    out = list(src)
    n = len(src)
    i = 0
    # stack of contexts: "`" = inside template text, "${" = inside a template expression,
    # "{" = a plain brace opened inside a template expression
    stack: list[str] = []

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    def regex_allowed(pos: int) -> bool:
        j = pos - 1
        while j >= 0 and out[j] in " \t\r\n":
            j -= 1
        if j < 0:
            return True
        prev = out[j]
        if prev.isalnum() or prev in "_$":
            k = j
            while k >= 0 and (out[k].isalnum() or out[k] in "_$"):
                k -= 1
            return src[k + 1 : j + 1] in _REGEX_AFTER_WORDS
        return prev not in ")]}\"'`"

    while i < n:
        c = src[i]
        if stack and stack[-1] == "`":
            if c == "\\":
                blank(i, i + 2)
                i += 2
            elif c == "`":
                stack.pop()
                i += 1
            elif c == "$" and i + 1 < n and src[i + 1] == "{":
                stack.append("${")
                i += 2
            else:
                blank(i, i + 1)
                i += 1
            continue
        nxt = src[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            end = src.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
        elif c == "/" and nxt == "*":
            end = src.find("*/", i + 2)
            end = n if end < 0 else end + 2
            blank(i, end)
            i = end
        elif c in "'\"":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        elif c == "`":
            stack.append("`")
            i += 1
        elif c == "/" and regex_allowed(i):
            j = i + 1
            in_class = False
            while j < n and src[j] != "\n":
                if src[j] == "\\":
                    j += 2
                    continue
                if src[j] == "[":
                    in_class = True
                elif src[j] == "]":
                    in_class = False
                elif src[j] == "/" and not in_class:
                    break
                j += 1
            blank(i + 1, j)
            i = j + 1
        else:
            if stack and c == "{":
                stack.append("{")
            elif stack and c == "}":
                stack.pop()
            i += 1
    return "".join(out)


def _prev_sig(masked: str, pos: int) -> str:
    j = pos - 1
    while j >= 0 and masked[j] in " \t\r\n":
        j -= 1
    return masked[j] if j >= 0 else ""


def _next_sig(masked: str, pos: int) -> str:
    j = pos
    while j < len(masked) and masked[j] in " \t\r\n":
        j += 1
    return masked[j] if j < len(masked) else ""


def _rhs_end(masked: str, start: int) -> int:
    """End (exclusive) of the expression starting at ``start`` (assignment right-hand side)."""
    depth = 0
    i = start
    n = len(masked)
    while i < n:
        c = masked[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif depth == 0:
            if c in ";,":
                return i
            if c == "\n":
                prev = _prev_sig(masked[: i + 1], i)
                if masked[start:i].strip():
                    nxt = _next_sig(masked, i + 1)
                    if prev not in _CONT_END and (nxt == "" or nxt not in _CONT_START):
                        return i
        i += 1
    return n


def _matching_close(masked: str, open_pos: int) -> int:
    depth = 0
    for i in range(open_pos, len(masked)):
        if masked[i] in "([{":
            depth += 1
        elif masked[i] in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return len(masked) - 1


_DECL_OR_ASSIGN_RE = re.compile(rf"(?<![\w$.])({_IDENT})\s*(?:\|\||&&|\?\?|\+)?=(?![=>])")
_PROP_ASSIGN_RE = re.compile(rf"\.\s*({_IDENT})\s*=(?![=>])")
_FIELD_RE = re.compile(rf"({_IDENT}|'[^'\n]*'|\"[^\"\n]*\")\s*:(?!:)")
_SHORTHAND_RE = re.compile(rf"[{{,]\s*({_IDENT})\s*(?=[,}}])")
_DESTRUCT_RE = re.compile(r"\b(?:const|let|var)\s*\{([^{}]*)\}\s*=")
_FUNCTION_RE = re.compile(rf"\bfunction\s+({_IDENT})\s*\(")
_IDENT_TOKEN_RE = re.compile(rf"(?<![\w$])({_IDENT})")


class JsDefs:
    """Definitions (``name -> [right-hand sides]``) found in a JavaScript-ish text.

    Understands ``const/let/var x = …``, ``x = …``, ``obj.x = …``, object fields
    ``{ x: … }`` / ``{ "x": … }`` / shorthand ``{ x }``, simple destructuring and
    ``function x(…) {…}``.  It is a heuristic reader, not a parser.
    """

    def __init__(self, src: str) -> None:
        self.src = src
        self.masked = mask_js(src)
        self.defs: dict[str, list[str]] = {}
        self._collect()

    def _add(self, name: str, rhs: str) -> None:
        rhs = rhs.strip()
        if not name or not rhs:
            return
        bucket = self.defs.setdefault(name, [])
        if rhs not in bucket:
            bucket.append(rhs)

    def _in_code(self, pos: int) -> bool:
        return not (self.masked[pos] == " " and self.src[pos] != " ")

    def _collect(self) -> None:
        src, masked = self.src, self.masked
        for m in _DECL_OR_ASSIGN_RE.finditer(masked):
            name = m.group(1)
            if name in JS_KEYWORDS:
                continue
            end = _rhs_end(masked, m.end())
            self._add(name, src[m.end() : end])
        for m in _PROP_ASSIGN_RE.finditer(masked):
            end = _rhs_end(masked, m.end())
            self._add(m.group(1), src[m.end() : end])
        for m in _FIELD_RE.finditer(src):
            if not self._in_code(m.start()) or _prev_sig(masked, m.start()) not in "{,":
                continue
            name = m.group(1).strip("'\"")
            end = _rhs_end(masked, m.end())
            self._add(name, src[m.end() : end])
        for m in _SHORTHAND_RE.finditer(masked):
            name = m.group(1)
            if name not in JS_KEYWORDS:
                self._add(name, name)
        for m in _DESTRUCT_RE.finditer(masked):
            end = _rhs_end(masked, m.end())
            rhs = src[m.end() : end].strip()
            for part in m.group(1).split(","):
                key = part.split(":")[0].split("=")[0].strip()
                if re.fullmatch(_IDENT, key):
                    self._add(key, f"{rhs}.{key}")
        for m in _FUNCTION_RE.finditer(masked):
            paren = masked.find("(", m.end() - 1)
            close = _matching_close(masked, paren)
            brace = masked.find("{", close)
            if brace < 0:
                continue
            end = _matching_close(masked, brace)
            self._add(m.group(1), src[m.start() : end + 1])

    @staticmethod
    def identifiers(text: str) -> list[str]:
        masked = mask_js(text)
        found: list[str] = []
        for m in _IDENT_TOKEN_RE.finditer(masked):
            name = m.group(1)
            prev = _prev_sig(masked, m.start())
            if prev == "." or name in JS_KEYWORDS or name in found:
                continue
            found.append(name)
        return found

    def derive(self, name: str, limit: int = 60) -> str | None:
        """The definition of ``name`` plus, transitively, the local definitions it uses."""
        if name not in self.defs:
            return None
        parts: list[str] = []
        seen = {name}
        queue = [name]
        while queue and len(parts) < limit:
            current = queue.pop(0)
            for rhs in self.defs.get(current, []):
                parts.append(f"{current} = {rhs}")
                for ident in self.identifiers(rhs):
                    if ident in self.defs and ident not in seen:
                        seen.add(ident)
                        queue.append(ident)
        return "\n".join(parts)
