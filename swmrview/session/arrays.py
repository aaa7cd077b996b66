"""Frames and map planes written as TIFF (``tifffile``) or CSV (numpy), and whether an output
path can be written at all; PNG rendering needs Qt and lives in :mod:`swmrview.gui.headless`."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

__all__ = ["write_array", "array_format", "ARRAY_FORMATS", "output_problem"]

ARRAY_FORMATS = {".tif": "tiff", ".tiff": "tiff", ".csv": "csv", ".png": "png"}


def array_format(path: str | os.PathLike) -> str:
    """``"tiff"``, ``"csv"`` or ``"png"`` from the file name; ValueError for anything else."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in ARRAY_FORMATS:
        raise ValueError(f"cannot export to {os.fspath(path)}: use a .png, .tif, .tiff or "
                         f".csv file name")
    return ARRAY_FORMATS[ext]


def output_problem(path: str | os.PathLike) -> str | None:
    """Why no file can be written at ``path`` (its folder missing or not writable, or the
    path a folder), in plain words; None if nothing stands in the way."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(folder):
        return f"the folder {folder} does not exist"
    if not os.path.isdir(folder):
        return f"{folder} is not a folder"
    if os.path.isdir(path):
        return f"{path} is a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"no permission to write in {folder}"
    if os.path.exists(path) and not os.access(path, os.W_OK):
        return f"no permission to write {path}"
    return None


def write_array(path: str | os.PathLike, array: np.ndarray, comments: Sequence[str] = ()
                ) -> None:
    """Write a frame or map plane as TIFF (values and dtype kept, NaN where not acquired) or
    CSV (one line per row; a spectrum one value per line; ``#`` comment lines first)."""
    kind = array_format(path)
    array = np.asarray(array)
    if kind == "tiff":
        import tifffile

        data = array if array.ndim >= 2 else np.atleast_2d(array)
        tifffile.imwrite(os.fspath(path), np.ascontiguousarray(data),
                         description="\n".join(comments) or None, metadata=None)
    elif kind == "csv":
        data = array.reshape(-1, 1) if array.ndim == 1 else np.atleast_2d(array)
        if data.ndim > 2:
            data = data.reshape(-1, data.shape[-1])
        fmt = "%d" if data.dtype.kind in "biu" else "%.17g"
        header = "\n".join(comments)
        np.savetxt(os.fspath(path), data, fmt=fmt, delimiter=",", header=header,
                   comments="# ")
    else:
        raise ValueError(f"PNG needs the viewer's rendering (swmrview.gui.headless): {path}")
