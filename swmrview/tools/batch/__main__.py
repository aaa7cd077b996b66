"""``python -m swmrview.tools.batch``: the same as ``swmrview map``."""

import sys

from swmrview.tools.batch.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
