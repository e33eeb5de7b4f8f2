"""Offline, tracker-free single-file HTML report built with Allure 3.

Three jobs:

* **Tooling.** The Allure 3 CLI (npm package ``allure``) lives in a project-local,
  git-ignored folder, ``.golive/tools/allure/``. :func:`install_allure` installs a
  pinned version there with npm (no lockfile is written, second call is a no-op);
  :func:`find_allure_cli` only looks, so a test run never touches the network.
  ``python -m golive.evidence.html_report install`` is the Makefile entry point.
* **Generation.** :func:`generate_report` runs ``allure generate`` with a config
  file written to a temporary folder (awesome plugin, ``singleFile: true``,
  per-organisation ``historyPath`` JSONL) and copies the single ``index.html``
  into the caller's folder. It never raises for a missing tool or a failed
  generation: the outcome carries a warning and the raw results stay where they are.
* **Sanitising.** Allure 3.18 hard-codes Google Tag Manager in the awesome
  template (``analyticsEnable: true``, no opt-out). :func:`strip_external_resources`
  removes it and anything else that would make the report load a remote resource,
  and :func:`find_external_references` proves that nothing of the kind is left.

Everything here is standard library only.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

__all__ = [
    "ALLURE_VERSION",
    "DEFAULT_TOOLS_DIR",
    "GENERATE_TIMEOUT_S",
    "REPORT_HTML_NAME",
    "AllureInstallError",
    "ReportOutcome",
    "allure_cli_path",
    "embedded_report_files",
    "find_allure_cli",
    "find_external_links",
    "find_external_references",
    "generate_report",
    "install_allure",
    "installed_allure_version",
    "main",
    "strip_external_resources",
]

#: The Allure 3 release this project is verified against (npm package ``allure``).
ALLURE_VERSION = "3.18.0"
#: Where the CLI is installed, relative to the project root (git-ignored ``.golive/``).
DEFAULT_TOOLS_DIR = Path(".golive") / "tools" / "allure"
#: Upper bound for one ``allure generate`` (a small report takes about 1-2 s).
GENERATE_TIMEOUT_S = 120.0
#: Upper bound for one ``npm install`` of the CLI (about 10 s with a cold npm cache).
INSTALL_TIMEOUT_S = 600.0
#: File name of the report inside ``output_dir``.
REPORT_HTML_NAME = "index.html"

_MAX_DETAIL = 200  # characters of a URL / message kept in findings and warnings


# --------------------------------------------------------------------------- tooling


class AllureInstallError(RuntimeError):
    """``npm install`` of the Allure CLI failed (registry unreachable, bad version…)."""


def allure_cli_path(tools_dir: Path) -> Path:
    """Path of the CLI entry point npm creates under ``tools_dir``."""
    return tools_dir / "node_modules" / ".bin" / "allure"


def installed_allure_version(tools_dir: Path) -> str | None:
    """Version of the ``allure`` package installed under ``tools_dir``, or None."""
    manifest = tools_dir / "node_modules" / "allure" / "package.json"
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    version = data.get("version") if isinstance(data, dict) else None
    return version if isinstance(version, str) else None


def find_allure_cli(tools_dir: Path, *, version: str | None = ALLURE_VERSION) -> Path | None:
    """The installed CLI, or None; never installs. ``version=None`` accepts any version."""
    cli = allure_cli_path(tools_dir)
    installed = installed_allure_version(tools_dir)
    if installed is None or not cli.exists():
        return None
    if version is not None and installed != version:
        return None
    return cli


def _remove_lockfiles(tools_dir: Path) -> None:
    # npm still writes its "hidden lockfile" under node_modules even with
    # --no-package-lock; like any lockfile it records download addresses.
    for lockfile in (
        tools_dir / "package-lock.json",
        tools_dir / "node_modules" / ".package-lock.json",
    ):
        lockfile.unlink(missing_ok=True)


def install_allure(
    tools_dir: Path,
    *,
    version: str = ALLURE_VERSION,
    timeout_s: float = INSTALL_TIMEOUT_S,
) -> Path | None:
    """Install ``allure@version`` under ``tools_dir`` with npm; return the CLI path.

    Returns None when ``node`` or ``npm`` is not on PATH (the caller warns).
    Idempotent: when that exact version is already installed, nothing runs.
    No ``package.json`` and no lockfile are written (``--no-save``,
    ``--no-package-lock``; npm's hidden ``node_modules/.package-lock.json`` is
    deleted afterwards).

    Raises:
        AllureInstallError: npm ran but failed, timed out, or installed another version.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return None
    cli = find_allure_cli(tools_dir, version=version)
    if cli is not None:
        return cli
    tools_dir.mkdir(parents=True, exist_ok=True)
    command = [
        npm,
        "install",
        "--no-save",
        "--no-package-lock",
        "--no-audit",
        "--no-fund",
        "--prefix",
        str(tools_dir),
        f"allure@{version}",
    ]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AllureInstallError(f"npm install allure@{version} timed out after {timeout_s:.0f} s") from exc
    finally:
        _remove_lockfiles(tools_dir)
    if proc.returncode != 0:
        raise AllureInstallError(
            f"npm install allure@{version} failed (exit {proc.returncode}): "
            f"{_tail(proc.stderr or proc.stdout)}"
        )
    cli = find_allure_cli(tools_dir, version=version)
    if cli is None:
        found = installed_allure_version(tools_dir)
        raise AllureInstallError(
            f"npm install allure@{version} finished but {allure_cli_path(tools_dir)} "
            f"is missing or reports version {found!r}"
        )
    return cli


