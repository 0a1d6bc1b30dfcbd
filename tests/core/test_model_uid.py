"""make_uid is uuid5 of "platform|instance|kind|native_id" (instance lower-cased), whatever it caches."""

from __future__ import annotations

import random
import uuid

from runtrack.model import UID_NAMESPACE, make_uid


def test_make_uid_is_uuid5_of_the_documented_name() -> None:
    rng = random.Random(4)
    alphabet = "abcXYZ019|-_.é😀 "
    for _ in range(2000):
        parts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(4)]
        platform, instance, kind, native_id = parts
        expected = str(uuid.uuid5(UID_NAMESPACE, f"{platform}|{instance.lower()}|{kind}|{native_id}"))
        assert make_uid(platform, instance, kind, native_id) == expected


def test_the_same_instance_in_another_case_gives_the_same_uid() -> None:
    assert make_uid("p", "Host.Example", "run", "1") == make_uid("p", "host.example", "run", "1")
