"""Deterministic building blocks for seeded fake data: hashes, ids, timestamps and text."""

from __future__ import annotations

import random
import time
from hashlib import blake2b

#: Anchor of every fake clock (2025-09-01T12:00:00Z, in microseconds): seeded data lies before it,
#: objects created at run time get times after it. Wall-clock time is used only for JWT expiry.
EPOCH_US = 1_756_728_000 * 1_000_000
DAY_US = 86_400 * 1_000_000


def digest(prefix: bytes, *parts: int | str, size: int = 32) -> bytes:
    """``size`` (<= 64) pseudo-random bytes, a pure function of ``prefix`` and ``parts``."""
    return blake2b(prefix + "|".join(map(str, parts)).encode(), digest_size=size).digest()


def u32(d: bytes, i: int) -> int:
    """The ``i``-th 32-bit unsigned integer in digest ``d`` (0 <= i < 8)."""
    return int.from_bytes(d[4 * i : 4 * i + 4], "big")


def uuid4(d: bytes, offset: int = 0) -> str:
    """A version-4 UUID string from 16 bytes of ``d`` starting at ``offset``."""
    h = d[offset : offset + 16].hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


def uuid7(ms: int, d: bytes, offset: int = 0) -> str:
    """A version-7 UUID string: ``ms`` unix milliseconds, then random bits from ``d``."""
    t = f"{ms & 0xFFFFFFFFFFFF:012x}"
    h = d[offset : offset + 10].hex()
    return f"{t[:8]}-{t[8:12]}-7{h[1:4]}-{'89ab'[int(h[4], 16) & 3]}{h[5:8]}-{h[8:20]}"


_DAYS: dict[int, str] = {}
_HMS: list[str] = []


def _hms() -> list[str]:
    if not _HMS:
        # built whole, then put in place in one step: another thread must never see a half-filled table
        _HMS[:] = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
    return _HMS


def _day(day: int) -> str:
    text = _DAYS.get(day)
    if text is None:
        text = _DAYS[day] = time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))
    return text


def iso_naive(us: int) -> str:
    """``2025-05-08T17:42:03.118204``: naive UTC with microseconds (LangSmith)."""
    s, f = divmod(us, 1_000_000)
    day, sod = divmod(s, 86_400)
    return f"{_DAYS.get(day) or _day(day)}T{(_HMS or _hms())[sod]}.{f:06d}"


def iso_z(us: int, digits: int = 6) -> str:
    """``2025-05-08T17:42:03.118204Z`` (6 digits, Label Studio) or ``...03.118Z`` (3 digits, Foundry)."""
    naive = iso_naive(us)
    return f"{naive[: len(naive) - 6 + digits]}Z"


def iso_offset(us: int, hours: int) -> str:
    """The same instant written with a ``+HH:00`` offset, e.g. ``2025-05-08T19:42:03.118+02:00``."""
    s, f = divmod(us, 1_000_000)
    local = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s + hours * 3600))
    return f"{local}.{f // 1000:03d}{'+' if hours >= 0 else '-'}{abs(hours):02d}:00"


def weighted(value: int, table: tuple[tuple[str, int], ...]) -> str:
    """Pick from ``(name, weight)`` pairs with ``value`` in ``[0, sum(weights))``."""
    for name, weight in table:
        if value < weight:
            return name
        value -= weight
    return table[-1][0]


WORDS = (
    "account",
    "password",
    "reset",
    "invoice",
    "billing",
    "refund",
    "order",
    "shipping",
    "delivery",
    "address",
    "payment",
    "card",
    "plan",
    "upgrade",
    "downgrade",
    "cancel",
    "subscription",
    "login",
    "email",
    "verify",
    "token",
    "session",
    "export",
    "report",
    "dashboard",
    "project",
    "workspace",
    "member",
    "invite",
    "permission",
    "role",
    "admin",
    "settings",
    "security",
    "device",
    "browser",
    "mobile",
    "notification",
    "webhook",
    "integration",
    "api",
    "limit",
    "quota",
    "usage",
    "storage",
    "backup",
    "restore",
    "sync",
    "error",
    "timeout",
    "latency",
    "region",
    "language",
    "currency",
    "tax",
    "receipt",
    "discount",
    "coupon",
    "trial",
    "renewal",
    "contract",
    "support",
    "agent",
    "ticket",
    "escalation",
    "priority",
    "customer",
    "feedback",
    "survey",
    "rating",
    "review",
    "answer",
    "question",
    "policy",
    "privacy",
)

ACCENTED = ("café", "naïve", "résumé", "Zürich", "São Paulo", "→", "—", "€", "✓", "日本")


class TextPool:
    """Seeded pseudo-English for realistic payloads."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def sentence(self, lo: int = 6, hi: int = 16) -> str:
        """One sentence; now and then with a non-ASCII word."""
        rng = self.rng
        words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), rng.choice(ACCENTED))
        return " ".join(words).capitalize() + rng.choice((".", ".", ".", "?", "!"))

    def paragraph(self, chars: int) -> str:
        """Sentences until about ``chars`` characters."""
        out: list[str] = []
        size = 0
        while size < chars:
            s = self.sentence()
            out.append(s)
            size += len(s) + 1
        return " ".join(out)
