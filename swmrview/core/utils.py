"""swmr_tools.utils-compatible helpers: ``from swmrview.core import utils`` works like before."""

from __future__ import annotations

import logging
import time
from typing import Sequence

from .keys import refresh_dataset
from .output import append_data, create_dataset
from .positions import get_position, get_position_snake, get_position_snake_row, get_row_slice

logger = logging.getLogger(__name__)

__all__ = [
    "get_position", "get_position_snake", "get_position_snake_row", "get_row_slice",
    "create_dataset", "append_data", "check_file_readable", "refresh_dataset",
]


def check_file_readable(path: str, datasets: Sequence[str], timeout: float = 10,
                        retrys: int = 5) -> bool:
    """True once ``path`` opens (SWMR, read-only) and every path in ``datasets`` resolves.

    Retries every ``timeout / retrys`` seconds until ``timeout``; False if it never does.
    """
    from .files import open_swmr

    deadline = time.monotonic() + timeout
    while True:
        try:
            with open_swmr(path) as fh:
                for d in datasets:
                    fh[d]
                return True
        except (OSError, KeyError) as error:
            logger.debug("%s not readable yet: %s", path, error)
        if time.monotonic() + timeout / retrys > deadline:
            logger.error("could not read %s", path)
            return False
        time.sleep(timeout / retrys)
