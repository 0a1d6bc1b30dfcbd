"""runtrack's Label Studio adapter: Prompts inference runs, ML backends, and tasks with annotations.

>>> import runtrack
>>> ls = runtrack.connect("labelstudio", base_url="https://ls.example.com", api_key="...")  # doctest: +SKIP
>>> for run in ls.runs(project=7): ...                                                      # doctest: +SKIP
>>> ls.ml_backends(project=7)                                                               # doctest: +SKIP
"""

from .adapter import LabelStudioAdapter
from .annotations import Annotation, Control, Task, parse_label_config
from .auth import PersonalAccessTokenAuth
from .errors import ENTERPRISE_ONLY
from .mapping import KIND
from .ml_backends import BackendState, MLBackend, MLBackendVersions

__all__ = [
    "ENTERPRISE_ONLY",
    "KIND",
    "Annotation",
    "BackendState",
    "Control",
    "LabelStudioAdapter",
    "MLBackend",
    "MLBackendVersions",
    "PersonalAccessTokenAuth",
    "Task",
    "parse_label_config",
]
