"""The CRM's web app through a real browser: Playwright's sync API driving Chromium.

Which Chromium: `GOLIVE_BROWSER` when set (a path, or `playwright` for Playwright's own), else
the system's (Debian's `/usr/bin/chromium`, installed by `make tools`), else Playwright's own
when `playwright install chromium` put one in place. Without any, `find_browser` says why and
the `@needs_ui` scenarios are skipped with that reason.

Evidence is recorded here and attached by the runtime's hooks, never by steps: each
`UiSession.capture` keeps a full-page screenshot, and the session's Playwright trace starts
after the login (the password is typed before anything is recorded). A page that shows a
secret the run knows is never captured; the trace is rewritten through the redactor.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from golive.secrets import REDACTOR, Secret, secret_forms

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize

BROWSER_ENV = "GOLIVE_BROWSER"
SYSTEM_CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
VIEWPORT_WIDTH, VIEWPORT_HEIGHT = 1440, 900


@dataclass(frozen=True)
class BrowserChoice:
    executable: str | None  # None: Playwright's own Chromium
    label: str


def find_browser(env: Mapping[str, str] | None = None) -> BrowserChoice | str:
    """The Chromium to drive, or why there is none (a sentence for a skip reason)."""
    env = os.environ if env is None else env
    try:
        import playwright.sync_api  # noqa: F401 - only whether it is installed
    except ImportError:
        return "the Python package playwright is not installed (`make install` installs the ui extra)"
    configured = env.get(BROWSER_ENV, "").strip()
    if configured == "playwright":
        return _playwright_own() or f"{BROWSER_ENV}=playwright but Playwright has no Chromium installed"
    if configured:
        if os.access(configured, os.X_OK):
            return BrowserChoice(configured, f"{configured} ({BROWSER_ENV})")
        return f"{BROWSER_ENV}={configured} is not an executable file"
    for path in SYSTEM_CHROMIUM:
        if os.access(path, os.X_OK):
            return BrowserChoice(path, f"system Chromium {path}")
    return _playwright_own() or (
        "no Chromium: install Debian's chromium (`make tools` does it as root), run "
        f"`playwright install chromium`, or set {BROWSER_ENV} to a Chromium binary"
    )


@cache
def default_browser() -> BrowserChoice | str:
    """`find_browser` for this process's environment, looked up once."""
    return find_browser()


@cache
def _playwright_own() -> BrowserChoice | None:
    from playwright.sync_api import Error, sync_playwright

    try:
        with sync_playwright() as pw:
            path = pw.chromium.executable_path
    except Error:
        return None
    return BrowserChoice(None, f"Playwright's Chromium {path}") if Path(path).is_file() else None


def secrets_in(text: str) -> list[str]:
    """Names of the known secrets that appear in `text`, in any form evidence could show."""
    return sorted(
        {name for value, name in REDACTOR.known().items() if any(f in text for f in secret_forms(value))}
    )


def redact_zip(path: Path) -> list[str]:
    """Rewrite a zip (a Playwright trace) with every text member redacted; the secret names found."""
    found: set[str] = set()
    rewritten = path.with_suffix(".redacted.zip")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as dest:
        for info in source.infolist():
            data = source.read(info)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                dest.writestr(info, data)
                continue
            clean = REDACTOR.redact(text)
            if clean != text:
                found.update(secrets_in(text))
            dest.writestr(info, clean.encode("utf-8"))
    rewritten.replace(path)
    return sorted(found)


@dataclass(frozen=True)
class Capture:
    name: str
    png: bytes


class WebUi:
    """One browser for the whole test session (started on first use); a context per scenario."""

    def __init__(self, choice: BrowserChoice) -> None:
        self.choice = choice
        self.launch_s: float | None = None
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None

    def _started(self) -> Browser:
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            began = time.monotonic()
            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=self.choice.executable, headless=True
            )
            self.launch_s = time.monotonic() - began
        return self._browser

    def session(self, *, organisation: str, base_url: str, timeout_s: float) -> UiSession:
        return UiSession(self._started(), organisation=organisation, base_url=base_url, timeout_s=timeout_s)

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        self._browser = self._playwright = None


class UiSession:
    """One scenario's browser context: login, pages, captures and the trace."""

    def __init__(self, browser: Browser, *, organisation: str, base_url: str, timeout_s: float) -> None:
        self.organisation = organisation
        self.base_url = base_url.rstrip("/")
        viewport: ViewportSize = {"width": VIEWPORT_WIDTH, "height": VIEWPORT_HEIGHT}
        self.context: BrowserContext = browser.new_context(
            base_url=self.base_url, viewport=viewport, locale="pt-BR", timezone_id="America/Sao_Paulo"
        )
        self.context.set_default_timeout(timeout_s * 1000)
        self.page: Page = self.context.new_page()
        self.started = time.monotonic()
        self._captures: list[Capture] = []
        self._folder = Path(tempfile.mkdtemp(prefix="golive-ui-"))
        self._tracing = False
        self._closed = False
        self.trace_redactions: list[str] = []

    def start_trace(self, title: str) -> None:
        """Record from now on (call after the login: the password is never in the trace)."""
        for cookie in self.context.cookies():
            value = str(cookie.get("value") or "")
            REDACTOR.register(Secret(f"session cookie {cookie.get('name')}", value))
        self.context.tracing.start(title=title, screenshots=True, snapshots=True, sources=False)
        self._tracing = True

    def capture(self, name: str) -> None:
        """A full-page screenshot of what is on screen, unless the page shows a secret."""
        shown = secrets_in(self.page.content())
        if shown:
            raise AssertionError(
                f"the page {self.page.url} shows the secret(s) {', '.join(shown)} in clear; "
                "no screenshot was kept"
            )
        self._captures.append(Capture(name, self.page.screenshot(full_page=True)))

    def capture_failure(self) -> str:
        """The screen as the failing step left it; '' when kept, else why not."""
        if self._closed:
            return "the browser session is closed"
        try:
            self.capture("screen when the step failed")
        except AssertionError as exc:
            return str(exc)
        except Exception as exc:  # a failing page must not hide the step's own failure
            return f"no screenshot: {type(exc).__name__}"
        return ""

    def drain(self) -> list[Capture]:
        taken, self._captures = self._captures, []
        return taken

    def finish(self) -> Path | None:
        """Stop recording and close the context; the redacted trace, if one was recorded."""
        if self._closed:
            return None
        self._closed = True
        trace: Path | None = None
        if self._tracing:
            trace = self._folder / "trace.zip"
            self.context.tracing.stop(path=str(trace))
            self.trace_redactions = redact_zip(trace)
        self.context.close()
        return trace

    def discard(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)
