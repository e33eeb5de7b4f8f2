"""Proof that an HTML report loads nothing from outside the file, and the cure when it does.

Allure 3.18 hard-codes Google Tag Manager in the awesome template (``analyticsEnable: true``,
no opt-out). :func:`strip_external_resources` removes it and anything else that would make
the report load a remote resource; :func:`find_external_references` proves that nothing of
the kind is left (:func:`find_external_links` lists the links a reader may follow).
:func:`embedded_report_files` decodes the files a single-file report embeds (test results,
attachments), which the checks above and the evidence leak scan look inside.

Parsing is a small regex tokenizer (standard library only) that keeps the offsets of every
tag and attribute, so stripping cuts out exactly what loads and leaves the rest byte for byte.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import unquote

__all__ = [
    "embedded_external_references",
    "embedded_report_files",
    "find_external_links",
    "find_external_references",
    "strip_external_resources",
]

_MAX_DETAIL = 200  # characters of a URL kept in findings

# --------------------------------------------------------------------------- scanning

# A tag's attribute area: anything but ">", with quoted values allowed to hold ">".
_TAG_BODY = r"""(?:[^>"']|"[^"]*"|'[^']*')*"""
_TOKEN_RE = re.compile(
    r"<!--.*?(?:-->|\Z)|<(?P<name>[A-Za-z][A-Za-z0-9:_-]*)(?P<attrs>" + _TAG_BODY + r")>",
    re.DOTALL,
)
_ATTR_RE = re.compile(
    r"""(?P<name>[^\s"'<>/=]+)(?:\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<uq>[^\s"'=<>`]+)))?"""
)
# Elements whose content runs to their end tag (raw text, or content we keep whole).
_CONTENT_ELEMENTS = frozenset(
    {"script", "style", "noscript", "iframe", "textarea", "title", "xmp", "noembed", "noframes"}
)
_VOID_ELEMENTS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)
# Attributes that make the browser fetch a URL without any click.
_LOAD_ATTRS_ANY = frozenset({"src", "poster", "background", "lowsrc", "dynsrc", "xlink:href"})
_HREF_LOADS = frozenset({"link", "base", "image", "use", "feimage", "script"})
_LINK_ELEMENTS = frozenset({"a", "area"})
_SAFE_SCHEMES = frozenset({"data", "blob", "about", "javascript", "mailto", "tel"})
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_PROTOCOL_RELATIVE_RE = re.compile(r"^[\\/]{2}")

_URL = r"""(?:(?:https?|wss?|ftp):)?//[^\s"'`)<>]+"""
# Text patterns: trackers by name, and code/CSS that fetches a literal remote URL.
_TRACKER_HOSTS = ("googletagmanager", "google-analytics")  # matched case-insensitively
_TRACKER_CODE_RE = re.compile(r"\bgtag\s*\(|\bdataLayer\b|\bsendBeacon\s*\(")
_TEXT_LOAD_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("css url()", re.compile(r"""url\(\s*["']?\s*(""" + _URL + ")", re.IGNORECASE)),
    (
        "css @import",
        re.compile(r"""@import\s+(?:url\(\s*)?["']?\s*(""" + _URL + ")", re.IGNORECASE),
    ),
    (
        "js load",
        re.compile(
            r"""\b(?:fetch|import|importScripts|EventSource|WebSocket|Worker|SharedWorker)"""
            r"""\s*\(\s*["'`](""" + _URL + ")"
        ),
    ),
    ("js xhr", re.compile(r"""\.open\s*\(\s*["'][A-Za-z]+["']\s*,\s*["'`](""" + _URL + ")")),
    ("js .src=", re.compile(r"""\.(?:src|href)\s*=\s*["'`](""" + _URL + ")")),
)
_JS_CSS_HTML_MIME = re.compile(
    r"^(?:text|application)/(?:javascript|ecmascript|x-javascript|css|html|xhtml\+xml)$"
    r"|^image/svg\+xml$",
    re.IGNORECASE,
)
_REPORT_FILE_RE = re.compile(r'\bd\(\s*("(?:[^"\\]|\\.)*")\s*,\s*"([A-Za-z0-9+/=]*)"\s*\)')
_MARKDOWN_IMAGE_RE = re.compile(r"!\[[^\]]*\]\(\s*<?(" + _URL + ")")


