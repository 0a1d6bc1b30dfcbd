"""runtrack's LangSmith adapter: runs in annotation queues (the deprecated ``/runs`` endpoint and the successor
``/items`` endpoint with run hydration), queues, and adding runs to a queue.

>>> import runtrack
>>> src = runtrack.connect("langsmith", api_key="...")                      # doctest: +SKIP
>>> for run in src.runs(queue_id="...", review_status="needs_my_review"): ...   # doctest: +SKIP
"""

from .adapter import LangSmithAdapter
from .mapping import KIND, PLATFORM
from .records import Queue, QueueEntry

__all__ = ["KIND", "PLATFORM", "LangSmithAdapter", "Queue", "QueueEntry"]
