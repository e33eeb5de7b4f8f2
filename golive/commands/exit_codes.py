"""The exit code of `golive smoke`, which a CI job's status is: the verdict, not pytest's codes.

0  GO: every organisation's verdict is GO and every selected scenario passed
1  NO-GO, or a selected scenario failed (the nightly regression fails on any failure)
2  could not run or judge: a configuration error, an interrupted or unusable pytest run,
   nothing selected, or evidence that could not be built
3  a secret leaked into the evidence (the bundle was deleted)
"""

from __future__ import annotations

from collections.abc import Sequence

GO, NO_GO, ERROR, LEAK = 0, 1, 2, 3
_PYTEST_OK, _PYTEST_FAILED = 0, 1  # pytest: 2 interrupted, 3 internal error, 4 usage error
NOTHING_COLLECTED = 5  # pytest's code when no test was selected


def smoke_exit(test_codes: Sequence[int], evidence_code: int | None) -> int:
    """One code from every organisation's pytest exit code and the evidence's (None: not built)."""
    if evidence_code == LEAK:
        return LEAK
    if any(code not in (_PYTEST_OK, _PYTEST_FAILED) for code in test_codes) or evidence_code == ERROR:
        return ERROR
    failed = any(code == _PYTEST_FAILED for code in test_codes) or evidence_code == NO_GO
    return NO_GO if failed else GO
