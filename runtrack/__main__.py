"""``python -m runtrack``: the same as the ``runtrack`` command."""

import sys

from .cli import main

sys.exit(main())
