"""UI evidence: the browser fixtures and the hooks that attach what the browser recorded.

Steps never attach anything: `golive.clients.browser.UiSession.capture` keeps screenshots,
these hooks attach them to the Allure step that took them (PNG), a screenshot of the screen
when a UI step fails, and the scenario's Playwright trace (redacted) when it ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import allure
import pytest

from golive.clients.browser import BrowserChoice, UiSession, WebUi, default_browser
from golive.organisation import Organisation

UI_SESSION = pytest.StashKey[UiSession]()
TRACE_TYPE = "application/vnd.allure.playwright-trace"
_STATS: dict[str, float] = {"scenarios": 0, "seconds": 0.0}


@pytest.fixture(scope="session")
def web_ui() -> Iterator[WebUi]:
    found = default_browser()
    if isinstance(found, str):  # @needs_ui scenarios are skipped before they get here
        pytest.skip(found)
    ui = WebUi(found)
    yield ui
    ui.close()


@pytest.fixture
def crm_ui(request: pytest.FixtureRequest, organisation: Organisation, web_ui: WebUi) -> Iterator[UiSession]:
    """A fresh browser context on the organisation's CRM web app (not logged in yet)."""
    session = web_ui.session(
        organisation=organisation.slug,
        base_url=organisation.ui_base_url or organisation.crm_base_url,
        timeout_s=organisation.timeout_s,
    )
    request.node.stash[UI_SESSION] = session
    yield session
    if web_ui.launch_s is not None:
        _STATS["launch_s"] = web_ui.launch_s
    session.finish()  # already done by the after-scenario hook, unless the scenario never ran
    session.discard()


def _attach_captures(session: UiSession) -> None:
    for capture in session.drain():
        allure.attach(capture.png, name=capture.name, attachment_type=allure.attachment_type.PNG)


@pytest.hookimpl(tryfirst=True)  # while the step's Allure entry is still open
def pytest_bdd_after_step(request: pytest.FixtureRequest, **_: Any) -> None:
    session = request.node.stash.get(UI_SESSION, None)
    if session is not None:
        _attach_captures(session)


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_step_error(request: pytest.FixtureRequest, **_: Any) -> None:
    session = request.node.stash.get(UI_SESSION, None)
    if session is None:
        return
    why_not = session.capture_failure()
    _attach_captures(session)
    if why_not:
        allure.attach(
            why_not, name="no screenshot of the failing step", attachment_type=allure.attachment_type.TEXT
        )


def pytest_bdd_after_scenario(request: pytest.FixtureRequest, **_: Any) -> None:
    session = request.node.stash.get(UI_SESSION, None)
    if session is None:
        return
    _attach_captures(session)
    trace = session.finish()
    if trace is not None:
        allure.attach.file(str(trace), name="Playwright trace", attachment_type=TRACE_TYPE, extension="zip")
    unexpected = [name for name in session.trace_redactions if not name.startswith("session cookie")]
    if unexpected:  # the session cookie is in every trace's network log; anything else is news
        allure.attach(
            f"redacted from the trace: {', '.join(unexpected)}",
            name="trace redactions",
            attachment_type=allure.attachment_type.TEXT,
        )
    _STATS["scenarios"] += 1
    _STATS["seconds"] += time.monotonic() - session.started


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _STATS["scenarios"]:
        return
    found = default_browser()
    label = found.label if isinstance(found, BrowserChoice) else found
    launch = f", started in {_STATS['launch_s']:.1f}s" if "launch_s" in _STATS else ""
    terminalreporter.write_line(
        f"golive UI: {label}{launch}; {int(_STATS['scenarios'])} UI scenario(s), "
        f"{_STATS['seconds']:.1f}s in the browser"
    )
