"""runtrack's Label Studio adapter: Prompts inference runs and ML backends.

>>> import runtrack
>>> ls = runtrack.connect("labelstudio", base_url="https://ls.example.com", api_key="...")  # doctest: +SKIP
>>> for run in ls.runs(project=7): ...                                                      # doctest: +SKIP
>>> ls.ml_backends(project=7)                                                               # doctest: +SKIP
"""

from .adapter import LabelStudioAdapter
from .auth import PersonalAccessTokenAuth
from .errors import ENTERPRISE_ONLY
from .mapping import KIND
from .ml_backends import BackendState, MLBackend, MLBackendVersions

__all__ = [
    "ENTERPRISE_ONLY",
    "KIND",
    "BackendState",
    "LabelStudioAdapter",
    "MLBackend",
    "MLBackendVersions",
    "PersonalAccessTokenAuth",
]
