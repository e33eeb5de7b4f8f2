"""Test data: fresh, realistic and traceable. Every person a run invents carries the run id
in its name, so whatever it leaves in a staging database can be found and explained."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import TypeVar

from faker import Faker

from golive.clients.ledger import run_tag
from golive.identity import e164

# Chatwoot ids the suite invents live far above what a staging account reaches, so an
# invented conversation can never collide with a real one.
_ID_FLOOR = 800_000_000


T = TypeVar("T")


def required(value: T | None, what: str) -> T:
    """`value`, or a precondition failure naming what is missing (never the string "None")."""
    if value is None:
        raise AssertionError(f"precondition: {what} is missing")
    return value


@dataclass(frozen=True)
class Person:
    """Someone who writes to the organisation: a display name and the ids channels know."""

    name: str
    phone: str | None = None  # E.164
    igsid: str | None = None
    instagram_username: str | None = None

    @property
    def whatsapp_id(self) -> str:
        """The phone in E.164: this person's WhatsApp external id."""
        return required(self.phone, f"the WhatsApp phone of {self.name!r}")

    @property
    def instagram_id(self) -> str:
        """The IGSID: this person's Instagram external id."""
        return required(self.igsid, f"the IGSID of {self.name!r}")


class DataFactory:
    def __init__(self, run_id: str, *, seed: int | None = None, first_number: int = 0) -> None:
        """`first_number`: where this process numbers its people from (each pytest-xdist worker
        of a run numbers its own, so two workers never invent the same name)."""
        self.run_id = run_id
        self._faker = Faker("pt_BR")
        self._random = random.Random(seed)
        if seed is not None:
            self._faker.seed_instance(seed)
        self._lock = threading.Lock()
        self._people = first_number

    def name(self) -> str:
        """A realistic name, unique within the run (the number): checks find people by name."""
        with self._lock:
            self._people += 1  # the number keeps two invented people of one run apart
            first, last = self._faker.first_name(), self._faker.last_name()
            return f"{first} {last} #{self._people} {run_tag(self.run_id)}"

    def igsid(self) -> str:
        with self._lock:
            return "1784" + "".join(str(self._random.randrange(10)) for _ in range(13))

    def br_mobile(self) -> str:
        """A valid Brazilian mobile in E.164 (13 digits, with the mobile 9)."""
        with self._lock:
            ddd = self._random.choice(["11", "21", "31", "41", "48", "51", "61", "71", "81", "85"])
            number = (
                "9"
                + str(self._random.randrange(6, 10))
                + "".join(str(self._random.randrange(10)) for _ in range(7))
            )
        return e164(f"+55{ddd}{number}")

    def chatwoot_id(self) -> int:
        with self._lock:
            return _ID_FLOOR + self._random.randrange(100_000_000)

    def instagram_person(self) -> Person:
        name = self.name()
        username = name.split(" ")[0].lower() + "." + str(self._random.randrange(1000, 9999))
        return Person(name=name, igsid=self.igsid(), instagram_username=username)

    def whatsapp_person(self) -> Person:
        return Person(name=self.name(), phone=self.br_mobile())

    def person_on_both_channels(self) -> Person:
        name = self.name()
        return Person(
            name=name,
            phone=self.br_mobile(),
            igsid=self.igsid(),
            instagram_username=name.split(" ")[0].lower(),
        )
