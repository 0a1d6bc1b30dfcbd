"""runtrack adapter for Palantir Foundry Model Studio runs (``runtrack.connect("foundry", ...)``)."""

from .adapter import MAX_PAGE_SIZE, FoundryAdapter
from .config_versions import ConfigVersion
from .mapping import KIND, STATUS

__all__ = ["KIND", "MAX_PAGE_SIZE", "STATUS", "ConfigVersion", "FoundryAdapter"]
