"""HDF5 attributes as found in the wild, read safely: text, lists of names, NX_class, units.

The small readers every NeXus rule is built on (:mod:`swmrview.core.files.nexus` for the default
plot, :mod:`swmrview.core.files.nxdata` for an NXdata group). Nothing here reads data.
"""

from __future__ import annotations

import h5py
import numpy as np

from swmrview.core.files.fields import FieldDataset

__all__ = ["MAX_CHILDREN", "text", "texts", "attr", "nx_class", "units", "child", "is_numeric",
           "is_one"]

MAX_CHILDREN = 200      # children inspected per group when looking for NeXus groups or fields


def text(value) -> str | None:
    """An attribute as str (handles bytes, numpy scalars and length-1 arrays)."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.ravel()[0]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def attr(obj, name: str):
    """Attribute ``name`` of ``obj`` or None (missing, or of a type h5py cannot read)."""
    try:
        return obj.attrs.get(name)
    except (OSError, RuntimeError, KeyError, TypeError, ValueError):
        return None


def texts(value) -> list[str]:
    """A list-valued attribute; old style "x:y" or "x,y" strings are split."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, np.bytes_, np.str_)):
        one = text(value) or ""
        return [part.strip() for part in one.replace(",", ":").split(":") if part.strip()]
    out = []
    for v in np.asarray(value).ravel():
        out.extend(texts(v) if isinstance(v, (str, bytes)) else [text(v) or "."])
    return out


def nx_class(obj) -> str | None:
    return text(attr(obj, "NX_class"))


def units(obj) -> str | None:
    return text(attr(obj, "units"))


def child(group: h5py.Group, name: str):
    """``group[name]`` or None (missing, broken link, unreadable)."""
    if not name:
        return None
    try:
        return group[name]
    except (KeyError, OSError, RuntimeError, ValueError, TypeError):
        return None


def is_numeric(obj) -> bool:
    """A dataset of numbers (or a numeric field of a compound dataset)."""
    return isinstance(obj, (h5py.Dataset, FieldDataset)) and obj.dtype.kind in "biuf"


def is_one(value) -> bool:
    """Old-style ``signal=1`` / ``primary=1`` (int, "1" or a length-1 array of either)."""
    one = text(value)
    return one is not None and one.strip() == "1"