# --------------------------------------------------------------------------- generation


@dataclass(frozen=True)
class ReportOutcome:
    """What :func:`generate_report` produced.

    ``html`` is the sanitised single-file report, or None when none could be made
    (the raw Allure results are then the evidence). ``warnings`` are meant for the
    run's console/log; ``stripped`` lists what was removed from Allure's output.
    """

    html: Path | None
    warnings: list[str] = field(default_factory=list)
    stripped: list[str] = field(default_factory=list)


def _tail(text: str, limit: int = 400) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else "…" + text[-limit:]


def _cli_command(node: str, allure_cli: Path) -> list[str]:
    """Run JS entry points through the ``node`` found on PATH, anything else directly."""
    target = allure_cli.resolve()
    if target.suffix in {".js", ".mjs", ".cjs"}:
        return [node, str(target)]
    try:
        with target.open("rb") as fh:
            first_line = fh.readline(200)
    except OSError:
        return [str(allure_cli)]
    if first_line.startswith(b"#!") and b"node" in first_line:
        return [node, str(target)]
    return [str(allure_cli)]


def _run_with_timeout(command: list[str], *, cwd: Path, timeout_s: float) -> tuple[int | None, str]:
    """Run ``command``; return (exit code or None on timeout, combined output)."""
    env = dict(os.environ, NO_COLOR="1", FORCE_COLOR="0")
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        if hasattr(os, "killpg"):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - not POSIX
            proc.kill()
        out, _ = proc.communicate()
        return None, out or ""
    return proc.returncode, out or ""


