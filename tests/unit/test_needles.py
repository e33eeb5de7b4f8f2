"""`Needles`: which of many secret forms occur in a text, without searching each one."""

from __future__ import annotations

import random
import secrets as stdlib_secrets

from golive.secrets import Needles, Redactor, Secret, secret_forms


def _naive(needles: set[str], text: str) -> set[str]:
    return {n for n in needles if n in text}


def test_finds_exactly_what_a_search_of_each_string_finds_at_every_offset() -> None:
    rng = random.Random(7)
    needles = {stdlib_secrets.token_urlsafe(rng.randint(4, 40)) for _ in range(60)}
    index = Needles(needles)
    filler = "".join(rng.choice('abcdefXYZ019 {}":,') for _ in range(3000))
    for needle in sorted(needles):
        for offset in (0, 1, 16, 17, 18, len(filler)):
            text = filler[:offset] + needle + filler[offset:]
            assert index.present(text) == _naive(needles, text), (needle, offset)
    assert index.present(filler) == _naive(needles, filler)


def test_a_string_at_the_very_end_or_alone_is_found() -> None:
    needle = "ncrm_" + "a1b2c3d4" * 4
    index = Needles([needle])
    assert index.present(needle) == {needle}
    assert index.present("x" * 100 + needle) == {needle}
    assert index.present(needle[:-1]) == set()


def test_bytes_work_like_text() -> None:
    needle = b"redis://golive_reader:" + b"f" * 32 + b"@127.0.0.1:1234/3"
    index = Needles([needle, b"short-1"])
    assert index.present(b'{"url": "' + needle + b'"} short-1') == {needle, b"short-1"}


def test_the_redactor_with_hundreds_of_secrets_removes_every_form_of_each() -> None:
    redactor = Redactor()
    values = [stdlib_secrets.token_urlsafe(24) for _ in range(150)]
    redactor.register_all(Secret(f"S{i}", v) for i, v in enumerate(values))
    for value in values[::15]:
        for form in secret_forms(value):
            redacted = redactor.redact(f"before {form} after")
            assert form not in redacted
            assert "«redacted:S" in redacted
    assert redactor.find_leaks(f"x {values[3]} y {values[99]}") == ["S3", "S99"]
    assert redactor.redact("nothing secret here") == "nothing secret here"
