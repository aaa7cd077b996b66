"""What to follow in a scan file: its key datasets, the scan rank and shape they give, and
its finished flag.

Explicit paths given by the user always win. Else GDA/Malcolm ``diamond_scan``/``solstice_scan``
keys (links that lead nowhere are *dangling*, not an error), else a generic ``keys`` group or
integer ``*key*``/``*uniqueid*`` datasets. A declared ``scan_shape`` is the scan shape; keys
and data may have an unlimited maxshape in every scan dimension and still be one point long.
The finished flag is GDA's, else one integer named ``*finished*``.

Part of layout discovery (`swmrview.core.files.layout.find_layout`).
"""

from __future__ import annotations

from typing import Sequence

import h5py
import numpy as np

from swmrview.core.files import gda as gda_mod
from swmrview.core.files.nexus import child
from swmrview.core.files.search import FileIndex, LayoutError, absolute, explicit
from swmrview.core.files.sources import Notes
from swmrview.core.follow.positions import scan_rank_of

__all__ = ["find_flag", "find_keys", "flag_value", "key_rank", "key_shape"]


# ----------------------------------------------------------------------------- keys

def find_keys(h5file: h5py.File, index: FileIndex, scan: gda_mod.GdaScan | None,
              keys: Sequence[str], notes: Notes
              ) -> tuple[list[str], list[h5py.Dataset], list[str]]:
    """(key paths, key datasets, dangling key paths): explicit, GDA, else generic keys."""
    if keys:
        paths = [absolute(p) for p in keys]
        return paths, [explicit(h5file, p, "key") for p in paths], []
    if scan is not None:
        paths, dangling = gda_mod.scan_keys(h5file, scan, notes)
    else:
        paths, dangling = _generic_keys(index.all()), []
    return paths, [h5file[p] for p in paths], dangling


def _generic_keys(walked: Sequence[tuple[str, object]]) -> list[str]:
    """A group named ``keys``, else integer datasets named like ``*key*``/``*uniqueid*``.

    NXtomo's ``image_key`` (0 for every projection) is a frame type, not a key.
    """
    candidates = []
    for path, obj in walked:
        name = path.rsplit("/", 1)[-1].lower()
        if isinstance(obj, h5py.Group) and name == "keys":
            found = [f"{path}/{n}" for n in obj
                     if isinstance(child(obj, n), h5py.Dataset) and obj[n].dtype.kind in "iu"]
            if found:
                return found
        elif isinstance(obj, h5py.Dataset) and obj.dtype.kind in "iu" and name != "image_key" \
                and ("key" in name or "uniqueid" in name):
            candidates.append(path)
    return candidates


def key_rank(paths: Sequence[str], key_ds: Sequence[h5py.Dataset], declared: int | None,
             notes: Notes) -> int:
    """Scan rank of the keys: the declared one if every key fits it, else their own."""

    def ones_from(ds: h5py.Dataset, rank: int) -> bool:
        return ds.ndim >= rank and all(ds.shape[d] == 1 and ds.maxshape[d] in (1, None)
                                       for d in range(rank, ds.ndim))

    if declared:
        if all(ones_from(ds, declared) for ds in key_ds):
            return declared
        notes.add(f"declared scan rank {declared} does not fit the keys; using theirs")
    ranks = [scan_rank_of(ds.maxshape) for ds in key_ds]
    low = min(ranks)
    if all(ones_from(ds, low) for ds in key_ds):
        return low          # e.g. uniqueKeys (n, m) beside NDArrayUniqueId (n, m, 1, 1)
    detail = ", ".join(f"{p} (rank {r}, maxshape {ds.maxshape})"
                       for p, r, ds in zip(paths, ranks, key_ds))
    raise LayoutError(f"key datasets have different scan ranks: {detail}")


def key_shape(key_ds: Sequence[h5py.Dataset], rank: int,
              declared: tuple[int, ...] | None) -> tuple[int | None, ...]:
    """Scan shape: the declared one, else the keys' maxshape (None: unlimited) and size."""
    if declared is not None and len(declared) == rank:
        return declared
    shape: list[int | None] = [None] * rank
    for ds in key_ds:
        for d in range(rank):
            if shape[d] is None and ds.maxshape[d] is not None:
                shape[d] = int(ds.maxshape[d])
    for d in range(1, rank):
        if shape[d] is None:
            shape[d] = int(key_ds[0].shape[d])
    return tuple(shape)


# ----------------------------------------------------------------------------- finished flag

def find_flag(h5file: h5py.File, index: FileIndex, scan: gda_mod.GdaScan | None,
              finished: str | None) -> tuple[str | None, h5py.Dataset | None]:
    """(flag path, flag dataset): explicit, GDA's, else a dataset that can be one; or None."""
    if finished:
        path = absolute(finished)
        return path, explicit(h5file, path, "finished flag")
    path = scan.finished if scan is not None else next(
        (p for p, o in index.all() if _is_flag(p, o)), None)
    return path, (child(h5file, path) if path else None)


def _is_flag(path: str, obj) -> bool:
    """A dataset that can be a finished flag: one integer (or none yet), named *finished*."""
    return (isinstance(obj, h5py.Dataset) and "finished" in path.rsplit("/", 1)[-1].lower()
            and obj.dtype.kind in "biu" and obj.size <= 1)


def flag_value(ds) -> int | None:
    """The value of a one-integer dataset (a finished flag), or None if it has none yet."""
    if not isinstance(ds, h5py.Dataset) or ds.size != 1 or ds.dtype.kind not in "biu":
        return None
    try:
        return int(np.asarray(ds[()]).ravel()[0])
    except (OSError, RuntimeError, ValueError, IndexError):
        return None
