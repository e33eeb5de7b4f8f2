"""Fixtures of the evidence tests (the fakes themselves live in evidence_fakes.py)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from evidence_fakes import EXAMPLE_ATTESTATIONS, ORG, OTHER_ORG, RUN_ID, FakeRun

from golive.evidence.attestations import AttestationFile, load_attestations


@pytest.fixture
def example_attestations() -> AttestationFile:
    return load_attestations(EXAMPLE_ATTESTATIONS)


@pytest.fixture
def fake_run(tmp_path: Path) -> Callable[..., FakeRun]:
    """Factory: a run folder with ORG (clean unless told otherwise) and OTHER_ORG."""

    def make(**org_options: Any) -> FakeRun:
        run = FakeRun(tmp_path / "reports" / RUN_ID)
        run.root.mkdir(parents=True)
        run.add_org(ORG, **org_options)
        run.add_org(OTHER_ORG)
        run.write_junit()
        return run

    return make


@pytest.fixture
def node_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """generate_report looks for node; the fake CLI does not need it."""
    real_which = shutil.which

    def which(name: str, *args: Any, **kwargs: Any) -> str | None:
        found = real_which(name, *args, **kwargs)
        return (found or "/usr/bin/node") if name == "node" else found

    monkeypatch.setattr(shutil, "which", which)


@pytest.fixture
def no_node(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine without Node.js."""
    real_which = shutil.which

    def which(name: str, *args: Any, **kwargs: Any) -> str | None:
        return None if name in ("node", "npm") else real_which(name, *args, **kwargs)

    monkeypatch.setattr(shutil, "which", which)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An evidence folder of an organisation with a text file, a nested one and a binary one."""
    root = tmp_path / "evidence" / "org"
    (root / "sql").mkdir(parents=True)
    (root / "dossier.md").write_text("# dossier\n", encoding="utf-8")
    (root / "sql" / "1_conversation_links.json").write_text("[]\n", encoding="utf-8")
    (root / "blob.bin").write_bytes(bytes(range(256)))
    return root
