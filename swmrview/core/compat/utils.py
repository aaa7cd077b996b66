"""swmr_tools.utils-compatible helpers: ``from swmrview.core import utils`` works like before."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from swmrview.core.follow.following import refresh_dataset
from swmrview.core.compat.output import append_data, create_dataset
from swmrview.core.follow.positions import (
    get_position,
    get_position_snake,
    get_position_snake_row,
    get_row_slice,
)

logger = logging.getLogger(__name__)

__all__ = [
    "append_data",
    "check_file_readable",
    "convert_stack_to_grid",
    "copy_nexus_axes",
    "create_dataset",
    "create_nxdata",
    "create_nxentry",
    "get_position",
    "get_position_snake",
    "get_position_snake_row",
    "get_row_slice",
    "refresh_dataset",
]


def check_file_readable(path: str, datasets: Sequence[str], timeout: float = 10,
                        retrys: int = 5) -> bool:
    """True once ``path`` opens (SWMR, read-only) and every path in ``datasets`` resolves.

    Retries every ``timeout / retrys`` seconds until ``timeout``; False if it never does.
    """
    from swmrview.core.files.opening import open_swmr

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


def convert_stack_to_grid(slices: Sequence[slice], scan_shape: Sequence[int],
                          snake: bool = False) -> list[slice]:
    """Slices of a point of a stack (``slices[0]`` along the stack) as slices of the grid.

    The stack index ``slices[0].start`` becomes one ``slice(p, p + 1, 1)`` per dimension of
    ``scan_shape`` (snake order if ``snake``); the remaining slices follow unchanged.
    """
    index = slices[0].start
    locate = get_position_snake if snake else get_position
    position = locate(index, scan_shape, len(scan_shape))
    return [slice(int(p), int(p) + 1, 1) for p in position] + list(slices[1:])


def create_nxentry(fh, name: str, default: bool = True):
    """Create group ``name`` of class NXentry in ``fh``; make it the default entry if ``default``."""
    return _nexus_group(fh, name, "NXentry", default)


def create_nxdata(entry, name: str, default: bool = True):
    """Create group ``name`` of class NXdata in ``entry``; make it the default plot if ``default``."""
    return _nexus_group(entry, name, "NXdata", default)


def _nexus_group(parent, name: str, nx_class: str, default: bool):
    group = parent.create_group(name)
    group.attrs["NX_class"] = nx_class
    if default:
        parent.attrs["default"] = name
    return group


def copy_nexus_axes(nxd_in, nxd_out, scan_rank: int, frame_axes: Sequence[str] | None = None) -> None:
    """Copy the scan axes of NXdata ``nxd_in`` (datasets and ``*_indices``) to ``nxd_out``.

    ``nxd_out``'s ``axes`` attribute becomes the input's first ``scan_rank`` axis names
    followed by ``frame_axes`` (``"."`` where there is none).
    """
    axes = ["."] * scan_rank + list(frame_axes or [])
    names = nxd_in.attrs.get("axes")
    if names is not None:
        if isinstance(names, (str, bytes)):
            names = [names]
        for i in range(scan_rank):
            name = names[i]
            name = name.decode("utf-8") if isinstance(name, bytes) else str(name)
            axes[i] = name
            if name in nxd_in:
                nxd_out.copy(nxd_in[name], nxd_out, name)
                indices = name + "_indices"
                if indices in nxd_in.attrs:
                    nxd_out.attrs[indices] = nxd_in.attrs[indices]
    nxd_out.attrs["axes"] = axes
