"""Every id a listing has delivered: in a set while the listing is small, then in about 16 bytes each."""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Hashable

__all__ = ["SeenIds"]

#: ids kept in a plain set before the first compaction (about 9 MB of set at most, and the fastest lookups)
_SET_IDS = 1 << 17
#: bits of the membership filter per compacted id (a new id passes it with probability 1 - e^(-1/16) ≈ 6%)
_BITS_PER_ID = 16


class SeenIds:
    """A set of 64-bit hashes of ids.

    The latest ids are a plain ``set``. When it holds more than :data:`_SET_IDS` ids and more than an eighth of
    all, it is compacted into a sorted ``array('q')`` (8 bytes per id), behind a bitmap filter (2 bytes per id) that
    answers "new" for most ids without a binary search. A listing of up to 131,072 runs never compacts; a million
    runs cost about 16 MB instead of a set's 69 (``bench/seen_ids.py``).

    Two distinct ids share a hash with probability about n²/2⁶⁵ (one in 36 million for a million ids of one
    listing); such an id would be taken for a duplicate. Hashes are per process, like the set itself.
    """

    __slots__ = ("_bits", "_mask", "_recent", "_sorted")

    def __init__(self) -> None:
        self._sorted = array("q")
        self._recent: set[int] = set()
        self._bits = bytearray()  # empty until the first compaction
        self._mask = 0

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    @staticmethod
    def digest(key: Hashable) -> int:
        """The 64-bit hash remembered for ``key``."""
        return hash(key)

    def __contains__(self, digest: int) -> bool:
        if digest in self._recent:
            return True
        if not self._sorted:
            return False
        at = digest & self._mask
        if not self._bits[at >> 3] >> (at & 7) & 1:
            return False
        arr = self._sorted
        i = bisect.bisect_left(arr, digest)
        return i < len(arr) and arr[i] == digest

    def claim(self, digests: list[int]) -> tuple[list[int], int]:
        """Remember ``digests`` (one page's ids in order); the indices of those never seen before (a digest twice
        in the page counts once) and how many came before the first of them."""
        recent = self._recent
        kept: list[int] = []
        leading = 0
        if not self._sorted:  # a set alone
            for i, digest in enumerate(digests):
                if digest in recent:
                    if not kept:
                        leading += 1
                    continue
                recent.add(digest)
                kept.append(i)
            self._grown()
            return kept, leading
        arr, bits, mask, bisect_left = self._sorted, self._bits, self._mask, bisect.bisect_left
        size = len(arr)
        for i, digest in enumerate(digests):
            at = digest & mask
            byte, bit = at >> 3, 1 << (at & 7)
            if bits[byte] & bit:  # maybe seen: look it up
                if digest in recent:
                    seen = True
                else:
                    j = bisect_left(arr, digest)
                    seen = j < size and arr[j] == digest
                if seen:
                    if not kept:
                        leading += 1
                    continue
            else:
                bits[byte] |= bit
            recent.add(digest)
            kept.append(i)
        self._grown()
        return kept, leading

    def add(self, digest: int) -> None:
        if self._sorted:
            at = digest & self._mask
            self._bits[at >> 3] |= 1 << (at & 7)
        self._recent.add(digest)
        self._grown()

    def _grown(self) -> None:
        """Compact the set into the sorted array when it is past :data:`_SET_IDS` and an eighth of the array, and
        rebuild the filter twice as large when it holds fewer than :data:`_BITS_PER_ID` bits per id (both amortised
        O(1) per id)."""
        recent, arr = self._recent, self._sorted
        if len(recent) <= max(_SET_IDS, len(arr) >> 3):
            return
        # one list.sort: Timsort keeps the array's ascending run and merges the rest into it in C
        merged = arr.tolist()
        merged.extend(sorted(recent))
        merged.sort()
        self._sorted = array("q", merged)
        self._recent = set()
        if len(merged) * _BITS_PER_ID > len(self._bits) * 8:
            nbits = 1 << 20
            while len(merged) * _BITS_PER_ID > nbits:
                nbits <<= 1
            bits, mask = bytearray(nbits >> 3), nbits - 1
            for digest in merged:
                at = digest & mask
                bits[at >> 3] |= 1 << (at & 7)
            self._bits, self._mask = bits, mask
