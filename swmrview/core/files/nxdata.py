"""The NXdata parser and writer: every NXdata attribute is read and written here.

As silx keeps one parser and one writer (``silx/io/nxdata/parse.py``, ``write.py``), the
layout, the scatter axes, a spectrum's calibration, the live export and the batch maps all go
through this module. :func:`parse_nxdata` reads both styles of NXdata found in real files:

- the current one: ``@signal``, ``@auxiliary_signals``, ``@axes`` (a list, ``"."`` where a
  dimension has none) and ``NAME_indices`` (the dims of the signal the field ``NAME`` stands
  for);
- the old one still in GDA 8 files: ``signal=1`` on the signal dataset, ``axes="x:y"`` on the
  signal, ``axis=N`` (1-based) and ``primary=1`` on the axis datasets.

``NAME_indices`` (and ``axis=N``) are integers in many forms (an int, a numpy integer array,
the string ``"0"``, an array of byte strings ``[b"1", b"2"]``): :func:`parse_indices` is the
one place they become a tuple of ints. :func:`write_nxdata` writes one form (strings as
variable-length UTF-8, indices as int64, a scalar for one dim), which the parser reads back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, Mapping, Sequence

import h5py
import numpy as np

from swmrview.core.files.attributes import MAX_CHILDREN, attr, child, is_one, text, texts

__all__ = ["NXdataInfo", "parse_nxdata", "parse_indices", "axis_candidates", "signal_name",
           "declared_signal", "has_signal", "write_nxdata"]

_INDICES = "_indices"
_SEPARATORS = re.compile(r"[\s,:;]+")


# ----------------------------------------------------------------------------- parsing

def parse_indices(value) -> tuple[int, ...] | None:
    """The dims an ``NAME_indices`` (or old-style ``axis``) attribute gives, or None.

    Accepts an int (numpy or not), an integer array, integral floats, a string (``"0"``,
    ``"1,2"``, ``"1 2"``) and arrays or lists of such strings, as real files write them.
    None when the value is missing, empty, negative or not a whole number.
    """
    if value is None:
        return None
    out: list[int] = []
    try:
        if isinstance(value, (str, bytes, np.str_, np.bytes_)):
            parts = [p for p in _SEPARATORS.split((text(value) or "").strip()) if p]
            out = [int(p) for p in parts]
        else:
            array = np.asarray(value).ravel()
            if array.dtype.kind in "SUO":
                for item in array:
                    one = parse_indices(item)
                    if one is None:
                        return None
                    out.extend(one)
            elif array.dtype.kind in "iu":
                out = [int(v) for v in array]
            elif array.dtype.kind == "f" and np.all(np.isfinite(array)) \
                    and np.all(array == np.round(array)):
                out = [int(v) for v in array]
            else:
                return None
    except (TypeError, ValueError, OverflowError):
        return None
    if not out or any(v < 0 for v in out):
        return None
    return tuple(out)


def declared_signal(group: h5py.Group) -> str | None:
    """The group's ``@signal`` as text (None when it has none)."""
    return text(attr(group, "signal")) or None


def _children(group: h5py.Group) -> Iterator[tuple[str, object]]:
    """(name, object) of the group's first :data:`MAX_CHILDREN` members that open."""
    try:
        for i, name in enumerate(group):
            if i >= MAX_CHILDREN:
                return
            yield name, child(group, name)
    except (OSError, RuntimeError):
        return


def _old_style_signal(group: h5py.Group) -> str | None:
    """The child dataset marked old-style ``signal=1``."""
    for name, obj in _children(group):
        if isinstance(obj, h5py.Dataset) and is_one(attr(obj, "signal")):
            return name
    return None


def has_signal(group: h5py.Group) -> bool:
    """Whether the group names its signal (``@signal`` or a ``signal=1`` dataset)."""
    return declared_signal(group) is not None or _old_style_signal(group) is not None


def signal_name(group: h5py.Group) -> str | None:
    """``@signal``; else a child with old-style ``signal=1``; else a child named ``data``."""
    name = declared_signal(group) or _old_style_signal(group)
    if name:
        return name
    try:
        return "data" if "data" in group else None
    except (OSError, RuntimeError):
        return None


