"""Which browser drives the UI scenarios, and what never reaches their evidence."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from golive.clients.browser import BROWSER_ENV, BrowserChoice, find_browser, redact_zip, secrets_in
from golive.secrets import REDACTOR, Secret


def test_a_configured_browser_wins(tmp_path: Path) -> None:
    binary = tmp_path / "chromium"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)

    assert find_browser({BROWSER_ENV: str(binary)}) == BrowserChoice(str(binary), f"{binary} ({BROWSER_ENV})")


def test_a_configured_browser_that_is_not_there_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    found = find_browser({BROWSER_ENV: str(tmp_path / "nope")})

    assert isinstance(found, str) and "is not an executable file" in found


def test_without_a_configured_browser_the_system_chromium_is_used_when_present(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("golive.clients.browser.os.access", lambda path, mode: path == "/usr/bin/chromium")

    found = find_browser({})

    assert isinstance(found, BrowserChoice) and found.executable == "/usr/bin/chromium"


def test_a_page_showing_a_known_secret_in_any_form_is_named() -> None:
    REDACTOR.register(Secret("UI_TEST_TOKEN", "tok-Zx81-QqW0plm"))

    assert secrets_in("<td>tok-Zx81-QqW0plm</td>") == ["UI_TEST_TOKEN"]
    assert secrets_in("<a href='?t=tok-Zx81-QqW0plm'>") == ["UI_TEST_TOKEN"]
    assert secrets_in("<td>configurado</td>") == []


def test_a_trace_is_rewritten_without_the_secrets_it_recorded(tmp_path: Path) -> None:
    REDACTOR.register(Secret("UI_TEST_COOKIE", "cookie-0a9Xk2LmQ7"))
    trace = tmp_path / "trace.zip"
    with zipfile.ZipFile(trace, "w") as zf:
        zf.writestr("trace.network", '{"headers": [{"name": "cookie", "value": "sb=cookie-0a9Xk2LmQ7"}]}')
        zf.writestr("resources/shot.jpeg", b"\xff\xd8\xff binary")

    found = redact_zip(trace)

    assert found == ["UI_TEST_COOKIE"]
    with zipfile.ZipFile(trace) as zf:
        assert "cookie-0a9Xk2LmQ7" not in zf.read("trace.network").decode()
        assert zf.read("resources/shot.jpeg") == b"\xff\xd8\xff binary"