@dataclass(frozen=True)
class _Attr:
    name: str  # lower-cased
    value: str  # entity-decoded
    start: int  # span of the whole attribute in the document
    end: int


@dataclass(frozen=True)
class _Element:
    name: str  # lower-cased
    start: int  # start of the start tag
    end: int  # end of the element (end tag included for _CONTENT_ELEMENTS)
    tag_end: int  # end of the start tag
    attrs: tuple[_Attr, ...]
    content: str | None  # text between start and end tag for _CONTENT_ELEMENTS

    def get(self, name: str) -> str | None:
        for attr in self.attrs:
            if attr.name == name:
                return attr.value
        return None


def _elements(text: str) -> Iterator[_Element]:
    """Start tags of ``text`` in order; script/style/… bodies are skipped, not parsed.

    Matches the HTML tokenizer closely enough for generated documents: a
    ``<script>`` body ends at the first ``</script`` (Allure escapes ``<`` in its
    inline JSON), comments are skipped.
    """
    pos = 0
    while True:
        match = _TOKEN_RE.search(text, pos)
        if match is None:
            return
        name = match.group("name")
        if name is None:  # a comment
            pos = match.end()
            continue
        lname = name.lower()
        attrs_text = match.group("attrs")
        attrs_offset = match.start("attrs")
        attrs = tuple(
            _Attr(
                name=a.group("name").lower(),
                value=html.unescape(a.group("dq") or a.group("sq") or a.group("uq") or ""),
                start=attrs_offset + a.start(),
                end=attrs_offset + a.end(),
            )
            for a in _ATTR_RE.finditer(attrs_text)
        )
        content: str | None = None
        end = match.end()
        if lname in _CONTENT_ELEMENTS:
            closing = re.compile(rf"</{lname}(?=[\s/>])[^>]*>", re.IGNORECASE).search(text, end)
            if closing is None:
                content, end = text[end:], len(text)
            else:
                content, end = text[end : closing.start()], closing.end()
        yield _Element(lname, match.start(), end, match.end(), attrs, content)
        pos = end


def _is_external(url: str) -> bool:
    """True for a URL that leaves the document: any scheme but data/blob/about/…, or ``//``."""
    url = url.strip().lstrip("\x00\t\n\r ")
    if _PROTOCOL_RELATIVE_RE.match(url):
        return True
    scheme = _SCHEME_RE.match(url)
    return scheme is not None and scheme.group(1).lower() not in _SAFE_SCHEMES


