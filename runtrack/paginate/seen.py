"""Every id a listing has delivered, remembered for about 16 bytes each."""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Hashable

__all__ = ["SeenIds"]

#: bits of the membership filter per id remembered (a new id passes it with probability 1 - e^(-1/16) ≈ 6%)
_BITS_PER_ID = 16
#: the filter's size to start with: 128 KiB, enough for 65,536 ids before it is rebuilt twice as large
_MIN_BITS = 1 << 20


class SeenIds:
    """A set of 64-bit hashes of ids: a sorted ``array('q')`` (8 bytes per id) plus a small unsorted set of the
    latest ones, merged into the array when it grows past an eighth of it, and a bitmap filter (2 bytes per id) in
    front of both: most ids of a listing are new, and a clear bit says so without a binary search.

    Two distinct ids share a hash with probability about n²/2⁶⁵ (one in 36 million for a million ids of one
    listing); such an id would be taken for a duplicate. Hashes are per process, like the set itself.
    """

    __slots__ = ("_bits", "_mask", "_recent", "_sorted")

    def __init__(self) -> None:
        self._sorted = array("q")
        self._recent: set[int] = set()
        self._bits = bytearray(_MIN_BITS >> 3)
        self._mask = _MIN_BITS - 1

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    @staticmethod
    def digest(key: Hashable) -> int:
        """The 64-bit hash remembered for ``key``."""
        return hash(key)

    def __contains__(self, digest: int) -> bool:
        at = digest & self._mask
        if not self._bits[at >> 3] >> (at & 7) & 1:
            return False
        if digest in self._recent:
            return True
        arr = self._sorted
        i = bisect.bisect_left(arr, digest)
        return i < len(arr) and arr[i] == digest

    def claim(self, digests: list[int]) -> tuple[list[int], int]:
        """Remember ``digests`` (one page's ids in order); the indices of those never seen before (a digest twice
        in the page counts once) and how many came before the first of them."""
        recent, arr, bits, mask, bisect_left = self._recent, self._sorted, self._bits, self._mask, bisect.bisect_left
        size = len(arr)
        kept: list[int] = []
        leading = 0
        for i, digest in enumerate(digests):
            at = digest & mask
            byte, bit = at >> 3, 1 << (at & 7)
            if bits[byte] & bit:  # maybe seen: look it up
                if digest in recent:
                    seen = True
                elif size:
                    j = bisect_left(arr, digest)
                    seen = j < size and arr[j] == digest
                else:
                    seen = False
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
        at = digest & self._mask
        self._bits[at >> 3] |= 1 << (at & 7)
        self._recent.add(digest)
        self._grown()

    def _grown(self) -> None:
        """Merge the recent digests into the sorted array when they are an eighth of it, and double the filter
        when it holds fewer than :data:`_BITS_PER_ID` bits per id (both amortised O(1) per id)."""
        recent, arr = self._recent, self._sorted
        if len(recent) <= max(1024, len(arr) >> 3):
            return
        # one list.sort: Timsort keeps the array's ascending run and merges the rest into it in C
        merged = arr.tolist()
        merged.extend(sorted(recent))
        merged.sort()
        self._sorted = array("q", merged)
        self._recent = set()
        if len(merged) * _BITS_PER_ID > self._mask + 1:
            nbits = self._mask + 1
            while len(merged) * _BITS_PER_ID > nbits:
                nbits <<= 1
            bits, mask = bytearray(nbits >> 3), nbits - 1
            for digest in merged:
                at = digest & mask
                bits[at >> 3] |= 1 << (at & 7)
            self._bits, self._mask = bits, mask
