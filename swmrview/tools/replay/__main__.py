"""``python -m swmrview.tools.replay``: the same as ``swmrview --replay``."""

import sys

from swmrview.tools.replay.cli import main

if __name__ == "__main__":
    sys.exit(main())