def generate_report(
    results_dir: Path,
    output_dir: Path,
    *,
    report_name: str,
    history_file: Path,
    allure_cli: Path | None,
    timeout_s: float = GENERATE_TIMEOUT_S,
    history_limit: int | None = None,
) -> ReportOutcome:
    """Build ``output_dir/index.html`` from ``results_dir`` with Allure 3, then sanitise it.

    ``history_file`` is the organisation's history JSONL; Allure appends one line
    per generation, so the caller keeps that file across runs. Allure writes into
    a temporary staging folder (it may clean its output folder), and only the
    sanitised ``index.html`` plus Allure's small ``summary.json`` are copied into
    ``output_dir``.

    Never raises because of the tool: a missing CLI or ``node``, a non-zero exit,
    a timeout, or tracker code that could not be removed all give
    ``ReportOutcome(html=None, warnings=[…])``.
    """
    kept = f"raw Allure results are kept in {results_dir}"

    def failed(reason: str) -> ReportOutcome:
        return ReportOutcome(html=None, warnings=[f"HTML report not generated: {reason}; {kept}"])

    if allure_cli is None:
        return failed(
            "the Allure 3 CLI is not installed "
            f"(run `python -m golive.evidence.html_report install`, it goes to {DEFAULT_TOOLS_DIR})"
        )
    node = shutil.which("node")
    if node is None:
        return failed("`node` is not on PATH (Allure 3 needs Node.js)")
    if not allure_cli.exists():
        return failed(f"the Allure CLI {allure_cli} does not exist")
    if not results_dir.is_dir():
        return failed(f"the results folder {results_dir} does not exist")

    try:
        history_file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return failed(f"cannot create the history folder ({exc})")

    with tempfile.TemporaryDirectory(prefix="golive-allure-") as tmp:
        work = Path(tmp)
        staging = work / "report"
        config: dict[str, object] = {
            "name": report_name,
            "output": str(staging),
            "historyPath": str(history_file.resolve()),
            "plugins": {
                "awesome": {"options": {"singleFile": True, "reportLanguage": "en"}},
            },
        }
        if history_limit is not None:
            config["historyLimit"] = history_limit
        config_file = work / "allurerc.json"
        config_file.write_text(json.dumps(config, indent=2), encoding="utf-8")

        command = [
            *_cli_command(node, allure_cli),
            "generate",
            "--config",
            str(config_file),
            "--output",
            str(staging),
            str(results_dir.resolve()),
        ]
        try:
            code, output = _run_with_timeout(command, cwd=work, timeout_s=timeout_s)
        except OSError as exc:
            return failed(f"cannot start the Allure CLI ({exc})")
        if code is None:
            return failed(f"`allure generate` timed out after {timeout_s:.0f} s")
        if code != 0:
            return failed(f"`allure generate` exited with {code}: {_tail(output)}")

        produced = staging / REPORT_HTML_NAME
        if not produced.is_file():
            return failed(f"`allure generate` wrote no {REPORT_HTML_NAME}: {_tail(output)}")

        try:
            raw = produced.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return failed(f"cannot read Allure's {REPORT_HTML_NAME} ({exc})")
        clean, stripped = strip_external_resources(raw)
        leftovers = find_external_references(clean, include_embedded=False)
        if leftovers:
            return failed(
                "Allure's HTML still references external resources after sanitising "
                f"({'; '.join(leftovers[:5])})"
            )
        warnings: list[str] = []
        in_evidence = _unique(_scan_embedded(clean))
        if in_evidence:
            warnings.append(
                "the report embeds test evidence that references external resources "
                f"(they load only if that attachment/description is opened): "
                f"{'; '.join(in_evidence[:5])}"
            )

        target = output_dir / REPORT_HTML_NAME
        try:
            output_dir.mkdir(parents=True, exist_ok=True)
            partial = output_dir / f".{REPORT_HTML_NAME}.partial"
            partial.write_text(clean, encoding="utf-8")
            partial.replace(target)
            summary = staging / "summary.json"
            if summary.is_file():
                shutil.copyfile(summary, output_dir / "summary.json")
        except OSError as exc:
            return failed(f"cannot write the report into {output_dir} ({exc})")
    return ReportOutcome(html=target, warnings=warnings, stripped=stripped)


# --------------------------------------------------------------------------- HTML scanning

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


def _scan_embedded(html_text: str) -> list[str]:
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
    return found


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
        found.extend(_scan_embedded(html_text))
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


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m golive.evidence.html_report {install,generate,check}``."""
    parser = argparse.ArgumentParser(
        prog="python -m golive.evidence.html_report",
        description="Allure 3 single-file HTML report: install the CLI, generate, check.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_install = sub.add_parser("install", help="install the pinned Allure 3 CLI with npm")
    p_install.add_argument("--tools-dir", type=Path, default=DEFAULT_TOOLS_DIR)
    p_install.add_argument("--version", default=ALLURE_VERSION)
    p_gen = sub.add_parser("generate", help="generate a sanitised single-file report")
    p_gen.add_argument("results_dir", type=Path)
    p_gen.add_argument("output_dir", type=Path)
    p_gen.add_argument("--name", default="golive")
    p_gen.add_argument("--history", type=Path, required=True, help="history JSONL file")
    p_gen.add_argument("--tools-dir", type=Path, default=DEFAULT_TOOLS_DIR)
    p_check = sub.add_parser("check", help="list external references of an HTML file")
    p_check.add_argument("html_file", type=Path)
    args = parser.parse_args(argv)

    if args.command == "install":
        tools_dir: Path = args.tools_dir
        version: str = args.version
        if shutil.which("node") is None or shutil.which("npm") is None:
            print(f"allure {version}: node/npm not found; HTML reports will be skipped")
            return 1
        if find_allure_cli(tools_dir, version=version) is not None:
            print(f"allure {version}: already installed in {tools_dir}")
            return 0
        print(f"allure {version}: installing into {tools_dir} …", end="", flush=True)
        started = time.monotonic()
        try:
            install_allure(tools_dir, version=version)
        except AllureInstallError as exc:
            print(f" failed: {exc}")
            return 1
        print(f" done in {time.monotonic() - started:.1f} s")
        return 0

    if args.command == "generate":
        outcome = generate_report(
            args.results_dir,
            args.output_dir,
            report_name=args.name,
            history_file=args.history,
            allure_cli=find_allure_cli(args.tools_dir, version=None),
        )
        for warning in outcome.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for item in outcome.stripped:
            print(f"stripped: {item}")
        if outcome.html is None:
            return 1
        print(outcome.html)
        return 0

    findings = find_external_references(args.html_file.read_text(encoding="utf-8"))
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
