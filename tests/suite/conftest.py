"""Shared by the tests that run the BDD suite itself: one sandbox for all of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from golive.runtime.sandbox_process import SandboxHandle, start

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    handle = start()
    yield handle
    handle.stop()
