"""Writing processed results shaped like the scan (swmr_tools' create_dataset / append_data)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["create_dataset", "append_data"]


def create_dataset(data: np.ndarray, scan_maxshape: Sequence[int | None], fh: Any, path: str,
                   **kwargs: Any):
    """Create ``path`` in ``fh`` holding ``data`` as the first point of a scan of ``scan_maxshape``.

    Keyword arguments go to ``create_dataset`` (chunks, compression...); chunks default to one frame.
    """
    data = np.asarray(data)
    maxshape = tuple(scan_maxshape) + data.shape
    shape = (1,) * len(scan_maxshape) + data.shape
    if "chunks" not in kwargs:
        if data.size < 10:
            kwargs["chunks"] = tuple(1 if n is None else n for n in maxshape)
        else:
            kwargs["chunks"] = shape
    return fh.create_dataset(path, data=data.reshape(shape), maxshape=maxshape, **kwargs)


def append_data(data: np.ndarray, slice_metadata: Sequence[slice], dataset: Any) -> None:
    """Write ``data`` at the scan point ``slice_metadata``, growing ``dataset`` if needed."""
    data = np.asarray(data)
    full = tuple(slice_metadata) + tuple(slice(0, n) for n in data.shape)
    current = dataset.shape
    new_shape = tuple(max(s.stop, n) for s, n in zip(full, current))
    if any(a > b for a, b in zip(new_shape, current)):
        dataset.resize(new_shape)
    dataset[full] = data.reshape(tuple(s.stop - s.start for s in full))
