"""Every id a listing has delivered, remembered for 8 bytes each."""

from __future__ import annotations

import bisect
import heapq
from array import array
from collections.abc import Hashable

__all__ = ["SeenIds"]


class SeenIds:
    """A set of 64-bit hashes of ids: a sorted ``array('q')`` (8 bytes per id) plus a small unsorted set of the
    latest ones, merged into the array when it grows past an eighth of it (amortised O(log n) per id).

    Two distinct ids share a hash with probability about n²/2⁶⁵ (one in 36 million for a million ids of one
    listing); such an id would be taken for a duplicate. Hashes are per process, like the set itself.
    """

    __slots__ = ("_recent", "_sorted")

    def __init__(self) -> None:
        self._sorted = array("q")
        self._recent: set[int] = set()

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    @staticmethod
    def digest(key: Hashable) -> int:
        """The 64-bit hash remembered for ``key``."""
        return hash(key)

    def __contains__(self, digest: int) -> bool:
        if digest in self._recent:
            return True
        arr = self._sorted
        i = bisect.bisect_left(arr, digest)
        return i < len(arr) and arr[i] == digest

    def claim(self, digests: list[int]) -> tuple[list[int], int]:
        """Remember ``digests`` (one page's ids in order); the indices of those never seen before (a digest twice
        in the page counts once) and how many came before the first of them."""
        recent, arr, bisect_left = self._recent, self._sorted, bisect.bisect_left
        size = len(arr)
        kept: list[int] = []
        leading = 0
        for i, digest in enumerate(digests):
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
            recent.add(digest)
            kept.append(i)
        if len(recent) > max(1024, size >> 3):
            self._sorted = array("q", heapq.merge(arr, sorted(recent)))
            self._recent = set()
        return kept, leading

    def add(self, digest: int) -> None:
        self._recent.add(digest)
        if len(self._recent) > max(1024, len(self._sorted) >> 3):
            self._sorted = array("q", heapq.merge(self._sorted, sorted(self._recent)))
            self._recent = set()
