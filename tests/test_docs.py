"""The README documents what the project ships: every fault profile, both commands, every
runbook variable."""

from __future__ import annotations

from pathlib import Path

from golive.sandbox.faults import CATALOGUE
from golive.settings import SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_readme_documents_every_fault_profile() -> None:
    undocumented = [f.name for f in CATALOGUE if f"`{f.name}`" not in README]
    assert undocumented == []


def test_the_readme_opens_with_the_two_commands() -> None:
    head = README[: README.index("## Running against a real staging")]
    assert "make smoke" in head and "make test" in head


def test_the_architecture_section_names_every_room() -> None:
    golive = Path(__file__).resolve().parents[1] / "golive"
    rooms = sorted(p.name for p in golive.iterdir() if (p / "__init__.py").is_file())
    section = README[README.index("## Architecture") : README.index("## Performance")]
    assert [room for room in rooms if f"{room}/" not in section] == []


def test_the_readme_lists_every_runbook_variable() -> None:
    table = README[README.index("| variable | required | profile key | what |") :]
    undocumented = [s.runbook_env for s in SETTINGS if f"| `{s.runbook_env}` |" not in table]
    assert undocumented == []
