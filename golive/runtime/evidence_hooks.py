"""HTTP exchanges and SQL results as evidence, redacted by value before they are written."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import allure

from golive.clients.http import Exchange
from golive.clients.sql import SqlVerifier
from golive.secrets import REDACTOR


def exchanges_json(exchanges: Sequence[Exchange]) -> str:
    return REDACTOR.redact(json.dumps([e.as_dict() for e in exchanges], indent=2, ensure_ascii=False))


def attach_exchanges(exchanges: Sequence[Exchange], title: str) -> None:
    if exchanges:
        allure.attach(
            exchanges_json(exchanges),
            name=f"{title} ({len(exchanges)})",
            attachment_type=allure.attachment_type.JSON,
        )


def sql_evidence(sql: SqlVerifier) -> dict[str, object]:
    return {
        "verification_queries": sql.verification_results(),
        "consistency_problems": sql.consistency_problems(),
    }


def attach_sql_evidence(sql: SqlVerifier) -> dict[str, object]:
    evidence = sql_evidence(sql)
    for name, rows in evidence["verification_queries"].items():  # type: ignore[attr-defined]
        allure.attach(
            REDACTOR.redact(json.dumps(rows, indent=2, default=str)),
            name=f"SQL {name}",
            attachment_type=allure.attachment_type.JSON,
        )
    return evidence


def write_sql_evidence(path: Path, sql: SqlVerifier) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(REDACTOR.redact(json.dumps(sql_evidence(sql), indent=2, default=str)), encoding="utf-8")
