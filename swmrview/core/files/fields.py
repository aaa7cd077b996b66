"""Numeric fields of compound datasets, shown as datasets of their own: ``PATH:FIELD``.

Some detectors write each pixel as a record (PERCIVAL test files: ``Fine``, ``Coarse`` and
``Gain`` bytes per pixel of a 160 x 210 image). A browser shows such a dataset; here each
numeric field of it is a dataset to show, named ``/path/to/dataset:Fine`` everywhere: in the
layout's data, the dataset chooser, ``--data`` and map channels. :func:`open_data` opens either
kind of path. A field is read through h5py (``dataset.fields(name)[...]``): its chunks hold
every field interleaved, so they are never decoded as raw chunks of the field's type.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

__all__ = ["SEPARATOR", "FieldDataset", "numeric_fields", "field_path", "split_field",
           "open_data", "dataset_fields"]

SEPARATOR = ":"


def numeric_fields(dtype: Any) -> list[str]:
    """Names of the fields of a compound ``dtype`` holding one number each (no sub-arrays)."""
    fields = getattr(np.dtype(dtype), "fields", None) or {}
    return [name for name, (sub, *_) in fields.items()
            if sub.kind in "biuf" and sub.shape == ()]


def field_path(path: str, field: str) -> str:
    return f"{path}{SEPARATOR}{field}"


def split_field(path: str) -> tuple[str, str | None]:
    """(dataset path, field name) of ``PATH:FIELD``; (path, None) without a field."""
    head, slash, last = path.rpartition("/")
    name, sep, field = last.rpartition(SEPARATOR)
    if not sep or not name or not field:
        return path, None
    return f"{head}{slash}{name}", field


class FieldDataset:
    """One numeric field of a compound h5py dataset, used like a dataset of that field's type.

    Shape, maxshape, chunks, attributes, file and ``id`` are the compound dataset's (so chunk
    bookkeeping and SWMR refreshes work on it); reads return the field's values only. There is
    no ``read_direct``: a read into a buffer of the field's type is done by ``__getitem__``.
    """

    def __init__(self, dataset: h5py.Dataset, field: str) -> None:
        if field not in numeric_fields(dataset.dtype):
            raise KeyError(f"{dataset.name} has no numeric field {field!r} "
                           f"(its fields: {', '.join(dataset.dtype.names or ())})")
        self.dataset = dataset
        self.field = field
        self.dtype = np.dtype(dataset.dtype.fields[field][0])

    name = property(lambda self: field_path(self.dataset.name, self.field))
    shape = property(lambda self: self.dataset.shape)
    maxshape = property(lambda self: self.dataset.maxshape)
    ndim = property(lambda self: self.dataset.ndim)
    size = property(lambda self: self.dataset.size)
    chunks = property(lambda self: self.dataset.chunks)
    compression = property(lambda self: self.dataset.compression)
    attrs = property(lambda self: self.dataset.attrs)
    parent = property(lambda self: self.dataset.parent)
    file = property(lambda self: self.dataset.file)
    id = property(lambda self: self.dataset.id)
    is_virtual = property(lambda self: self.dataset.is_virtual)

    def virtual_sources(self):
        return self.dataset.virtual_sources()

    def refresh(self) -> None:
        self.dataset.refresh()

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, selection: Any) -> np.ndarray:
        return np.asarray(self.dataset.fields(self.field)[selection], dtype=self.dtype)

    def __repr__(self) -> str:
        return f"<field {self.field!r} of {self.dataset!r}>"


def dataset_fields(path: str, dataset: h5py.Dataset) -> list[tuple[str, FieldDataset]]:
    """``(PATH:FIELD, field)`` for each numeric field of a compound ``dataset`` at ``path``."""
    try:
        names = numeric_fields(dataset.dtype)
    except (TypeError, ValueError):
        return []
    return [(field_path(path, name), FieldDataset(dataset, name)) for name in names]


def open_data(h5file: h5py.File, path: str) -> Any:
    """The dataset at ``path``, or the field ``FIELD`` of the compound dataset at ``PATH:FIELD``.

    Raises KeyError (as ``h5file[path]`` does) when neither is there.
    """
    try:
        return h5file[path]
    except KeyError:
        base, field = split_field(path)
        if field is None:
            raise
        try:
            dataset = h5file[base]
        except KeyError:
            raise KeyError(f"no dataset {path} in {h5file.filename}") from None
        if not isinstance(dataset, h5py.Dataset) or dataset.dtype.names is None:
            raise KeyError(f"no dataset {path} in {h5file.filename}: {base} has no "
                           "fields") from None
        return FieldDataset(dataset, field)
