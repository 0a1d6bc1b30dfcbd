"""Pagination strategies: one module per style, each a frozen, pure object (no I/O)."""

from .base import Addressable, Strategy
from .next_link import NextLink
from .offset_limit import OffsetLimit
from .page_number import PageNumber
from .page_token import PageToken
from .unpaginated import Unpaginated

__all__ = ["Addressable", "NextLink", "OffsetLimit", "PageNumber", "PageToken", "Strategy", "Unpaginated"]
