"""Test data: valid identifiers, traceable names, reproducible with a seed."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import phonenumbers
import pytest

from golive.identity import identity
from golive.scenario.data import DataFactory

RUN_ID = "20260610T120000Z-ab12"
SAMPLES = 200


@pytest.fixture
def factory() -> DataFactory:
    return DataFactory(RUN_ID, seed=1234)


def test_generated_phones_are_valid_brazilian_mobiles_in_e164(factory: DataFactory) -> None:
    for _ in range(SAMPLES):
        phone = factory.br_mobile()

        assert re.fullmatch(r"\+55[1-9][0-9]9[0-9]{8}", phone), phone
        number = phonenumbers.parse(phone, None)
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.region_code_for_number(number) == "BR"
        assert phonenumbers.number_type(number) in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        ), phone
        assert phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) == phone


def test_generated_phones_are_accepted_as_whatsapp_identities(factory: DataFactory) -> None:
    for _ in range(SAMPLES):
        phone = factory.br_mobile()

        assert identity("WHATSAPP", phone).key == f"whatsapp:{phone}"
        assert identity("WHATSAPP", phone.lstrip("+")).key == f"whatsapp:{phone}"  # as a wa_id


def test_generated_igsids_are_17_digits_and_valid_identities(factory: DataFactory) -> None:
    for _ in range(SAMPLES):
        igsid = factory.igsid()

        assert re.fullmatch(r"[0-9]{17}", igsid), igsid
        assert identity("INSTAGRAM", igsid).key == f"instagram:{igsid}"


def test_generated_ids_do_not_repeat_within_a_run(factory: DataFactory) -> None:
    igsids = {factory.igsid() for _ in range(SAMPLES)}
    phones = {factory.br_mobile() for _ in range(SAMPLES)}
    chatwoot_ids = {factory.chatwoot_id() for _ in range(SAMPLES)}

    assert len(igsids) == SAMPLES
    assert len(phones) >= SAMPLES - 2  # 10 area codes x 4·10^7 numbers: a clash is rare
    assert len(chatwoot_ids) == SAMPLES


def test_chatwoot_ids_are_far_above_real_staging_ids(factory: DataFactory) -> None:
    for _ in range(SAMPLES):
        value = factory.chatwoot_id()

        assert isinstance(value, int)
        assert 800_000_000 <= value < 2**31  # fits a Postgres integer column


def test_every_name_carries_the_run_id(factory: DataFactory) -> None:
    people = [
        factory.instagram_person(),
        factory.whatsapp_person(),
        factory.person_on_both_channels(),
    ]
    names = [factory.name() for _ in range(20)] + [p.name for p in people]

    for name in names:
        assert RUN_ID in name
        assert name.replace(f"[golive {RUN_ID}]", "").strip()  # and a real-looking name


def test_an_instagram_person_has_an_igsid_and_a_username_but_no_phone(
    factory: DataFactory,
) -> None:
    person = factory.instagram_person()

    assert person.phone is None
    assert person.igsid is not None and re.fullmatch(r"[0-9]{17}", person.igsid)
    assert person.instagram_username
    assert " " not in person.instagram_username


def test_a_whatsapp_person_has_a_phone_but_no_igsid(factory: DataFactory) -> None:
    person = factory.whatsapp_person()

    assert person.igsid is None
    assert person.phone is not None
    assert identity("WHATSAPP", person.phone).external_id == person.phone


def test_a_person_on_both_channels_has_both_ids(factory: DataFactory) -> None:
    person = factory.person_on_both_channels()

    assert person.phone is not None and person.igsid is not None
    assert identity("WHATSAPP", person.phone).key.startswith("whatsapp:+55")
    assert identity("INSTAGRAM", person.igsid).key == f"instagram:{person.igsid}"


def _sequence(factory: DataFactory) -> list[object]:
    return [
        factory.name(),
        factory.igsid(),
        factory.br_mobile(),
        factory.chatwoot_id(),
        factory.instagram_person(),
        factory.whatsapp_person(),
        factory.person_on_both_channels(),
    ]


def test_a_seeded_factory_is_deterministic() -> None:
    assert _sequence(DataFactory(RUN_ID, seed=42)) == _sequence(DataFactory(RUN_ID, seed=42))


def test_different_seeds_give_different_data() -> None:
    assert _sequence(DataFactory(RUN_ID, seed=42)) != _sequence(DataFactory(RUN_ID, seed=43))


def test_unseeded_factories_differ() -> None:
    first, second = DataFactory(RUN_ID), DataFactory(RUN_ID)

    assert [first.igsid() for _ in range(3)] != [second.igsid() for _ in range(3)]


def test_the_factory_is_safe_to_share_between_threads(factory: DataFactory) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda _: factory.chatwoot_id(), range(400)))
        phones = list(pool.map(lambda _: factory.br_mobile(), range(100)))

    assert len(set(ids)) == 400
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p, None)) for p in phones)


def test_names_are_unique_within_a_run(factory: DataFactory) -> None:
    names = [factory.name() for _ in range(500)]

    assert len(set(names)) == 500  # checks find people by name: two alike would merge them
