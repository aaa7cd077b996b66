"""``python -m swmrview``: the same as the ``swmrview`` command."""

import sys

from swmrview.cli import main

if __name__ == "__main__":
    sys.exit(main())