def _short(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= _MAX_DETAIL else value[:_MAX_DETAIL] + "…"


def _decode_data_url(url: str) -> tuple[str, str] | None:
    """(mime type, text) of a ``data:`` URL, or None if it is not one / not decodable."""
    url = url.strip()
    if url[:5].lower() != "data:" or "," not in url:
        return None
    header, payload = url[5:].split(",", 1)
    parts = header.split(";")
    mime = parts[0].strip().lower() or "text/plain"
    try:
        if any(p.strip().lower() == "base64" for p in parts[1:]):
            raw = base64.b64decode(payload + "=" * (-len(payload) % 4))
        else:
            raw = unquote(payload).encode("utf-8", "surrogatepass")
    except (binascii.Error, ValueError):
        return None
    return mime, raw.decode("utf-8", errors="replace")


def _srcset_urls(value: str) -> list[str]:
    return [candidate.split()[0] for candidate in value.split(",") if candidate.split()]


def _meta_refresh_url(element: _Element) -> str | None:
    if (element.get("http-equiv") or "").lower() != "refresh":
        return None
    match = re.search(r"url\s*=\s*['\"]?([^'\"]+)", element.get("content") or "", re.IGNORECASE)
    return match.group(1).strip() if match else None


def _attr_loads(element: _Element) -> list[tuple[_Attr, str, str]]:
    """(attribute, label, url) for every attribute that fetches an external URL by itself."""
    found: list[tuple[_Attr, str, str]] = []
    for attr in element.attrs:
        urls: list[str] = []
        if (
            attr.name in _LOAD_ATTRS_ANY
            or (attr.name == "href" and element.name in _HREF_LOADS)
            or (attr.name == "data" and element.name == "object")
        ):
            urls = [attr.value]
        elif attr.name in {"srcset", "imagesrcset"}:
            urls = _srcset_urls(attr.value)
        elif attr.name == "ping":  # <a ping>: a click beacon
            urls = attr.value.split()
        elif attr.name == "content" and element.name == "meta":
            refresh = _meta_refresh_url(element)
            urls = [refresh] if refresh else []
        for url in urls:
            if _is_external(url):
                found.append((attr, f"{element.name}[{attr.name}]", url))
    return found


def _scan_text(text: str, where: str) -> list[str]:
    """Tracker names and literal remote loads in script/CSS text."""
    lowered = text.lower()
    found = [f"{where}tracker: {host}" for host in _TRACKER_HOSTS if host in lowered]
    found.extend(f"{where}tracker: {m.group(0)}" for m in _TRACKER_CODE_RE.finditer(text))
    for label, pattern in _TEXT_LOAD_PATTERNS:
        found.extend(f"{where}{label}: {_short(m.group(1))}" for m in pattern.finditer(text))
    return found


def _scan_html(text: str, where: str, depth: int) -> list[str]:
    found: list[str] = []
    for element in _elements(text):
        found.extend(f"{where}{label}: {_short(url)}" for _, label, url in _attr_loads(element))
        style = element.get("style")
        if style:
            found.extend(_scan_text(style, f"{where}{element.name}[style] "))
        for attr_name in ("onload", "onerror", "onclick", "onmouseover"):
            handler = element.get(attr_name)
            if handler:
                found.extend(_scan_text(handler, f"{where}{element.name}[{attr_name}] "))
        srcdoc = element.get("srcdoc")
        if srcdoc and depth < 3:
            found.extend(_scan_html(srcdoc, f"{where}iframe[srcdoc] → ", depth + 1))
        if element.content is not None:
            if element.name == "script" and element.get("src") is None:
                found.extend(_scan_text(element.content, f"{where}inline <script> "))
            elif element.name == "style":
                found.extend(_scan_text(element.content, f"{where}<style> "))
            elif element.name == "noscript" and depth < 3:
                found.extend(_scan_html(element.content, f"{where}<noscript> → ", depth + 1))
        # Inlined code/CSS/documents behind data: URLs are loaded too: look inside.
        for attr in element.attrs:
            if attr.name not in {"src", "href", "data"} or depth >= 3:
                continue
            decoded = _decode_data_url(attr.value)
            if decoded is None or not _JS_CSS_HTML_MIME.match(decoded[0]):
                continue
            mime, body = decoded
            inner = f"{where}{element.name}[{attr.name}=data:{mime}] "
            if "html" in mime or "svg" in mime:
                found.extend(_scan_html(body, inner + "→ ", depth + 1))
            else:
                found.extend(_scan_text(body, inner))
    return found


def embedded_report_files(html_text: str) -> dict[str, bytes]:
    """Files an Allure 3 single-file report embeds as ``d("name", "<base64>")`` calls.

    Keys are Allure's paths (``data/test-results/<id>.json``,
    ``data/attachments/<id>.<ext>``, ``widgets/…``); values are the decoded bytes.
    Test names, steps and attachments are only visible this way: the HTML holds
    them base64-encoded.
    """
    files: dict[str, bytes] = {}
    for match in _REPORT_FILE_RE.finditer(html_text):
        try:
            name = json.loads(match.group(1))
            files[str(name)] = base64.b64decode(match.group(2))
        except (ValueError, binascii.Error):
            continue
    return files


def embedded_external_references(html_text: str) -> list[str]:
    """External resources in the test evidence a single-file report embeds: HTML/SVG
    attachments, Markdown image links and ``descriptionHtml`` (they load only when opened)."""
    found: list[str] = []
    for name, payload in embedded_report_files(html_text).items():
        lower = name.lower()
        text = payload.decode("utf-8", errors="replace")
        where = f"embedded {name} "
        if lower.endswith((".html", ".htm", ".xhtml", ".svg")):
            found.extend(_scan_html(text, where + "→ ", 1))
        elif lower.endswith((".md", ".markdown")):
            found.extend(
                f"{where}markdown image: {_short(m.group(1))}" for m in _MARKDOWN_IMAGE_RE.finditer(text)
            )
        elif lower.endswith(".json") and "descriptionHtml" in text:
            try:
                data = json.loads(text)
            except ValueError:
                continue
            described = data.get("descriptionHtml") if isinstance(data, dict) else None
            if isinstance(described, str):
                found.extend(_scan_html(described, where + "descriptionHtml → ", 1))
    return _unique(found)


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def find_external_references(html_text: str, *, include_embedded: bool = True) -> list[str]:
    """Every external resource the document would load; ``[]`` proves it loads nothing.

    Each finding is one human-readable line, ``"<where><kind>: <url or marker>"``,
    in document order, without duplicates. Reported:

    * URL-bearing attributes that fetch by themselves when the URL is remote
      (``http:``, ``https:``, ``ws:``, ``ftp:``, ``file:``… or protocol-relative
      ``//``): ``src``/``srcset``/``poster``/``background`` on any element (script,
      img, iframe, source, embed, video…), ``href`` on ``<link>``, ``<base>`` and
      SVG ``<image>``/``<use>``, ``xlink:href``, ``<object data>``,
      ``<meta http-equiv=refresh>``, and ``<a ping>`` (a click beacon);
    * tracker markers anywhere in script or CSS text: ``googletagmanager``,
      ``google-analytics``, ``gtag(``, ``dataLayer``, ``sendBeacon(``;
    * literal remote loads in script/CSS text: ``url(http…)``, ``@import``,
      ``fetch("http…")``, ``import(…)``, ``new WebSocket(…)``, ``xhr.open(…)``,
      ``x.src = "http…"``;
    * the same, inside inline content behind ``data:`` URLs (Allure inlines its
      app bundle as a base64 ``data:text/javascript`` script), ``srcdoc`` and
      ``<noscript>``.

    Not reported: plain text links (``<a href>``, ``<area href>``, ``<form
    action>``) – they load nothing unless clicked; see :func:`find_external_links`.
    Namespace URIs such as ``xmlns="http://www.w3.org/2000/svg"`` are identifiers,
    not loads. Relative URLs (``app.js``) are not external; ``data:`` URLs are
    not either, but script, CSS, HTML and SVG behind them are decoded and scanned.

    With ``include_embedded`` (default) the test evidence Allure embeds is checked
    too: HTML/SVG attachments (shown in an iframe, where remote images and CSS
    would load), Markdown image links and ``descriptionHtml`` of test results.
    """
    found = _scan_html(html_text, "", 0)
    if include_embedded:
        found.extend(embedded_external_references(html_text))
    return _unique(found)


def find_external_links(html_text: str) -> list[str]:
    """Remote targets of ``<a href>``, ``<area href>`` and ``<form action>``.

    These are navigations a reader may choose to follow, not resources the report
    loads, so :func:`find_external_references` leaves them out. They are listed
    here for review (e.g. an issue-tracker link that names an internal host).
    Links the Allure app builds at run time (its "Powered by" footer, the
    Playwright trace viewer button) live inside its JS bundle and are not listed.
    """
    found: list[str] = []
    for element in _elements(html_text):
        for name in ("href", "action", "formaction"):
            value = element.get(name)
            if value is None or not _is_external(value):
                continue
            if (name == "href" and element.name in _LINK_ELEMENTS) or name != "href":
                found.append(f"{element.name}[{name}]: {_short(value)}")
    return _unique(found)


# --------------------------------------------------------------------------- stripping


def _css_neutralised(css: str) -> str:
    css = re.sub(r"@import\s+(?:url\(\s*)?[\"']?\s*" + _URL + r"[^;]*;?", "", css, flags=re.I)
    return re.sub(r"""url\(\s*["']?\s*""" + _URL + r"""\s*["']?\s*\)""", 'url("data:,")', css, flags=re.I)


def strip_external_resources(html_text: str) -> tuple[str, list[str]]:
    """Remove trackers and remote resources; return (clean HTML, what was removed).

    * ``<script>`` with a remote ``src``, or inline script text that mentions a
      tracker or loads a literal remote URL, is removed whole (this is where
      Allure 3.18 puts Google Tag Manager: ``<script async src=…gtag/js…>`` plus
      the inline ``dataLayer``/``gtag('config', …)`` block);
    * ``<noscript>`` holding any tracker or remote resource is removed whole;
    * ``<iframe>`` with a remote ``src`` (or ``srcdoc`` loading one) is removed;
    * void elements (``<link>``, ``<img>``, ``<source>``, ``<embed>``, ``<meta
      refresh>``, ``<base>``…) with a remote URL are removed; other elements keep
      their place and lose only the offending attribute;
    * remote ``url()``/``@import`` in ``<style>`` and ``style=`` are neutralised.

    Inline application code (Allure's ``data:`` script bundle, its options and
    data scripts) is kept byte for byte. Whatever cannot be removed safely (a
    tracker inside the app bundle) is left in place and still shows up in
    :func:`find_external_references`, which callers must run afterwards.
    """
    cuts: list[tuple[int, int, str]] = []  # (start, end, replacement)
    removed: list[str] = []
    for element in _elements(html_text):
        whole = (element.start, element.end, "")
        if element.name == "script":
            src = element.get("src")
            if src is not None and _is_external(src):
                cuts.append(whole)
                removed.append(f"<script src={_short(src)}>")
                continue
            inline = _scan_text(element.content, "") if src is None and element.content else []
            if inline:
                cuts.append(whole)
                removed.append(f"inline <script> ({', '.join(_unique(inline))})")
                continue
        if (
            element.name == "noscript"
            and element.content
            and (_scan_text(element.content, "") or _scan_html(element.content, "", 1))
        ):
            cuts.append(whole)
            removed.append("<noscript> with tracker/remote content")
            continue
        if element.name == "iframe":
            src = element.get("src") or ""
            srcdoc = element.get("srcdoc")
            if _is_external(src) or (srcdoc and _scan_html(srcdoc, "", 1)):
                cuts.append(whole)
                removed.append(f"<iframe src={_short(src) or '(srcdoc)'}>")
                continue
        loads = _attr_loads(element)
        if loads and element.name in _VOID_ELEMENTS:
            cuts.append((element.start, element.tag_end, ""))
            removed.append(f"<{element.name} {loads[0][1]}={_short(loads[0][2])}>")
            continue
        for attr, label, url in loads:
            cuts.append((attr.start, attr.end, ""))
            removed.append(f"{label}={_short(url)}")
        style = element.get("style")
        if style and _scan_text(style, ""):
            for attr in element.attrs:
                if attr.name == "style":
                    cuts.append((attr.start, attr.end, ""))
                    removed.append(f"<{element.name} style> with remote url()")
        if element.name == "style" and element.content and _scan_text(element.content, ""):
            body_start = element.tag_end
            body_end = body_start + len(element.content)
            cuts.append((body_start, body_end, _css_neutralised(element.content)))
            removed.append("remote url()/@import in <style>")

    if not cuts:
        return html_text, removed
    parts: list[str] = []
    pos = 0
    for start, end, replacement in sorted(set(cuts)):
        if start < pos:  # overlapping cut (attribute of an element already cut)
            continue
        parts.append(html_text[pos:start])
        parts.append(replacement)
        pos = end
    parts.append(html_text[pos:])
    return "".join(parts), removed