@dataclass(frozen=True)
class NXdataInfo:
    """What an NXdata group's attributes say (nothing of its data is read).

    signal      the signal's name (``@signal``, old-style ``signal=1``, else ``data``) or None
    auxiliary   ``@auxiliary_signals``
    axes        ``@axes`` per dimension, ``"."`` where none (the group's, else old-style
                ``axes="x:y"`` on the data the group was parsed for)
    indices     every ``NAME_indices`` in attribute order: NAME -> dims (None: unreadable)
    numbered    old-style axis datasets: (0-based dim, ``primary=1``, name), in member order
    """

    signal: str | None
    auxiliary: tuple[str, ...] = ()
    axes: tuple[str, ...] = ()
    indices: Mapping[str, tuple[int, ...] | None] = field(default_factory=dict)
    numbered: tuple[tuple[int, bool, str], ...] = ()

    def axes_per_dim(self, ndim: int) -> list[list[str]]:
        """Per data dimension, the names of its axis fields, the preferred first.

        ``@axes`` first, then fields whose ``NAME_indices`` give that one dim, then old-style
        ``axis=N`` fields (``primary=1`` first).
        """
        per_dim: list[list[str]] = [[] for _ in range(ndim)]

        def add(dim: int, name: str) -> None:
            if 0 <= dim < ndim and name and name != "." and name not in per_dim[dim]:
                per_dim[dim].append(name)

        for dim, name in enumerate(self.axes[:ndim]):
            add(dim, name)
        for name, dims in self.indices.items():
            if dims is not None and len(dims) == 1:
                add(dims[0], name)
        for dim, _, name in sorted(self.numbered, key=lambda t: (t[0], not t[1])):
            add(dim, name)
        return per_dim


def _indices(group: h5py.Group) -> dict[str, tuple[int, ...] | None]:
    found: dict[str, tuple[int, ...] | None] = {}
    try:
        names = list(group.attrs)
    except (OSError, RuntimeError, KeyError, TypeError, ValueError):
        return found
    for name in names:
        if name.endswith(_INDICES) and len(name) > len(_INDICES):
            found[name[: -len(_INDICES)]] = parse_indices(attr(group, name))
    return found


def _numbered(group: h5py.Group) -> tuple[tuple[int, bool, str], ...]:
    found = []
    for name, obj in _children(group):
        if not isinstance(obj, h5py.Dataset):
            continue
        axis = attr(obj, "axis")
        dims = parse_indices(axis) if axis is not None else None
        if dims is not None and len(dims) == 1:
            found.append((dims[0] - 1, is_one(attr(obj, "primary")), name))
    return tuple(found)


def parse_nxdata(group: h5py.Group, data: h5py.Dataset | None = None) -> NXdataInfo:
    """The attributes of NXdata ``group`` (or a detector group holding axes) as one value.

    ``data`` is the dataset the axes are wanted for: its old-style ``@axes`` ("x:y" on the
    signal itself) count when the group has no ``@axes``.
    """
    axes = texts(attr(group, "axes"))
    if not axes and data is not None:
        axes = texts(attr(data, "axes"))
    return NXdataInfo(signal=signal_name(group),
                      auxiliary=tuple(texts(attr(group, "auxiliary_signals"))),
                      axes=tuple(axes), indices=_indices(group), numbered=_numbered(group))


def axis_candidates(group: h5py.Group, data: h5py.Dataset | None, ndim: int) -> list[list[str]]:
    """Per dimension of ``data`` (``ndim`` of them), the names of its axis fields in
    ``group``, the preferred first: ``parse_nxdata(group, data).axes_per_dim(ndim)``."""
    return parse_nxdata(group, data).axes_per_dim(ndim)


# ----------------------------------------------------------------------------- writing

def _dims(name: str, value: int | Sequence[int]) -> tuple[int, ...]:
    dims = parse_indices(value)
    if dims is None:
        raise ValueError(f"{name}_indices must be one or more dims >= 0, not {value!r}")
    return dims


def write_nxdata(group: h5py.Group, signal: str, *, axes: Sequence[str] = (),
                 indices: Mapping[str, int | Sequence[int]] | None = None,
                 auxiliary: Sequence[str] = ()) -> h5py.Group:
    """Make ``group`` an NXdata plotting ``signal``: ``NX_class``, ``@signal``,
    ``@auxiliary_signals``, ``@axes`` (``"."`` for a dim without one) and ``NAME_indices``.

    Only attributes are written: the datasets are the caller's (their chunks, maxshape and
    fill values belong to how they are written). Names are variable-length UTF-8 strings,
    indices int64 (a scalar for one dim, an array for several). Returns ``group``.
    """
    if not signal:
        raise ValueError("an NXdata needs a signal")
    checked = {name: _dims(name, value) for name, value in (indices or {}).items()}
    strings = h5py.string_dtype()
    group.attrs["NX_class"] = "NXdata"
    group.attrs["signal"] = signal
    if auxiliary:
        group.attrs["auxiliary_signals"] = np.array(list(auxiliary), dtype=strings)
    if axes:
        group.attrs["axes"] = np.array(list(axes), dtype=strings)
    for name, dims in checked.items():
        group.attrs[f"{name}{_INDICES}"] = (np.int64(dims[0]) if len(dims) == 1
                                           else np.asarray(dims, dtype=np.int64))
    return group
