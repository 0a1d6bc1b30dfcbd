"""runtrack's LangSmith adapter: runs in annotation queues (the deprecated ``/runs`` endpoint and the successor
``/items`` endpoint with run hydration), queues, adding runs to a queue, and the writes of feedback, datasets
and examples (``writes.py``).

>>> import runtrack
>>> src = runtrack.connect("langsmith", api_key="...")                      # doctest: +SKIP
>>> for run in src.runs(queue_id="...", review_status="needs_my_review"): ...   # doctest: +SKIP
"""

from .adapter import LangSmithAdapter
from .feedback_records import Dataset, Example, Feedback
from .mapping import KIND, PLATFORM
from .records import Queue, QueueEntry

__all__ = ["KIND", "PLATFORM", "Dataset", "Example", "Feedback", "LangSmithAdapter", "Queue", "QueueEntry"]
